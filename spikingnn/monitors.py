"""Recording a network run: spikes, state variables, population rates.

A monitor is added to a ``network.Network`` with the groups it watches; the network fills it while it runs.
Steps are numbered from the network's step 0 and stamped with time step * dt (ms): a spike "at 12.3 ms"
happened in the step from 12.3 to 12.4 ms, and a state recorded at 12.3 ms is the value after that step.

    >>> from spikingnn.groups import LIFGroup
    >>> from spikingnn.network import Network
    >>> from spikingnn.sources import ConstantCurrent
    >>> group = LIFGroup(2, tau_mem=10.0)
    >>> spikes, trace = SpikeMonitor(group), StateMonitor(group, ("v",), every=10)
    >>> Network(group, ConstantCurrent(group, [0.5, 1.5]), spikes, trace).run(50.0)
    >>> spikes.count.tolist(), spikes.steps[:2].tolist(), trace.v.shape   # only the neuron above rheobase fires
    ([0, 4], [109, 219], (50, 2))
"""
from __future__ import annotations

import numpy as np

from ._validation import check_positive
from .kernels.simulation import STATE_VARIABLES


class SpikeMonitor:
    """Records the spikes of ``source`` (a group or a ``sources.PoissonSource``) as compact arrays.

    ``steps``, ``indices`` (int arrays, one entry per spike, in time order), ``times`` (ms), ``count`` (spikes
    per neuron), ``spike_trains()``.
    """

    def __init__(self, source):
        self.source = source
        self.dt = None            # ms, set by the network that fills the monitor
        self.end_step = 0         # the steps before it have been recorded
        self._steps, self._indices = [], []

    def _record(self, steps: np.ndarray, indices: np.ndarray, dt: float, end_step: int) -> None:
        """Called by the network with the (step, neuron index) of new spikes, recorded up to ``end_step``."""
        self.dt, self.end_step = dt, end_step
        self._steps.append(steps)
        self._indices.append(indices)

    def _concatenated(self, chunks):
        if len(chunks) > 1:
            chunks[:] = [np.concatenate(chunks)]
        return chunks[0] if chunks else np.zeros(0, dtype=np.int64)

    @property
    def steps(self) -> np.ndarray:
        """Step of each spike (int64)."""
        return self._concatenated(self._steps)

    @property
    def indices(self) -> np.ndarray:
        """Neuron index of each spike (int64)."""
        return self._concatenated(self._indices)

    @property
    def times(self) -> np.ndarray:
        """Time of each spike in ms (step * dt)."""
        return self.steps * (self.dt or 0.0)

    @property
    def count(self) -> np.ndarray:
        """Number of spikes of each neuron (n,)."""
        return np.bincount(self.indices, minlength=self.source.n)

    def spike_trains(self) -> list[np.ndarray]:
        """The spike times (ms) of each neuron: a list of n arrays."""
        order = np.argsort(self.indices, kind="stable")
        bounds = np.concatenate([[0], np.cumsum(self.count)])
        times = self.times[order]
        return [times[bounds[k]:bounds[k + 1]] for k in range(self.source.n)]


class StateMonitor:
    """Records state variables of chosen neurons of ``group`` every ``every`` steps.

    ``variables``: names among 'v', 'a' (ALIF groups), 'threshold' (ALIF: the threshold of the step; LIF:
    v_threshold), 'refractory_left'. ``indices``: neurons to record (default: all). After a run, ``t`` (ms)
    and, for each variable, an attribute of shape (T, len(indices)), time first: ``monitor.v``.
    """

    def __init__(self, group, variables=("v",), indices=None, every: int = 1):
        self.group = group
        variables = (variables,) if isinstance(variables, str) else tuple(variables)
        for name in variables:
            if name not in STATE_VARIABLES:
                raise ValueError(f"variables must be among {STATE_VARIABLES}; got {name!r}")
            if name == "a" and not getattr(group, "adaptive", False):
                raise ValueError("variable 'a' exists only in an ALIFGroup")
        self.variables = variables
        self.indices = np.arange(group.n) if indices is None else np.asarray(indices, dtype=np.int64).reshape(-1)
        if self.indices.size and (self.indices.min() < 0 or self.indices.max() >= group.n):
            raise ValueError(f"indices must be in [0, {group.n - 1}]; got {indices!r}")
        if not isinstance(every, (int, np.integer)) or every < 1:
            raise ValueError(f"every must be an integer >= 1; got {every!r}")
        self.every = int(every)
        self.dt = None
        self._steps, self._rows = [], []

    def _record(self, first_step: int, rows: np.ndarray, dt: float) -> None:
        """Called by the network with the values (T, len(variables) * len(indices)) after steps first_step..."""
        self.dt = dt
        steps = first_step + np.arange(len(rows))
        keep = steps % self.every == 0
        self._steps.append(steps[keep])
        self._rows.append(rows[keep])

    @property
    def t(self) -> np.ndarray:
        """Recording times (ms)."""
        return np.concatenate(self._steps or [np.zeros(0, dtype=np.int64)]) * (self.dt or 0.0)

    def __getattr__(self, name):
        variables = self.__dict__.get("variables", ())
        if name not in variables:
            raise AttributeError(name)
        columns = len(self.indices)
        rows = np.concatenate(self._rows) if self._rows else np.zeros((0, columns * len(variables)))
        k = variables.index(name)
        return rows[:, k * columns:(k + 1) * columns]


def population_rate(spikes, n: int | None = None, dt: float | None = None, window: float = 1.0,
                    t_stop: float | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Population firing rate (Hz): spikes per neuron per second in bins of ``dt`` ms, averaged over ``window`` ms.

    ``spikes``: a ``SpikeMonitor`` (n, dt and t_stop default to its source, its dt and its last step) or an
    array of spike times (ms; then give n and dt). The bins cover [0, t_stop); the rate of bin b is
    count_b / (n dt / 1000), averaged over a centred box of round(window / dt) bins (near the edges, over the
    bins that exist). Returns (t, rate_hz), t the start of each bin in ms.
    """
    if isinstance(spikes, SpikeMonitor):
        n = spikes.source.n if n is None else n
        dt = spikes.dt if dt is None else dt
        t_stop = spikes.end_step * spikes.dt if t_stop is None and spikes.dt else t_stop
        times = spikes.times
    else:
        times = np.asarray(spikes, dtype=float)
    if n is None or dt is None:
        raise ValueError("population_rate needs n and dt (ms) with an array of spike times")
    dt = float(check_positive("dt", dt, "ms"))
    check_positive("n", n)
    check_positive("window", window, "ms")
    if t_stop is None:
        t_stop = (times.max() + dt) if times.size else dt
    n_bins = max(int(np.ceil(t_stop / dt - 1e-9)), 1)
    counts = np.bincount(np.floor(times / dt + 1e-9).astype(np.int64), minlength=n_bins)[:n_bins]
    box = np.ones(max(int(round(window / dt)), 1))
    rate = np.convolve(counts / (n * dt / 1000.0), box, mode="same") / np.convolve(np.ones(n_bins), box, mode="same")
    return np.arange(n_bins) * dt, rate
