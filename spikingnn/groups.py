"""Populations: n LIF or ALIF neurons stepped together, and the synapses from one population to another.

The neuron here: the LIF / ALIF of neurons.py, on arrays.

``LIFGroup`` and ``ALIFGroup`` are ``neurons.FirstOrderLIF`` and ``neurons.ALIF`` on arrays: the same
parameter names, the same equations (read them in ``neurons.py``), the same numbers bit for bit. Each
parameter may be a scalar or an array with one value per neuron (a heterogeneous population)::

    >>> group = LIFGroup(3, tau_mem=np.array([10.0, 20.0, 40.0]), refractory=2.0)
    >>> spike_counts = sum(group.step(1.5).astype(int) for _ in range(1000))    # 100 ms at 1.5
    >>> spike_counts.tolist()                                  # the slower membranes fire less
    [7, 4, 2]

``SynapseGroup`` is ``synapses.FirstOrderSynapse`` for every connection from ``pre`` to ``post``: one current
i_syn per postsynaptic neuron, decaying with tau_syn and jumping by w_ij at each spike of presynaptic neuron i
that reaches it, after an optional per-connection delay of d_ij steps:

    i_syn_j <- alpha i_syn_j + sum over the spikes arriving now of w_ij,   alpha = exp(-dt / tau_syn)

The weights (n_pre, n_post) are dense or a scipy CSR matrix, one row per presynaptic neuron, so a spike
touches only its own row (event-driven propagation, ``kernels.propagation``).

Both kinds of object step on their own (``step``), or inside a ``network.Network``, which runs many steps
of all its objects in one compiled call. ``backend='numba'`` (default) uses the kernels of
``kernels.population`` and ``kernels.propagation``; ``backend='numpy'`` their plain-NumPy references, with
the same results.
"""
from __future__ import annotations

import dataclasses

import numpy as np
import scipy.sparse

from ._validation import as_rng, check_choice, check_finite, check_in_range, check_non_negative, check_positive
from .discretisation import LIFStep, exact_decay
from .kernels.population import (
    PopulationParams,
    PopulationState,
    population_step_kernel,
    population_step_reference,
    shared_params,
)
from .kernels.propagation import (
    deliver_csr_kernel,
    deliver_csr_reference,
    deliver_dense_kernel,
    deliver_dense_reference,
)
from .params import ALIFParams, LIFParams

BACKENDS = ("numba", "numpy")
_NO_ALPHAS = np.zeros(0)


def _check_count(name: str, n) -> int:
    if not isinstance(n, (int, np.integer)) or isinstance(n, bool) or n < 1:
        raise ValueError(f"{name} must be an integer >= 1; got {n!r}")
    return int(n)


def _check_per_neuron(name: str, value, n: int) -> None:
    """A parameter must be a scalar or an (n,) array: one value per neuron."""
    shape = np.shape(value)
    if shape not in ((), (n,)):
        raise ValueError(f"{name} must be a scalar or an array of shape ({n},); got shape {shape}")


class _StateArray:
    """A state array of a group, read as ``group.v`` and assigned in place (``group.v = x`` copies x in): the
    arrays live in ``group._state``, views of a Network's pools once the group is in a network."""

    def __init__(self, check, doc: str):
        self.check, self.__doc__ = check, doc

    def __set_name__(self, owner, name: str) -> None:
        self.name = name

    def __get__(self, group, owner=None):
        return self if group is None else getattr(group._state, self.name)

    def __set__(self, group, value) -> None:
        getattr(group._state, self.name)[:] = self.check(self.name, value)


class LIFGroup:
    """n leaky integrate-and-fire neurons (``neurons.FirstOrderLIF``, vectorised).

    Parameters: ``n``; ``dt`` (ms); ``integrator`` ('exact' | 'euler'); ``backend`` ('numba' | 'numpy'); and
    the ``LIFParams`` fields (tau_mem, v_rest, v_reset, v_threshold, resistance, refractory, reset), each a
    scalar or an (n,) array.

    State (arrays of n, changed in place; assigning ``group.v = x`` copies x in): ``v``, ``refractory_left``
    (int steps), ``spikes`` (bool, the last step's). ``step(current)`` advances one step and returns a copy of
    ``spikes``.
    """

    params_class = LIFParams
    adaptive = False

    def __init__(self, n: int, dt: float = 0.1, integrator: str = "exact", backend: str = "numba", **params):
        self.n = _check_count("n", n)
        self.dt = float(check_positive("dt", dt, "ms"))
        self.integrator = integrator
        self.backend = check_choice("backend", backend, BACKENDS)
        self.params = self.params_class(**params)            # the record validates every element
        for f in dataclasses.fields(self.params):
            if f.name != "reset":
                _check_per_neuron(f.name, getattr(self.params, f.name), self.n)
        constants = LIFStep.from_params(self.params, self.dt, integrator)
        self._params = PopulationParams(**{name: np.array(np.broadcast_to(value, (self.n,)))
                                           for name, value in vars(constants).items()})
        self._state = PopulationState(v=np.zeros(self.n), a=np.zeros(self.n),
                                      refractory_left=np.zeros(self.n, dtype=np.int32),
                                      spikes=np.zeros(self.n, dtype=bool), threshold=np.zeros(self.n))
        self._step_params = shared_params(self._params)
        self._current = np.zeros(self.n)
        self._no_inputs = np.zeros((0, self.n))             # a group stepped alone has no synaptic inputs
        self.reset_state()

    v = _StateArray(check_finite, "Membrane potentials (n,).")
    refractory_left = _StateArray(check_non_negative, "Steps each neuron stays held after its reset (n,) int.")
    spikes = _StateArray(check_finite, "Who spiked in the last step (n,) bool; overwritten by the next step.")

    def reset_state(self) -> None:
        """Back to rest: v = v_rest, a = 0, not refractory, no spike."""
        self._state.v[:] = self.params.v_rest
        self._state.a[:] = 0.0
        self._state.refractory_left[:] = 0
        self._state.spikes[:] = False
        self._state.threshold[:] = self._params.v_threshold

    def step(self, current) -> np.ndarray:
        """Advance one step of dt with ``current`` (scalar or (n,)) held constant over it; return a copy of
        ``spikes`` (so that ``[group.step(i) for i in currents]`` keeps every step's spikes)."""
        current = check_finite("current", current)
        if current.ndim != 0 and current.shape != (self.n,):
            raise ValueError(f"current must be a scalar or an array of shape ({self.n},); got shape {current.shape}")
        self._current[:] = current
        step = population_step_kernel if self.backend == "numba" else population_step_reference
        step(self._state, self._step_params, self._current, self._no_inputs, _NO_ALPHAS, _NO_ALPHAS,
             self.params.reset == "subtract", self.adaptive)
        return self._state.spikes.copy()

    def __getitem__(self, key) -> "Subgroup":
        """``group[start:stop]``: a ``Subgroup`` of consecutive neurons."""
        start, stop, step = key.indices(self.n) if isinstance(key, slice) else (0, 0, 0)
        if step != 1 or stop <= start:
            raise ValueError(f"a subgroup is a non-empty slice of consecutive neurons, like group[10:20]; got {key!r}")
        return Subgroup(self, start, stop)

    def _adopt(self, state: PopulationState, params: PopulationParams) -> None:
        """Keep ``state`` and ``params`` (views of a Network's pools, holding our values) instead of our arrays."""
        self._state, self._params, self._step_params = state, params, shared_params(params)


class ALIFGroup(LIFGroup):
    """n LIF neurons with adaptive thresholds (``neurons.ALIF``, vectorised): threshold = v_threshold + beta_adapt a.

    Parameters: as ``LIFGroup``, plus the ``ALIFParams`` fields ``tau_adapt`` (ms) and ``beta_adapt``, each a
    scalar or an (n,) array. Extra state: ``a`` (n,), the adaptation variable.
    """

    params_class = ALIFParams
    adaptive = True

    a = _StateArray(check_non_negative, "Adaptation variables (n,).")

    @property
    def threshold(self) -> np.ndarray:
        """The present adaptive thresholds v_threshold + beta_adapt a (n,)."""
        return self._params.v_threshold + self._params.beta_adapt * self._state.a


class Subgroup:
    """Neurons start:stop of ``group`` (make one with ``group[start:stop]``), stepped with their group.

    A subgroup can be the presynaptic population of a ``SynapseGroup`` or the source of a ``SpikeMonitor``:
    e.g. the excitatory and inhibitory neurons of one population, as in Brian2's CUBA example. Attributes:
    ``group``, ``start``, ``stop``, ``n``, ``dt``, and ``spikes`` (a view of the group's).
    """

    def __init__(self, group: LIFGroup, start: int, stop: int):
        self.group, self.start, self.stop = group, start, stop
        self.n, self.dt = stop - start, group.dt

    @property
    def spikes(self) -> np.ndarray:
        """Who spiked in the last step (n,) bool."""
        return self.group.spikes[self.start:self.stop]


def _as_weights(weights, n_pre: int, n_post: int):
    """Validated float64 copy of ``weights``: a C-contiguous ndarray, or a canonical CSR matrix (sorted, no
    duplicates, int32 indices) -- explicit zeros stay connections."""
    if scipy.sparse.issparse(weights):
        weights = scipy.sparse.csr_matrix(weights, dtype=float, copy=True)
        weights.sum_duplicates()
        weights.sort_indices()
        data = check_finite("weights", weights.data)
        if weights.nnz >= 2**31:
            raise ValueError(f"weights must have fewer than 2**31 connections; got {weights.nnz}")
        weights = scipy.sparse.csr_matrix((data, weights.indices.astype(np.int32), weights.indptr.astype(np.int32)),
                                          shape=weights.shape)
    else:
        weights = np.array(check_finite("weights", weights), dtype=float, order="C")
    if weights.shape != (n_pre, n_post):
        raise ValueError(f"weights must have shape (n_pre, n_post) = ({n_pre}, {n_post}); got {weights.shape}")
    return weights


def _as_delays(delay, weights):
    """Per-connection delays in steps, int64 and aligned with the weights (dense: (n_pre, n_post); CSR: (nnz,)),
    or None."""
    if delay is None:
        return None
    shape = weights.data.shape if scipy.sparse.issparse(weights) else weights.shape
    delay = check_non_negative("delay", delay, "steps")
    if not np.all(delay == np.round(delay)):
        raise ValueError("delay must be whole numbers of steps")
    if delay.ndim != 0 and delay.shape != shape:
        raise ValueError(f"delay must be a scalar or an array of shape {shape} (one per connection); "
                         f"got shape {delay.shape}")
    return np.array(np.broadcast_to(delay, shape), dtype=np.int64)


class SynapseGroup:
    """First-order synapses from ``pre`` (a group, a ``Subgroup`` or a ``sources.PoissonSource``) to ``post``
    (a group).

    Parameters:
        weights: (n_pre, n_post) ndarray or scipy sparse matrix (kept as CSR): w_ij, row = presynaptic neuron.
        tau_syn: synaptic time constant (ms), > 0; dt is ``post.dt``.
        delay: None (every spike arrives at once), or whole numbers of steps >= 0: a scalar for every
            connection, or one per connection (dense: (n_pre, n_post); CSR: aligned with ``weights.data``).
        learning_rule: None, or an object with ``update(weights, pre_spikes, post_spikes)`` changing
            ``weights`` in place (e.g. ``stdp.STDP``); ``learn`` calls it.
        backend: 'numba' or 'numpy'.

    State: ``i_syn`` (n_post,), the current this group feeds to ``post``; ``ring`` (L, n_post), the jumps still
    in flight (L = max delay + 1; 0 rows without delays). The group keeps its own copy of ``weights``: change
    them through ``synapses.weights``.
    """

    def __init__(self, pre, post, weights, tau_syn: float = 5.0, delay=None, learning_rule=None,
                 backend: str = "numba"):
        if not isinstance(post, LIFGroup):
            raise ValueError(f"post must be a LIFGroup or an ALIFGroup; got {type(post).__name__}")
        if not (hasattr(pre, "n") and hasattr(pre, "spikes")):
            raise ValueError(f"pre must be a group, a subgroup or a PoissonSource; got {type(pre).__name__}")
        self.pre, self.post = pre, post
        self.tau_syn = float(check_positive("tau_syn", tau_syn, "ms"))
        self.alpha = float(exact_decay(post.dt, self.tau_syn))
        self.weights = _as_weights(weights, pre.n, post.n)
        self.delay = _as_delays(delay, self.weights)
        self.learning_rule = learning_rule
        self.backend = check_choice("backend", backend, BACKENDS)
        ring_rows = 0 if self.delay is None else int(self.delay.max(initial=0)) + 1
        self.i_syn, self.ring = np.zeros(post.n), np.zeros((ring_rows, post.n))
        self._cursor = np.zeros(1, dtype=np.int64)             # ring row due now (an array: a Network pool view)

    @property
    def dense(self) -> bool:
        """Whether the weights are a dense ndarray (else CSR)."""
        return isinstance(self.weights, np.ndarray)

    @property
    def n_connections(self) -> int:
        """Number of synapses (a dense matrix counts every entry)."""
        return int(self.weights.size if self.dense else self.weights.nnz)

    def reset_state(self) -> None:
        """No current and nothing in flight."""
        self.i_syn[:] = 0.0
        self.ring[:] = 0.0
        self._cursor[0] = 0

    def step(self, pre_spikes) -> np.ndarray:
        """Advance one step: decay, then add the spikes arriving now; return ``i_syn``, the next input of ``post``.

        ``pre_spikes`` (n_pre,) bool: the presynaptic neurons that spiked (in this step: with delay 0 their
        jumps are in the returned current).
        """
        pre_spikes = np.asarray(pre_spikes)
        if pre_spikes.shape != (self.pre.n,):
            raise ValueError(f"pre_spikes must have shape ({self.pre.n},); got {pre_spikes.shape}")
        cursor = int(self._cursor[0])
        self.i_syn *= self.alpha                               # 1. decay, then the jumps due now
        if self.ring.shape[0]:
            self.i_syn += self.ring[cursor]
            self.ring[cursor] = 0.0
            self._cursor[0] = (cursor + 1) % self.ring.shape[0]
        rows = np.flatnonzero(pre_spikes)                      # 2. event-driven delivery
        delays = np.zeros(0, dtype=np.int64) if self.delay is None else self.delay
        numba_path = self.backend == "numba"
        if self.dense:
            deliver = deliver_dense_kernel if numba_path else deliver_dense_reference
            deliver(rows, self.weights, delays.reshape(-1, self.post.n), self.i_syn, self.ring, cursor)
        else:
            deliver = deliver_csr_kernel if numba_path else deliver_csr_reference
            w = self.weights
            deliver(rows, w.indptr, w.indices, w.data, delays, self.i_syn, self.ring, cursor)
        return self.i_syn

    def learn(self, pre_spikes, post_spikes) -> None:
        """The plasticity hook: let ``learning_rule`` change the weights after this step's spikes."""
        if self.learning_rule is not None:
            self.learning_rule.update(self.weights, pre_spikes, post_spikes)

    def _adopt(self, weights, delay, i_syn, ring, cursor) -> None:
        """Keep views of a Network's pools (holding our values) instead of our arrays."""
        self.weights, self.delay, self.i_syn, self.ring, self._cursor = weights, delay, i_syn, ring, cursor

    @classmethod
    def random(cls, pre, post, p: float, weight: float, rng=None, **kwargs) -> "SynapseGroup":
        """Connect each (i, j) independently with probability ``p``, all with ``weight``; CSR weights.

        ``rng``: seed or numpy Generator; other keywords go to ``SynapseGroup``. The number of synapses is
        Binomial(n_pre n_post, p). Self-connections are allowed when ``pre is post`` (as in Brian2's CUBA).
        """
        p = float(check_in_range("p", p, 0.0, 1.0))
        weight = float(check_finite("weight", weight))
        indptr, indices = _bernoulli_pattern(pre.n, post.n, p, as_rng(rng))
        weights = scipy.sparse.csr_matrix((np.full(indices.size, weight), indices, indptr), shape=(pre.n, post.n))
        return cls(pre, post, weights, **kwargs)

    connect_random = random

    @classmethod
    def one_to_one(cls, pre, post, weight: float = 1.0, **kwargs) -> "SynapseGroup":
        """Neuron i of ``pre`` to neuron i of ``post``, with ``weight``; CSR weights."""
        if pre.n != post.n:
            raise ValueError(f"one_to_one needs as many pre as post neurons; got n_pre={pre.n}, n_post={post.n}")
        weights = scipy.sparse.identity(pre.n, format="csr") * float(check_finite("weight", weight))
        return cls(pre, post, weights, **kwargs)

    @classmethod
    def all_to_all(cls, pre, post, weight: float = 1.0, **kwargs) -> "SynapseGroup":
        """Every pre neuron to every post neuron, with ``weight``; dense weights."""
        return cls(pre, post, np.full((pre.n, post.n), float(check_finite("weight", weight))), **kwargs)


def _bernoulli_pattern(n_pre: int, n_post: int, p: float, rng: np.random.Generator):
    """CSR (indptr, indices) of a random pattern: each of the n_pre x n_post pairs present with probability p.

    The present pairs are the successes of a Bernoulli process over the pairs in row-major order; the gaps
    between successes are geometric(p), so drawing them costs O(number of synapses), not O(n_pre n_post).
    """
    total = n_pre * n_post
    found, last = [], -1
    while p > 0.0:
        expected = (total - last - 1) * p
        size = int(expected + 6.0 * np.sqrt(expected) + 16)
        positions = last + np.cumsum(rng.geometric(p, size))
        found.append(positions[positions < total])
        if positions[-1] >= total:
            break
        last = int(positions[-1])
    positions = np.concatenate(found) if found else np.zeros(0, dtype=np.int64)
    indptr = np.zeros(n_pre + 1, dtype=np.int64)
    np.cumsum(np.bincount(positions // n_post, minlength=n_pre), out=indptr[1:])
    return indptr, (positions % n_post).astype(np.int32)
