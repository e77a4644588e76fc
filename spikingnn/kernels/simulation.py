"""Many time steps of a whole network in one call (``network.Network.run``).

Calling the population and propagation kernels from Python once per step costs a few microseconds per call,
as much as the work of a step of a few thousand neurons; a second of model time is 10,000 steps. So
``run_network_kernel`` runs many steps in one call. It works on pools: the arrays of all the network's groups
(``NeuronPool``) and synapse groups (``SynapsePool``) concatenated, with tables saying which slice belongs to
which object (``Network`` builds them, and each object keeps views into them). Presynaptic populations are
numbered in one *emitter* index: the neurons of every group, then the Poisson sources.

One step t, in this order (``Network``'s docstring gives the same order):

  1. The Poisson sources' spikes of step t are set (drawn beforehand from the network's Generator).
  2. For each group g, in order, ``kernels.population``: its input current is i_const + i_var[t] (if any) +
     the i_syn of each synapse group onto it, in order (those i_syn decay meanwhile); the group steps.
  3. The spikes of the step are listed. Each synapse group takes the jumps now due from its ring buffer, then
     delivers the spikes of its presynaptic population (``kernels.propagation``), and advances its ring.
     The jumps act from step t + 1 on.
  4. Recording: the spikes of monitored emitters go to the (step, index) buffers; the monitored state
     variables of step t to row t of ``states.out``.

The run stops early when the spike buffers could overflow during the next step and returns the number of
steps done; the caller empties the buffers and calls again. Memory does not grow with the steps.
"""
from __future__ import annotations

from typing import NamedTuple

import numba
import numpy as np

from .population import (
    PopulationParams,
    PopulationState,
    collect_spikes_kernel,
    collect_spikes_reference,
    first_values_kernel,
    population_step_kernel,
    population_step_reference,
)
from .propagation import deliver_csr_kernel, deliver_csr_reference, deliver_dense_kernel, deliver_dense_reference

STATE_VARIABLES = ("v", "a", "threshold", "refractory_left")
"""What a state monitor can record; ``StateRecord.variable`` holds indices into this tuple."""


class NeuronPool(NamedTuple):
    """Every neuron of a network, group after group: N neurons, G groups."""

    state: PopulationState     # (N,) each
    params: PopulationParams   # (N,) each
    scratch: np.ndarray        # (N,) float64: working memory (time-varying currents, more than two inputs)
    i_const: np.ndarray        # (N,) float64: the sum of the constant currents injected
    bounds: np.ndarray         # (G + 1,) int64: group g is neurons bounds[g]:bounds[g + 1]
    subtract: np.ndarray       # (G,) bool: reset by subtraction
    adaptive: np.ndarray       # (G,) bool: ALIF
    shared: np.ndarray         # (G,) bool: every neuron of the group has the same parameters (population.shared_params)
    external: np.ndarray       # (G,) bool: the group receives constant or time-varying currents (else base = 0)
    inputs_lo: np.ndarray      # (G + 1,) int64: SynapsePool entries inputs_lo[g]:inputs_lo[g + 1] end on group g
    var_column: np.ndarray     # (G,) int64: first column of the group's current in ChunkInputs.i_var, -1: none


class SynapsePool(NamedTuple):
    """Every synapse group of a network (S of them, ordered by postsynaptic group, so that the currents onto one
    group form one (m, n) block of ``i_syn``); offsets index the concatenated arrays below."""

    pre_lo: np.ndarray         # (S,) int64: the presynaptic population is emitters pre_lo:pre_hi
    pre_hi: np.ndarray         # (S,) int64
    post_group: np.ndarray     # (S,) int64: index of the postsynaptic group
    dense: np.ndarray          # (S,) bool: dense weights (else CSR)
    uniform: np.ndarray        # (S,) bool: CSR weights all equal (the kernel then reads only the indices)
    alpha: np.ndarray          # (S,) float64: exp(-dt / tau_syn)
    data_lo: np.ndarray        # (S + 1,) int64: weights (dense row-major, or CSR data) in data[data_lo[s]:...]
    indptr_lo: np.ndarray      # (S,) int64: CSR row pointers in indptr[indptr_lo[s]:indptr_lo[s] + n_pre + 1]
    indices_lo: np.ndarray     # (S,) int64: CSR column indices in indices[indices_lo[s]:...], as many as weights
    delay_lo: np.ndarray       # (S + 1,) int64: delays (aligned with the weights) in delays[...]; empty: none
    i_syn_lo: np.ndarray       # (S + 1,) int64: i_syn[i_syn_lo[s]:i_syn_lo[s+1]], n_post values
    ring_lo: np.ndarray        # (S + 1,) int64: ring buffer (L, n_post), row-major, in ring[ring_lo[s]:...]
    ring_rows: np.ndarray      # (S,) int64: L, 0 without delays
    cursor: np.ndarray         # (S,) int64: ring row due now
    data: np.ndarray           # float64
    indices: np.ndarray        # int32: CSR column indices (postsynaptic neuron)
    indptr: np.ndarray         # int32: CSR row pointers, each synapse group's starting at 0
    delays: np.ndarray         # int64, in steps
    i_syn: np.ndarray          # float64
    ring: np.ndarray           # float64


class ChunkInputs(NamedTuple):
    """The external inputs of the T steps of one call."""

    source_ptr: np.ndarray     # (T + 1,) int64: step t's Poisson spikes: source_index[source_ptr[t]:source_ptr[t + 1]]
    source_index: np.ndarray   # int64 emitter indices, ascending within a step
    i_var: np.ndarray          # (T, M) float64: time-varying currents, a block of columns per group receiving one


class SpikeRecord(NamedTuple):
    """This step's spikes of every emitter (E = neurons + Poisson sources), and the spikes recorded so far."""

    emitted: np.ndarray        # (E,) bool: neurons (the groups' ``spikes`` are views of it), then sources
    spiked: np.ndarray         # (E,) int64 scratch: emitters that spiked in the step
    rows: np.ndarray           # (E,) int64 scratch: the same, numbered within one presynaptic population
    watched: np.ndarray        # (E,) bool: emitters a SpikeMonitor records
    step: np.ndarray           # (C,) int64: recorded spikes, step ...
    index: np.ndarray          # (C,) int64: ... and emitter index


class StateRecord(NamedTuple):
    """P recorded (variable, neuron) pairs; row t of ``out`` receives their values after step t."""

    variable: np.ndarray       # (P,) int64 index into STATE_VARIABLES
    neuron: np.ndarray         # (P,) int64 neuron index in the pool
    out: np.ndarray            # (T, P) float64


def _group_views(neurons, synapses, g):
    """Views of the pools for group g: state, parameters, synaptic inputs (m, n) and their alphas (m,)."""
    lo, hi = neurons.bounds[g], neurons.bounds[g + 1]
    s, p = neurons.state, neurons.params
    state = PopulationState(s.v[lo:hi], s.a[lo:hi], s.refractory_left[lo:hi], s.spikes[lo:hi], s.threshold[lo:hi])
    params = PopulationParams(p.decay[lo:hi], p.rest_drive[lo:hi], p.input_gain[lo:hi], p.v_threshold[lo:hi],
                              p.v_reset[lo:hi], p.refractory_steps[lo:hi], p.adapt_decay[lo:hi], p.beta_adapt[lo:hi])
    first, last = neurons.inputs_lo[g], neurons.inputs_lo[g + 1]
    inputs = synapses.i_syn[synapses.i_syn_lo[first]:synapses.i_syn_lo[last]].reshape((last - first, hi - lo))
    return state, params, inputs, synapses.alpha[first:last]


def _synapse_views(syn, s):
    """i_syn (n_post,), ring (L, n_post) and flat delays of synapse group s: views of the pool."""
    i_syn = syn.i_syn[syn.i_syn_lo[s]:syn.i_syn_lo[s + 1]]
    ring = syn.ring[syn.ring_lo[s]:syn.ring_lo[s + 1]].reshape((syn.ring_rows[s], i_syn.shape[0]))
    return i_syn, ring, syn.delays[syn.delay_lo[s]:syn.delay_lo[s + 1]]


# The two helpers above are plain slicing, valid Python and valid Numba: the reference calls them as they are,
# the kernel calls their compiled versions.
_group_views_kernel = numba.njit(cache=True, inline="always")(_group_views)
_synapse_views_kernel = numba.njit(cache=True, inline="always")(_synapse_views)


@numba.njit(cache=True)
def _local_rows(spiked, n_spiked, lo, hi, rows):
    """Copy the entries of spiked[:n_spiked] (ascending) that lie in lo:hi to rows, minus lo; return how many."""
    count = 0
    for m in range(np.searchsorted(spiked[:n_spiked], lo), n_spiked):
        if spiked[m] >= hi:
            break
        rows[count] = spiked[m] - lo
        count += 1
    return count


@numba.njit(cache=True, inline="always")
def _step_group(neurons, synapses, g, base):
    """Step group g (``kernels.population``); ``base``: its external current, an array or one number."""
    state, params, synaptic, alphas = _group_views_kernel(neurons, synapses, g)
    scratch = neurons.scratch[neurons.bounds[g]:neurons.bounds[g + 1]]
    if neurons.shared[g]:
        population_step_kernel(state, first_values_kernel(params), base, synaptic, alphas, scratch,
                               neurons.subtract[g], neurons.adaptive[g])
    else:
        population_step_kernel(state, params, base, synaptic, alphas, scratch, neurons.subtract[g],
                               neurons.adaptive[g])


@numba.njit(cache=True)
def run_network_kernel(first_step, n_steps, neurons, synapses, inputs, spikes, states):
    """Run up to ``n_steps`` steps (see the module docstring); return (steps done, spikes recorded)."""
    n_neurons, n_emitters = neurons.scratch.shape[0], spikes.emitted.shape[0]
    recorded = 0
    for t in range(n_steps):
        if recorded + n_emitters > spikes.step.shape[0]:
            return t, recorded
        # 1. Poisson sources
        spikes.emitted[n_neurons:] = False
        for m in range(inputs.source_ptr[t], inputs.source_ptr[t + 1]):
            spikes.emitted[inputs.source_index[m]] = True
        # 2. groups
        for g in range(neurons.bounds.shape[0] - 1):
            lo, hi = neurons.bounds[g], neurons.bounds[g + 1]
            base, scratch, column = neurons.i_const[lo:hi], neurons.scratch[lo:hi], neurons.var_column[g]
            if column >= 0:                        # a time-varying current: base = i_const + i_var[t]
                i_var = inputs.i_var[t, column:column + hi - lo]
                for k in range(hi - lo):           # (explicit loops from 0 over views: the fastest code)
                    scratch[k] = base[k] + i_var[k]
                base = scratch
            if neurons.external[g]:
                _step_group(neurons, synapses, g, base)
            else:                                  # no external current: 0.0, not an array of zeros to read
                _step_group(neurons, synapses, g, 0.0)
        # 3. synapse groups: due jumps, event-driven delivery of the step's spikes, ring advance
        n_spiked = collect_spikes_kernel(spikes.emitted, spikes.spiked)
        for s in range(synapses.alpha.shape[0]):
            n_rows = _local_rows(spikes.spiked, n_spiked, synapses.pre_lo[s], synapses.pre_hi[s], spikes.rows)
            if n_rows == 0 and synapses.ring_rows[s] == 0:
                continue                           # nothing to deliver, no ring
            i_syn, ring, delays = _synapse_views_kernel(synapses, s)
            cursor = synapses.cursor[s]
            if ring.shape[0]:
                due = ring[cursor]
                for j in range(i_syn.shape[0]):
                    i_syn[j] += due[j]
                    due[j] = 0.0
                synapses.cursor[s] = (cursor + 1) % ring.shape[0]
            n_pre = synapses.pre_hi[s] - synapses.pre_lo[s]
            weights = synapses.data[synapses.data_lo[s]:synapses.data_lo[s + 1]]
            if synapses.dense[s]:
                shape = (n_pre, i_syn.shape[0])
                deliver_dense_kernel(spikes.rows[:n_rows], weights.reshape(shape), delays.reshape((-1, shape[1])),
                                     i_syn, ring, cursor)
            else:
                indptr = synapses.indptr[synapses.indptr_lo[s]:synapses.indptr_lo[s] + n_pre + 1]
                indices = synapses.indices[synapses.indices_lo[s]:synapses.indices_lo[s] + weights.shape[0]]
                if synapses.uniform[s]:
                    deliver_csr_kernel(spikes.rows[:n_rows], indptr, indices, weights[0], delays, i_syn, ring, cursor)
                else:
                    deliver_csr_kernel(spikes.rows[:n_rows], indptr, indices, weights, delays, i_syn, ring, cursor)
        # 4. recording
        for m in range(n_spiked):
            if spikes.watched[spikes.spiked[m]]:
                spikes.step[recorded] = first_step + t
                spikes.index[recorded] = spikes.spiked[m]
                recorded += 1
        for q in range(states.variable.shape[0]):
            k, variable = states.neuron[q], states.variable[q]
            if variable == 0:
                states.out[t, q] = neurons.state.v[k]
            elif variable == 1:
                states.out[t, q] = neurons.state.a[k]
            elif variable == 2:
                states.out[t, q] = neurons.state.threshold[k]
            else:
                states.out[t, q] = neurons.state.refractory_left[k]
    return n_steps, recorded


def run_network_reference(first_step, n_steps, neurons, synapses, inputs, spikes, states):
    """Plain-NumPy ``run_network_kernel``: same arguments, same result, the same steps with the reference functions."""
    n_neurons, n_emitters = neurons.scratch.shape[0], spikes.emitted.shape[0]
    syn = synapses
    recorded = 0
    for t in range(n_steps):
        if recorded + n_emitters > spikes.step.shape[0]:
            return t, recorded
        spikes.emitted[n_neurons:] = False                                                  # 1.
        spikes.emitted[inputs.source_index[inputs.source_ptr[t]:inputs.source_ptr[t + 1]]] = True
        for g in range(len(neurons.bounds) - 1):                                            # 2.
            lo, hi = neurons.bounds[g], neurons.bounds[g + 1]
            base, scratch, column = neurons.i_const[lo:hi], neurons.scratch[lo:hi], neurons.var_column[g]
            if column >= 0:
                base = base + inputs.i_var[t, column:column + hi - lo]
            state, params, synaptic, alphas = _group_views(neurons, syn, g)
            population_step_reference(state, params, base, synaptic, alphas, scratch, neurons.subtract[g],
                                      neurons.adaptive[g])
        n_spiked = collect_spikes_reference(spikes.emitted, spikes.spiked)                 # 3.
        spiked = spikes.spiked[:n_spiked]
        for s in range(len(syn.alpha)):
            i_syn, ring, delays = _synapse_views(syn, s)
            cursor = syn.cursor[s]
            if len(ring):
                i_syn += ring[cursor]
                ring[cursor] = 0.0
                syn.cursor[s] = (cursor + 1) % len(ring)
            lo, hi = syn.pre_lo[s], syn.pre_hi[s]
            rows = spiked[(spiked >= lo) & (spiked < hi)] - lo
            weights = syn.data[syn.data_lo[s]:syn.data_lo[s + 1]]
            if syn.dense[s]:
                shape = (hi - lo, len(i_syn))
                deliver_dense_reference(rows, weights.reshape(shape), delays.reshape(-1, shape[1]), i_syn, ring,
                                        cursor)
            else:
                indptr = syn.indptr[syn.indptr_lo[s]:syn.indptr_lo[s] + hi - lo + 1]
                indices = syn.indices[syn.indices_lo[s]:syn.indices_lo[s] + len(weights)]
                deliver_csr_reference(rows, indptr, indices, weights, delays, i_syn, ring, cursor)
        watched = spiked[spikes.watched[spiked]]                                            # 4.
        spikes.step[recorded:recorded + watched.size] = first_step + t
        spikes.index[recorded:recorded + watched.size] = watched
        recorded += watched.size
        table = (neurons.state.v, neurons.state.a, neurons.state.threshold, neurons.state.refractory_left)
        for q, (variable, k) in enumerate(zip(states.variable, states.neuron)):
            states.out[t, q] = table[variable][k]
    return n_steps, recorded
