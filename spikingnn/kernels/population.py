"""One time step of a population of LIF or ALIF neurons (``groups.LIFGroup``, ``groups.ALIFGroup``).

The update is the single-unit one of ``neurons.FirstOrderLIF.step`` and ``neurons.ALIF`` (their docstrings
derive it), applied to n neurons whose parameters may all differ. The input current of neuron k is the
external current plus the synaptic currents arriving at it (one per synapse group onto the population, each
decaying by its alpha = exp(-dt / tau_syn) once read: step 1 of ``kernels.propagation``)::

    I_k = base_k + sum_r inputs[r, k],   then  inputs[r, k] <- alpha_r inputs[r, k]

and, with I_k held constant over the step:

    ALIF:  a_k <- adapt_decay_k a_k,  threshold_k = v_threshold_k + beta_adapt_k a_k  (LIF: threshold_k = v_threshold_k)
    if refractory_left_k > 0:   refractory_left_k -= 1,  v_k held,  no spike
    else:
        v_k <- decay_k v_k + rest_drive_k + input_gain_k I_k       (the constants of ``discretisation.LIFStep``)
        spike if v_k > threshold_k:   v_k <- v_reset_k                       (reset 'zero')
                                      v_k <- v_k - (threshold_k - v_reset_k)  (reset 'subtract')
                                      ALIF: a_k <- a_k + 1;   refractory_left_k <- refractory_steps_k

The kernel gives the numbers of the single units bit for bit, as fast as memory allows: it reads and writes
each neuron's arrays once per step (a step of a large population is limited by memory traffic, not by
arithmetic), reads shared parameters once (``shared_params``) and lets the compiler process several
neurons per instruction (see ``_fire``). ``collect_spikes`` then lists the neurons that
spiked, which is all that event-driven propagation needs.
"""
from __future__ import annotations

from typing import NamedTuple

import numba
import numpy as np
from numba.extending import overload


class PopulationState(NamedTuple):
    """The state of n neurons, changed in place by a step."""

    v: np.ndarray                  # (n,) float64 membrane potential
    a: np.ndarray                  # (n,) float64 adaptation (stays 0 in a LIF population)
    refractory_left: np.ndarray    # (n,) int32 steps still held after the reset
    spikes: np.ndarray             # (n,) bool, written each step: who spiked in it
    threshold: np.ndarray          # (n,) float64 the threshold of the step (ALIF; stays v_threshold in LIF)


class PopulationParams(NamedTuple):
    """Per-neuron step constants, (n,) each: the fields of ``discretisation.LIFStep``, in its order."""

    decay: np.ndarray              # membrane decay over a step (exact or Euler)
    rest_drive: np.ndarray         # (1 - decay) v_rest
    input_gain: np.ndarray         # (1 - decay) R
    v_threshold: np.ndarray
    v_reset: np.ndarray
    refractory_steps: np.ndarray   # int32, round(refractory / dt)
    adapt_decay: np.ndarray        # exp(-dt / tau_adapt) (ALIF; 1 for LIF)
    beta_adapt: np.ndarray         # threshold increase per unit of a (ALIF; 0 for LIF)


def population_step_reference(state, params, base, inputs, alphas, scratch, subtract, adaptive):
    """Plain-NumPy step of the whole population, in place (see the module docstring).

    ``base`` (n,): the external current of the step (or one number for all); ``inputs`` (m, n): synaptic
    currents, read then decayed (row r by ``alphas[r]``); ``scratch`` (n,): working memory (for m > 2).
    ``subtract``: reset by subtraction (else to v_reset); ``adaptive``: ALIF instead of LIF.
    """
    s, p = state, params
    current = np.zeros(s.v.shape) + base
    for row, alpha in zip(inputs, alphas):             # in order: ((base + i_0) + i_1) + ...
        current += row
        row *= alpha
    threshold = p.v_threshold
    if adaptive:
        s.a[:] = p.adapt_decay * s.a
        threshold = s.threshold[:] = p.v_threshold + p.beta_adapt * s.a
    v = p.decay * s.v + p.rest_drive + p.input_gain * current
    free = s.refractory_left == 0
    spiked = free & (v > threshold)
    v_after_spike = v - (threshold - p.v_reset) if subtract else p.v_reset
    s.v[:] = np.where(spiked, v_after_spike, np.where(free, v, s.v))
    s.refractory_left[:] = np.where(spiked, p.refractory_steps, np.maximum(s.refractory_left - 1, 0))
    if adaptive:
        s.a[spiked] += 1.0
    s.spikes[:] = spiked


def element(x, k):
    """x[k] for an array (one value per neuron or connection); x itself for one value shared by all."""
    return x[k] if np.ndim(x) else x


@overload(element)
def _element_compiled(x, k):
    """Numba's version of ``element``, chosen when the kernel is compiled for arrays or for scalars."""
    if isinstance(x, numba.types.Array):
        return lambda x, k: x[k]
    return lambda x, k: x


def first_values(params):
    """The values of the first neuron: a ``PopulationParams`` of scalars (plain indexing: valid in Numba too)."""
    p = params
    return PopulationParams(p.decay[0], p.rest_drive[0], p.input_gain[0], p.v_threshold[0], p.v_reset[0],
                            p.refractory_steps[0], p.adapt_decay[0], p.beta_adapt[0])


first_values_kernel = numba.njit(cache=True)(first_values)


def shared_params(params):
    """``first_values(params)`` when every neuron has the same values, else ``params`` itself.

    The kernel, compiled for each kind, then reads a shared value once per step instead of once per neuron.
    """
    return first_values(params) if all(np.all(x == x[:1]) for x in params) else params


@numba.njit(cache=True)
def _fire(k, current_k, state, params, threshold, subtract):
    """Integrate neuron k over the step with input current_k; spike and reset.

    Written for the compiler to process several neurons per instruction: every value is loaded first, then
    each choice is a select between two computed values (a refractory neuron computes its new v and discards
    it), with no branch in between.
    """
    v, refractory_left, p = state.v, state.refractory_left, params
    v_old, left, v_reset = v[k], refractory_left[k], element(p.v_reset, k)
    threshold_k, steps = element(threshold, k), element(p.refractory_steps, k)
    v_new = element(p.decay, k) * v_old + element(p.rest_drive, k) + element(p.input_gain, k) * current_k
    free = left == 0
    spiked = free & (v_new > threshold_k)
    v_after_spike = v_new - (threshold_k - v_reset) if subtract else v_reset
    v[k] = v_after_spike if spiked else (v_new if free else v_old)
    refractory_left[k] = steps if spiked else max(left - 1, 0)
    state.spikes[k] = spiked


@numba.njit(cache=True)
def _sum_and_fire(state, params, base, inputs, alphas, threshold, subtract):
    """One pass over the arrays for at most two synaptic inputs: sum the input current (it never goes to
    memory), decay the inputs, step every neuron. ``base`` is an array, or one number for every neuron."""
    n, m = state.v.shape[0], inputs.shape[0]
    if m == 0:
        for k in range(n):
            _fire(k, element(base, k), state, params, threshold, subtract)
    elif m == 1:
        first, alpha_first = inputs[0], alphas[0]
        for k in range(n):
            current = element(base, k) + first[k]
            first[k] *= alpha_first
            _fire(k, current, state, params, threshold, subtract)
    else:
        first, second, alpha_first, alpha_second = inputs[0], inputs[1], alphas[0], alphas[1]
        for k in range(n):
            current = element(base, k) + first[k] + second[k]
            first[k] *= alpha_first
            second[k] *= alpha_second
            _fire(k, current, state, params, threshold, subtract)


@numba.njit(cache=True)
def _integrate_and_fire(state, params, base, inputs, alphas, scratch, threshold, subtract):
    """``_sum_and_fire``; more than two synaptic inputs are first summed into ``scratch``, a pass each, all but
    the last two."""
    m = inputs.shape[0]
    if m <= 2:
        _sum_and_fire(state, params, base, inputs, alphas, threshold, subtract)
        return
    for k in range(scratch.shape[0]):
        scratch[k] = element(base, k) + inputs[0, k]
        inputs[0, k] *= alphas[0]
    for r in range(1, m - 2):
        for k in range(scratch.shape[0]):
            scratch[k] += inputs[r, k]
            inputs[r, k] *= alphas[r]
    _sum_and_fire(state, params, scratch, inputs[m - 2:], alphas[m - 2:], threshold, subtract)


@numba.njit(cache=True)
def population_step_kernel(state, params, base, inputs, alphas, scratch, subtract, adaptive):
    """Fast path of ``population_step_reference``: same arguments, same result.

    ``params`` may also be the scalars of ``shared_params``.
    """
    if not adaptive:
        _integrate_and_fire(state, params, base, inputs, alphas, scratch, params.v_threshold, subtract)
        return
    a, threshold, p = state.a, state.threshold, params
    for k in range(a.shape[0]):                        # ALIF: the threshold of this step
        a[k] = element(p.adapt_decay, k) * a[k]
        threshold[k] = element(p.v_threshold, k) + element(p.beta_adapt, k) * a[k]
    _integrate_and_fire(state, params, base, inputs, alphas, scratch, threshold, subtract)
    for k in range(a.shape[0]):                        # each spike adds 1 to a
        a[k] = a[k] + 1.0 if state.spikes[k] else a[k]


def collect_spikes_reference(spikes, out):
    """Write the indices of the True entries of ``spikes`` (ascending) to the start of ``out``; return their count."""
    indices = np.flatnonzero(spikes)
    out[:indices.size] = indices
    return indices.size


@numba.njit(cache=True)
def _collect_range(spikes, lo, hi, out, count):
    for k in range(lo, hi):
        if spikes[k]:
            out[count] = k
            count += 1
    return count


@numba.njit(cache=True)
def collect_spikes_kernel(spikes, out):
    """Fast path of ``collect_spikes_reference``: same arguments, same result.

    Spikes are rare, so the flags are read 64 at a time, as eight 64-bit words OR-ed together; only the
    blocks where that is not zero are searched flag by flag.
    """
    n_blocks = spikes.shape[0] // 64
    words = spikes[:64 * n_blocks].view(np.uint64)
    count = 0
    for b in range(n_blocks):
        block = np.uint64(0)
        for w in range(8 * b, 8 * b + 8):
            block |= words[w]
        if block != 0:
            count = _collect_range(spikes, 64 * b, 64 * b + 64, out, count)
    return _collect_range(spikes, 64 * n_blocks, spikes.shape[0], out, count)
