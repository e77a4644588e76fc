"""Spike-timing-dependent plasticity (STDP): the pair-based rule, written with online traces.

The neuron here: none: a synapse rule, on any group's spikes.

The experiment (Bi & Poo 1998): a synapse grows when the presynaptic spike comes shortly *before* the
postsynaptic one and shrinks when it comes shortly after. With Delta t = t_post - t_pre, the pair window is

    Delta w = +a_plus  exp(-Delta t / tau_plus)     for Delta t >= 0   (pre before post: potentiation)
    Delta w = -a_minus exp(+Delta t / tau_minus)    for Delta t <  0   (post before pre: depression)

Trace form (Song, Miller & Abbott 2000; Morrison, Diesmann & Gerstner 2008). Summing the window over pairs
needs no spike history: each presynaptic neuron keeps a trace x_pre, each postsynaptic neuron a trace x_post,

    tau_plus  dx_pre/dt  = -x_pre  + sum_f delta(t - t_pre_f),
    tau_minus dx_post/dt = -x_post + sum_f delta(t - t_post_f),

and at a postsynaptic spike w_ij += a_plus x_pre_i; at a presynaptic spike w_ij -= a_minus x_post_j.
Two ways of counting pairs, set by ``traces``:

* ``'all_to_all'``: a spike *adds* 1 to its trace, so every earlier spike of the partner counts (the sum of
  the window over all pairs);
* ``'nearest'``: a spike *resets* its trace to 1, so only the partner's most recent spike counts (each post
  spike pairs with the last pre spike before it and vice versa: Morrison et al. 2008's symmetric
  nearest-spike interaction). For an isolated pair both give the window above.

Discrete update, one step of length dt (``STDP.update``), in this order:

    1. x_pre *= exp(-dt / tau_plus);  x_post *= exp(-dt / tau_minus)          (exact decay, ``Trace.decay``)
    2. x_pre += s_pre (all-to-all)  or  x_pre[s_pre] = 1 (nearest)           (``Trace.record``)
    3. rows i with s_pre_i:     w_ij -= a_minus x_post_j f_minus(w_ij)   (x_post without this step's spikes)
    4. columns j with s_post_j: w_ij += a_plus  x_pre_i  f_plus(w_ij)    (x_pre with this step's spikes)
    5. x_post += s_post  or  x_post[s_post] = 1

so a pair k steps apart changes w by exactly the window at Delta t = k dt, and a pair in the same step
(Delta t = 0) potentiates by a_plus. Weight dependence (``bounds``): ``'hard'`` has f = 1 (additive STDP);
``'soft'`` has f_plus(w) = (w_max - w)^mu, f_minus(w) = (w - w_min)^mu (mu = 1: multiplicative STDP, van Rossum,
Bi & Turrigiano 2000; 0 < mu < 1: Gütig et al. 2003). Either way depression stops at w_min and potentiation at
w_max, in case a large all-to-all trace overshoots. Steps 3-4 are ``depress`` and ``potentiate`` of
``spikingnn.kernels.stdp`` (beside their kernels): they touch only the rows and columns of neurons that spiked.

The pieces, each usable on its own (``spikingnn.diehl_cook`` builds its learning from them):

* ``Trace``: one trace per neuron, its exact decay and the jump of a spike (all-to-all or nearest);
* ``depress(w, pre_idx, x_post, a_minus, w_min, mu)`` and ``potentiate(w, post_idx, x_pre, y, a_plus, w_max, mu)``:
  steps 3 and 4. Potentiation carries one more factor y_j per postsynaptic neuron: 1 for the pair rule; the
  neuron's own slow trace just before its spike in the triplet rule (Pfister & Gerstner 2006) in the minimal
  form Diehl & Cook use, w_ij += nu_post x_pre_i x_post2_j;
* ``normalize_columns(w, total)``: synaptic scaling, each postsynaptic neuron's incoming weights rescaled to
  sum to ``total`` (Diehl & Cook do it before every image).
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ._validation import check_choice, check_finite, check_non_negative, check_positive, check_shape
from .discretisation import exact_decay, step_count
from .kernels.stdp import (
    csr_column_index,
    depress,
    potentiate,
    stdp_csr_kernel,
    stdp_csr_reference,
    stdp_dense_kernel,
    stdp_dense_reference,
)

BOUNDS = ("hard", "soft")
TRACES = ("all_to_all", "nearest")
BACKENDS = ("numba", "numpy")


@dataclass(frozen=True, eq=False)
class STDPParams:
    """Parameters of pair-based STDP. Defaults: Song, Miller & Abbott 2000 (a_minus / a_plus = 1.05).

    Attributes (units):
        a_plus: potentiation amplitude (weight units), >= 0.
        a_minus: depression amplitude (weight units), >= 0; depression subtracts it.
        tau_plus: time constant of the presynaptic trace, the potentiation side of the window (ms), > 0.
        tau_minus: time constant of the postsynaptic trace, the depression side (ms), > 0.
        w_min, w_max: weight bounds, w_min < w_max.
        bounds: 'hard' (additive, clipped) or 'soft' (weight-dependent, see the module docstring).
        mu: exponent of the soft-bound weight dependence, >= 0 (used with bounds='soft').
        traces: 'all_to_all' (spikes add to traces) or 'nearest' (spikes reset traces to 1).
    """

    a_plus: float = 0.01
    a_minus: float = 0.0105
    tau_plus: float = 20.0
    tau_minus: float = 20.0
    w_min: float = 0.0
    w_max: float = 1.0
    bounds: str = "hard"
    mu: float = 1.0
    traces: str = "all_to_all"

    def __post_init__(self):
        for name in ("a_plus", "a_minus", "mu"):
            check_non_negative(name, getattr(self, name))
        for name in ("tau_plus", "tau_minus"):
            check_positive(name, getattr(self, name), "ms")
        if not check_finite("w_max", self.w_max) > check_finite("w_min", self.w_min):
            raise ValueError(f"w_max must be > w_min; got w_min={self.w_min!r}, w_max={self.w_max!r}")
        check_choice("bounds", self.bounds, BOUNDS)
        check_choice("traces", self.traces, TRACES)


class Trace:
    """One spike trace per neuron, updated in place in the array ``x``::

        tau dx/dt = -x + sum_f delta(t - t_f)          ('all_to_all': each spike adds 1)
        tau dx/dt = -x,  x(t_f) = 1                    ('nearest': each spike sets x to 1)

    so x = sum over past spikes of exp(-(t - t_f) / tau), or exp(-(t - t_last) / tau) for the nearest spike.
    Discrete: ``decay()`` is the exact step x <- x exp(-dt / tau); ``record(spikes)`` the jump of the spikes of
    a step (a boolean mask or distinct indices).
    """

    def __init__(self, x: np.ndarray, tau: float, dt: float, mode: str = "all_to_all"):
        self.x = x
        self.decay_factor = float(exact_decay(check_positive("dt", dt, "ms"), check_positive("tau", tau, "ms")))
        self.mode = check_choice("mode", mode, TRACES)

    def decay(self) -> None:
        """x <- x exp(-dt / tau): one step without spikes."""
        self.x *= self.decay_factor

    def record(self, spikes) -> None:
        """The jump of this step's spikes: x += 1 (all-to-all) or x = 1 (nearest)."""
        if self.mode == "nearest":
            self.x[spikes] = 1.0
        else:
            self.x[spikes] += 1.0


def normalize_columns(w: np.ndarray, total: float) -> None:
    """Scale each column of ``w`` in place so that it sums to ``total`` (all-zero columns stay zero)."""
    sums = w.sum(axis=0)
    w *= np.divide(total, sums, out=np.ones_like(sums), where=sums > 0)


def stdp_window(delta_t, params: STDPParams = STDPParams()) -> np.ndarray:
    """The analytic pair window Delta w(Delta t), Delta t = t_post - t_pre in ms (hard bounds)."""
    delta_t = np.asarray(delta_t, dtype=float)
    return np.where(delta_t >= 0, params.a_plus * np.exp(-np.abs(delta_t) / params.tau_plus),
                    -params.a_minus * np.exp(-np.abs(delta_t) / params.tau_minus))


class STDP:
    """Pair-based STDP with its own traces; give it to ``SynapseGroup(..., learning_rule=STDP(dt=...))``.

    ``update(weights, pre_spikes, post_spikes)`` advances the traces by one step of ``dt`` ms and changes
    ``weights`` in place (a dense (n_pre, n_post) ndarray, or a scipy CSR matrix whose ``.data`` changes).
    The traces (``pre_trace`` with tau_plus, ``post_trace`` with tau_minus, both ``Trace``) are sized at the
    first update; ``reset_state()`` zeroes them.

    >>> rule = STDP(dt=1.0, a_plus=0.01, tau_plus=20.0)
    >>> w = np.full((1, 1), 0.5)
    >>> rule.update(w, np.array([True]), np.array([False]))    # pre spike at t = 0 (no post trace yet)
    >>> rule.update(w, np.array([False]), np.array([True]))    # post spike at t = 1 ms
    >>> round(float(w[0, 0] - 0.5), 6)                         # a_plus exp(-1/20)
    0.009512
    """

    def __init__(self, dt: float = 0.1, backend: str = "numba", **params):
        self.params = STDPParams(**params)
        self.dt = float(check_positive("dt", dt, "ms"))
        self.backend = check_choice("backend", backend, BACKENDS)
        self.pre_trace = self.post_trace = None
        self._csr_pattern = self._csr_columns = None

    def reset_state(self) -> None:
        """Zero both traces (as if no neuron had ever spiked)."""
        for trace in (self.pre_trace, self.post_trace):
            if trace is not None:
                trace.x[:] = 0.0

    def update(self, weights, pre_spikes, post_spikes) -> None:
        """One step: decay the traces, add this step's spikes, change the weights of the neurons that spiked."""
        n_pre, n_post = weights.shape
        pre_spikes, post_spikes = np.asarray(pre_spikes, dtype=bool), np.asarray(post_spikes, dtype=bool)
        check_shape("pre_spikes", pre_spikes, (n_pre,))
        check_shape("post_spikes", post_spikes, (n_post,))
        p = self.params
        if self.pre_trace is None or self.pre_trace.x.shape != (n_pre,) or self.post_trace.x.shape != (n_post,):
            self.pre_trace = Trace(np.zeros(n_pre), p.tau_plus, self.dt, p.traces)
            self.post_trace = Trace(np.zeros(n_post), p.tau_minus, self.dt, p.traces)
        self.pre_trace.decay()
        self.post_trace.decay()
        self.pre_trace.record(pre_spikes)
        pre_idx, post_idx = np.flatnonzero(pre_spikes), np.flatnonzero(post_spikes)
        if pre_idx.size or post_idx.size:
            self._apply(weights, pre_idx, post_idx)
        self.post_trace.record(post_spikes)

    def _apply(self, weights, pre_idx, post_idx) -> None:
        p = self.params
        mu = 0.0 if p.bounds == "hard" else float(p.mu)
        constants = (float(p.a_plus), float(p.a_minus), float(p.w_min), float(p.w_max), mu)
        numba_path = self.backend == "numba"
        if getattr(weights, "format", None) == "csr":
            kernel = stdp_csr_kernel if numba_path else stdp_csr_reference
            kernel(weights.data, weights.indptr, weights.indices, *self._column_index(weights),
                   self.pre_trace.x, self.post_trace.x, pre_idx, post_idx, *constants)
        elif isinstance(weights, np.ndarray):
            kernel = stdp_dense_kernel if numba_path else stdp_dense_reference
            kernel(weights, self.pre_trace.x, self.post_trace.x, pre_idx, post_idx, *constants)
        else:
            raise ValueError(f"weights must be a dense numpy array or a scipy CSR matrix; got {type(weights).__name__}")

    def _column_index(self, weights):
        """The CSR column index (``csr_column_index``), rebuilt only when the sparsity pattern changes."""
        pattern = self._csr_pattern
        if pattern is None or pattern[0] is not weights.indices or pattern[1] is not weights.indptr:
            self._csr_pattern = (weights.indices, weights.indptr)
            self._csr_columns = csr_column_index(weights.indptr, weights.indices, weights.shape[1])
        return self._csr_columns


def pair_weight_change(delta_t: float, dt: float = 0.1, w0: float = 0.5, **params) -> float:
    """Delta w of one synapse after one pre spike and one post spike ``delta_t`` ms later (negative: before).

    Simulates the rule step by step (``delta_t`` rounded to whole steps); it should reproduce
    ``stdp_window(delta_t)`` exactly for multiples of dt. Used by the tests and ``visualizations/stdp_viz.py``.
    """
    rule = STDP(dt=dt, **params)
    lag = int(step_count(abs(delta_t), dt))
    first, second = (0, 1) if delta_t >= 0 else (1, 0)     # which side (pre 0, post 1) spikes first
    w = np.full((1, 1), float(w0))
    for step in range(lag + 1):
        spikes = [np.zeros(1, dtype=bool), np.zeros(1, dtype=bool)]
        spikes[first][0] |= step == 0
        spikes[second][0] |= step == lag
        rule.update(w, spikes[0], spikes[1])
    return float(w[0, 0] - w0)


__all__ = ["STDP", "STDPParams", "Trace", "depress", "potentiate", "normalize_columns", "stdp_window",
           "pair_weight_change"]
