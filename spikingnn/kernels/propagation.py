"""Event-driven synaptic propagation with delays (``groups.SynapseGroup``).

A synapse group from n_pre to n_post neurons keeps one current per postsynaptic neuron, i_syn (n_post,): the
sum of its first-order synapses (``synapses.FirstOrderSynapse``). Each step it decays by
alpha = exp(-dt / tau_syn), then receives the jump of every spike arriving in the step:

    i_syn_j <- i_syn_j alpha + sum over the spikes i arriving now of w_ij

The weights w (n_pre, n_post) have one row per presynaptic neuron, dense or CSR (indptr, indices, data). A
spike of neuron i touches row i only, so a step costs the synapses of the neurons that spiked, not
n_pre x n_post: ``rows`` is the list of presynaptic neurons that spiked.

Delays (integer steps d >= 0 per connection) shift the arrival of a spike by d steps. Spikes in flight wait
in a ring buffer of per-delay accumulators, ``ring`` (L, n_post) with L = max delay + 1 (no delays: L = 0
rows and ``delays`` empty). Row ``cursor`` holds the jumps due in this step, row (cursor + d) % L those due d
steps later. One step of a synapse group is, in this order:

    1. decay:      i_syn <- i_syn alpha, then i_syn <- i_syn + ring[cursor], ring[cursor] <- 0
    2. deliver_*:  each connection (i, j) of a spiking neuron i adds w_ij to i_syn_j if its delay is 0,
                   to ring[(cursor + d_ij) % L, j] otherwise
    3. advance:    cursor <- (cursor + 1) % L

(d <= L - 1, so (cursor + d) % L never lands on the row just emptied.) Steps 1 and 3 are one line of NumPy
each (``groups.SynapseGroup.step``); in a network the decay happens while the postsynaptic population reads
i_syn (``kernels.population``), so that the array is read once per step.
"""
from __future__ import annotations

import numba
import numpy as np

from .population import element


def _add_row_reference(columns, weights, delays, i_syn, ring, cursor):
    """Deliver one spiking neuron's connections to ``columns``: now (delay 0) or into the ring."""
    if ring.shape[0] == 0:
        i_syn[columns] += weights
        return
    now = delays == 0
    i_syn[columns[now]] += weights[now]
    ring[(cursor + delays[~now]) % ring.shape[0], columns[~now]] += weights[~now]


def deliver_dense_reference(rows, weights, delays, i_syn, ring, cursor):
    """Step 2 above for dense ``weights`` (n_pre, n_post) and ``delays`` (n_pre, n_post) or empty."""
    columns = np.arange(weights.shape[1])
    for i in rows:
        _add_row_reference(columns, weights[i], delays[i] if delays.shape[0] else delays, i_syn, ring, cursor)


@numba.njit(cache=True)
def deliver_dense_kernel(rows, weights, delays, i_syn, ring, cursor):
    """Fast path of ``deliver_dense_reference``: same arguments, same result."""
    delayed = delays.shape[0] > 0
    for i in rows:
        for j in range(weights.shape[1]):
            if delayed and delays[i, j] > 0:
                ring[(cursor + delays[i, j]) % ring.shape[0], j] += weights[i, j]
            else:
                i_syn[j] += weights[i, j]


def deliver_csr_reference(rows, indptr, indices, data, delays, i_syn, ring, cursor):
    """Step 2 above for CSR weights: row i's connections are entries indptr[i]:indptr[i + 1] of indices
    (postsynaptic neuron) and data (weight); ``delays`` is aligned with data, or empty. ``data`` may be one
    number, the weight of every connection: the kernel then reads only the indices, a third of the memory."""
    data = np.broadcast_to(data, indices.shape)
    for i in rows:
        entries = slice(indptr[i], indptr[i + 1])
        _add_row_reference(indices[entries], data[entries], delays[entries] if delays.shape[0] else delays,
                           i_syn, ring, cursor)


@numba.njit(cache=True)
def deliver_csr_kernel(rows, indptr, indices, data, delays, i_syn, ring, cursor):
    """Fast path of ``deliver_csr_reference``: same arguments, same result."""
    delayed = delays.shape[0] > 0
    for i in rows:
        for e in range(indptr[i], indptr[i + 1]):
            if delayed and delays[e] > 0:
                ring[(cursor + delays[e]) % ring.shape[0], indices[e]] += element(data, e)
            else:
                i_syn[indices[e]] += element(data, e)
