"""Dense projections of spikes: I[t] = x[t] @ W + b and its weight gradient, by events (one idea of the training
chapter, ``spikingnn/training/layers.py``: its dense layer).

Each Numba ``*_kernel`` stands beside its plain-NumPy ``*_reference`` with the same arguments and the same result
(``tests/test_bptt_kernels.py``). Arrays are time-first, ``(T, B, n)``.

Input spikes are binary and mostly zero (~13 % for rate-coded MNIST), so the current is accumulated over the active
inputs only, one weight row per spike, and so is the weight gradient dW = sum_t x[t]^T dI[t]. (Hidden spikes use
these kernels when they are sparse enough to beat BLAS: see ``EVENT_DENSITY`` in ``training/layers.py``.)
Weight gradients are summed over N_CHUNKS fixed chunks of the batch, one partial dW each, added in a fixed order:
results do not depend on the number of threads, and a run is reproducible bit for bit.

The small helpers ``scratch``, ``copy_into``, ``fill``, ``add_into``, ``add_scaled_into`` and ``sum_chunks`` serve the
other training kernels too.
"""
from __future__ import annotations

import numba
import numpy as np

from spikingnn.kernels.threads import run_parts

# A weight gradient is summed in (at most) N_CHUNKS partial sums, one per chunk of the batch, added in a fixed order:
# fixed, not the thread count, so that results do not depend on it. Each partial is a whole (n_in, n_out) array to
# zero and add up: 4 of them (up to 4 threads busy) took 1.3 ms for the rate-coded input layer's gradient, 8 took
# 1.75 ms (784 x 100, batch 128, 2 cores).
N_CHUNKS = 4


def project(x, weights):
    """x @ weights for time-first x (T, B, n_in) as one 2-D GEMM (a stacked matmul is ~10x slower): (T, B, n_out)."""
    return (x.reshape(-1, x.shape[-1]) @ weights).reshape(*x.shape[:-1], weights.shape[1])


@numba.njit(cache=True)
def add_scaled_into(out, scale, x):
    """out += scale x for 1-D arrays, as a loop: the NumPy expression, inside a kernel, would allocate a temporary
    for every call, and these calls come thousands of times per batch. ``scale`` should have the arrays' dtype
    (a float64 scale would turn float32 arithmetic into float64 and back)."""
    for h in range(out.shape[0]):
        out[h] += scale * x[h]


@numba.njit(cache=True)
def copy_into(out, x):
    """out[:] = x for 1-D arrays, as a loop. Numba compiles the slice assignment with a shape check whose error
    message is formatted in compiled code, which takes seconds to compile (measured: 7 s against 0.2 s for this
    loop, Numba 0.68), and a first run with an empty cache pays it."""
    for h in range(out.shape[0]):
        out[h] = x[h]


@numba.njit(cache=True, inline="always")
def scratch(width, like):
    """A new zeroed row of ``width`` numbers of ``like``'s dtype, for a block's own state. New, not a slice of an
    array shared by the blocks: LLVM then knows that it overlaps no other array and vectorises the loops that write
    it (``neuron_bptt.backward_block`` took 2.3x longer with its state in rows of one array made by the caller)."""
    return np.zeros(width, like.dtype)


@numba.njit(cache=True)
def fill(out, value):
    """out[:] = value for a 1-D array, as a loop (the slice assignment compiles slowly: see ``copy_into``)."""
    for h in range(out.shape[0]):
        out[h] = value


@numba.njit(cache=True)
def add_into(out, x):
    """out += x for 1-D arrays, as a loop (see ``add_scaled_into``)."""
    for h in range(out.shape[0]):
        out[h] += x[h]


def spike_current_reference(spikes, weights, bias):
    """I[t] = bias + x[t] @ weights. spikes x: (T, B, n_in), mostly zero; returns (T, B, H)."""
    return project(spikes, weights) + bias


def spike_current_kernel(spikes, weights, bias):
    """Fast path of spike_current_reference: one weight row added per non-zero input, the threads taking blocks of
    samples (``spike_current_block``)."""
    current = np.empty((spikes.shape[0], spikes.shape[1], weights.shape[1]), weights.dtype)
    run_parts(spike_current_block, spikes.shape[1], spikes, weights, bias, current)
    return current


@numba.njit(cache=True, nogil=True)
def spike_current_block(first, end, spikes, weights, bias, current):
    """spike_current_kernel's work on the samples [first, end), written into ``current`` (T, B, H)."""
    num_steps, n_in, n = spikes.shape[0], spikes.shape[2], weights.shape[1]
    for b in range(first, end):
        for t in range(num_steps):
            copy_into(current[t, b], bias)
            for j in range(n_in):
                x = spikes[t, b, j]
                if x != 0.0:
                    for h in range(n):
                        current[t, b, h] += x * weights[j, h]


def spike_weight_grad_reference(spikes, d_current):
    """dW = sum_t x[t]^T dI[t]. spikes x: (T, B, n_in), d_current: (T, B, H); returns (n_in, H)."""
    return spikes.reshape(-1, spikes.shape[2]).T @ d_current.reshape(-1, d_current.shape[2])


def spike_weight_grad_kernel(spikes, d_current):
    """Fast path of spike_weight_grad_reference: a partial dW per chunk of the batch (``spike_weight_grad_block``),
    summed in a fixed order."""
    partial = np.zeros((min(spikes.shape[1], N_CHUNKS), spikes.shape[2], d_current.shape[2]), d_current.dtype)
    run_parts(spike_weight_grad_block, partial.shape[0], spikes, d_current, partial)
    return sum_chunks(partial)


@numba.njit(cache=True, nogil=True)
def spike_weight_grad_block(first, end, spikes, d_current, partial):
    """spike_weight_grad_kernel's work on the chunks [first, end) of the batch, each into its partial[chunk]."""
    num_steps, batch, n_in = spikes.shape
    n, n_chunks = d_current.shape[2], partial.shape[0]
    for chunk in range(first, end):
        for b in range(chunk * batch // n_chunks, (chunk + 1) * batch // n_chunks):
            for t in range(num_steps):
                for j in range(n_in):
                    x = spikes[t, b, j]
                    if x != 0.0:
                        for h in range(n):
                            partial[chunk, j, h] += x * d_current[t, b, h]


def sum_chunks(partial):
    """partial[0] + partial[1] + ..., always in this order (reproducible whatever the number of threads). NumPy,
    called by the kernels' Python side: as a Numba function it took ~0.85 s of a first run's compilation."""
    total = partial[0].copy()
    for chunk in partial[1:]:
        total += chunk
    return total
