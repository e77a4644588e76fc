"""Inputs of a network: Poisson spike trains, and currents injected into a group (constant or time-varying).

``PoissonSource`` is a presynaptic population like a group (connect it with a ``groups.SynapseGroup``); in
each step of dt its neuron k spikes with probability rate_k dt / 1000 (rate in Hz, dt in ms), independently
of the other neurons and steps: a Bernoulli approximation of a Poisson process, exact as dt -> 0.

``ConstantCurrent`` and ``TimeVaryingCurrent`` add an external current to the input of a group's neurons
(the I of tau_mem dv/dt = -(v - v_rest) + R I). The ``network.Network`` they belong to advances them.
"""
from __future__ import annotations

import numpy as np

from ._validation import as_rng, check_finite, check_non_negative
from .groups import LIFGroup


def _check_target(target) -> LIFGroup:
    if not isinstance(target, LIFGroup):
        raise ValueError(f"target must be a LIFGroup or an ALIFGroup; got {type(target).__name__}")
    return target


class PoissonSource:
    """n independent Poisson spike trains at ``rate_hz`` (a scalar or an (n,) array, >= 0).

    ``rng``: seed or numpy Generator; the spikes are drawn from it, a block of steps at a time (the blocks do
    not change the numbers: step after step, the Generator's stream is read in order). ``spikes`` (n,) bool
    are the spikes of the last step.
    """

    def __init__(self, n: int, rate_hz, rng=None):
        if not isinstance(n, (int, np.integer)) or isinstance(n, bool) or n < 1:
            raise ValueError(f"n must be an integer >= 1; got {n!r}")
        self.n = int(n)
        rate = check_non_negative("rate_hz", rate_hz, "Hz")
        if rate.ndim != 0 and rate.shape != (self.n,):
            raise ValueError(f"rate_hz must be a scalar or an array of shape ({self.n},); got shape {rate.shape}")
        self.rate_hz = np.array(np.broadcast_to(rate, (self.n,)))
        self.rng = as_rng(rng)
        self._spikes = np.zeros(self.n, dtype=bool)

    @property
    def spikes(self) -> np.ndarray:
        """Who spiked in the last step (n,) bool."""
        return self._spikes

    def draw(self, n_steps: int, dt: float) -> np.ndarray:
        """The spikes (n_steps, n) bool of the next ``n_steps`` steps of ``dt`` ms."""
        probability = self.rate_hz * dt / 1000.0
        if np.any(probability > 1.0):
            raise ValueError(f"rate_hz must be <= 1000 / dt = {1000.0 / dt:g} Hz (one spike per step); "
                             f"got a maximum of {self.rate_hz.max():g}")
        return self.rng.random((n_steps, self.n)) < probability

    def _adopt(self, spikes: np.ndarray) -> None:
        """Keep ``spikes``, a view of a Network's pool, instead of our array."""
        self._spikes = spikes


class ConstantCurrent:
    """Inject ``amplitude`` (a scalar or an (n,) array) into every step of ``target``'s neurons."""

    def __init__(self, target, amplitude):
        self.target = _check_target(target)
        amplitude = check_finite("amplitude", amplitude)
        if amplitude.ndim != 0 and amplitude.shape != (target.n,):
            raise ValueError(f"amplitude must be a scalar or an array of shape ({target.n},); "
                             f"got shape {amplitude.shape}")
        self.amplitude = np.array(np.broadcast_to(amplitude, (target.n,)))


class TimeVaryingCurrent:
    """Inject a current that changes with time into ``target``'s neurons.

    ``values``: an array with one row per network step, (T,) (the same for every neuron) or (T, n), counted
    from the network's step 0; or a callable ``values(t)`` of the time t = step * dt in ms returning a scalar or
    an (n,) array.
    """

    def __init__(self, target, values):
        self.target = _check_target(target)
        if callable(values):
            self.values = values
        else:
            values = check_finite("values", values)
            if values.ndim not in (1, 2) or (values.ndim == 2 and values.shape[1] != target.n):
                raise ValueError(f"values must have shape (T,) or (T, {target.n}); got {values.shape}")
            self.values = values if values.ndim == 2 else values[:, None]

    def currents(self, first_step: int, n_steps: int, dt: float) -> np.ndarray:
        """The currents (n_steps, n) of steps first_step ... first_step + n_steps - 1."""
        n = self.target.n
        if callable(self.values):
            rows = [np.broadcast_to(check_finite("values(t)", self.values(step * dt)), (n,))
                    for step in range(first_step, first_step + n_steps)]
            return np.array(rows, dtype=float).reshape(n_steps, n)
        if first_step + n_steps > len(self.values):
            raise ValueError(f"values has {len(self.values)} steps; the run needs step {first_step + n_steps - 1}")
        return np.broadcast_to(self.values[first_step:first_step + n_steps], (n_steps, n))
