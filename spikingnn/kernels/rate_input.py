"""Rate-coded input by events: the spikes of a batch of images are drawn inside the kernels, never stored (the
input layer of ``spikingnn/training/layers.py``; the encoding is described in ``training/encoders.py``).

Each kernel draws its input spikes from random bytes (see :func:`rate_spikes_reference`) as it accumulates, and the
backward pass regenerates the same spikes from the same bytes. Pixels that are 0 can never fire and get no byte at
all. Bright pixels, which fire at most steps, are counted once per sample and corrected where they stay silent,
so the work of a step follows the randomness of the code, not its number of spikes (:func:`rate_current_kernel`).
For inference, :func:`rate_neuron_spikes_kernel` feeds that current straight into the layer's neurons and keeps only
their spikes.

Each Numba ``*_kernel`` stands beside its plain-NumPy ``*_reference`` with the same arguments and the same result
(``tests/test_bptt_kernels.py``).
"""
from __future__ import annotations

import numba
import numpy as np

from spikingnn.kernels.neuron_bptt import READOUT, adapt_and_leak, after_reset, fires, neuron_forward_reference
from spikingnn.kernels.projection import (
    N_CHUNKS,
    add_into,
    add_scaled_into,
    copy_into,
    fill,
    project,
    scratch,
    sum_chunks,
)
from spikingnn.kernels.threads import run_parts


def nonzero_levels_reference(levels):
    """The non-zero entries of a batch of levels (B, n), sample after sample: ``(index, level, offsets)``.

    Sample b's entries are ``index[offsets[b]:offsets[b+1]]`` (int32, ascending) with values ``level[...]``
    (uint16); offsets: (B + 1,) int64. The sparse form in which rate-coded images reach the kernels below.
    """
    sample, pixel = np.nonzero(levels)
    offsets = np.zeros(levels.shape[0] + 1, dtype=np.int64)
    np.cumsum(np.bincount(sample, minlength=levels.shape[0]), out=offsets[1:])
    return pixel.astype(np.int32), levels[sample, pixel].astype(np.uint16), offsets


def nonzero_levels_kernel(levels):
    """Fast path of nonzero_levels_reference: one pass over the batch (``nonzero_levels_block``) into arrays made
    here for the most entries there can be, then cut to the entries found (a first pass that counted them took
    longer: 76 against 66 us for 128 MNIST digits)."""
    index, level = np.empty(levels.size, np.int32), np.empty(levels.size, np.uint16)
    offsets = np.empty(levels.shape[0] + 1, np.int64)
    nonzero_levels_block(levels, index, level, offsets)
    return index[:offsets[-1]], level[:offsets[-1]], offsets


@numba.njit(cache=True, nogil=True)
def nonzero_levels_block(levels, index, level, offsets):
    """nonzero_levels_kernel's pass: the non-zero entries of each sample in turn into index and level, the running
    count into offsets."""
    e = offsets[0] = 0
    for b in range(levels.shape[0]):
        for k in range(levels.shape[1]):
            if levels[b, k] != 0:
                index[e], level[e] = k, levels[b, k]
                e += 1
        offsets[b + 1] = e


def rate_spikes_reference(pixel_index, pixel_level, offsets, random_bytes, num_steps, n_inputs):
    """The rate-coded input spikes that the rate kernels generate, as a dense (T, B, n_inputs) 0/1 array.

    Sample b owns the pixels ``pixel_index[offsets[b]:offsets[b+1]]`` (its non-zero ones, n_b of them) with
    levels ``pixel_level`` in 1..256, and the bytes ``random_bytes[T offsets[b] : T offsets[b+1]]``, n_b per step:

        s[t, b, pixel_index[o_b + k]] = random_bytes[T o_b + t n_b + k] < pixel_level[o_b + k]

    A uniform byte u in 0..255 is below the level L with probability L / 256: the pixel fires with p = L / 256.
    """
    batch = offsets.size - 1
    counts = np.diff(offsets)
    sample = np.repeat(np.arange(batch), counts)                                   # owner of each pixel entry
    k = np.arange(offsets[-1]) - offsets[sample]
    steps = np.arange(num_steps)[:, None]
    fired = random_bytes[num_steps * offsets[sample] + steps * counts[sample] + k] < pixel_level   # (T, nnz)
    spikes = np.zeros((num_steps, batch, n_inputs), dtype=np.float32)
    spikes[:, sample, pixel_index] = fired
    return spikes


def rate_current_reference(pixel_index, pixel_level, offsets, random_bytes, num_steps, weights, bias):
    """I[t] = bias + s[t] @ weights for the rate-coded spikes s of ``rate_spikes_reference``: (T, B, H)."""
    spikes = rate_spikes_reference(pixel_index, pixel_level, offsets, random_bytes, num_steps, weights.shape[0])
    return project(spikes.astype(weights.dtype), weights) + bias


def longest_sample(offsets) -> int:
    """The most non-zero pixels of a sample of the batch, plus one: the length of the kernels' scratch rows."""
    return int(np.diff(offsets).max(initial=0)) + 1


def rate_current_kernel(pixel_index, pixel_level, offsets, random_bytes, num_steps, weights, bias):
    """Fast path of rate_current_reference: the same sums, organised so that little is added at each step.

    A bright pixel (p = level / 256 > 1/2) fires at most steps. Its weight row is added once per sample, into
    a base current, and subtracted at the steps where it stays silent; a dim pixel is added where it fires:

        I[t] = bias + sum_{bright j} W_j - sum_{bright j silent at t} W_j + sum_{dim j firing at t} W_j.

    The per-step work is proportional to sum_j min(p_j, 1 - p_j) (~21 rows for MNIST) instead of
    sum_j p_j (~102 rows). Where each pixel breaks its habit is found for a whole sample at once (``habit_breaks``,
    vectorised; 128 MNIST digits on one thread: 2.9 -> 1.4 ms for the whole kernel, against a test with a branch
    per pixel and step); a step's exceptions are then listed branch-free and added two rows at a time. The
    threads take blocks of samples (``rate_current_block``).
    """
    batch = offsets.size - 1
    current = np.empty((num_steps, batch, weights.shape[1]), weights.dtype)
    run_parts(rate_current_block, batch, pixel_index, pixel_level, offsets, random_bytes, weights, bias, current,
              longest_sample(offsets))
    return current


@numba.njit(cache=True, inline="always")
def habit_scratch(longest, num_steps, like):
    """The block's own rows for ``habit_breaks``: sign (``like``'s dtype), flip, below (longest bytes each) and
    mask (num_steps x longest bytes).

    The byte rows are ``np.empty``: ``habit_breaks`` writes every entry it later reads, and each dtype given to
    ``np.zeros`` inside a kernel costs a first run ~0.3 s more compiling than ``np.empty`` does (Numba builds the
    zero-filling version anew for every dtype; the kernels' float rows already pay for theirs)."""
    return (scratch(longest, like), np.empty(longest, np.uint8), np.empty(longest, np.uint8),
            np.empty(longest * num_steps, np.uint8))


@numba.njit(cache=True, inline="always")
def habit_breaks(pixel_level, random_bytes, start, count, num_steps, sign, flip, below, mask):
    """Where the pixels of one sample (entries start .. start + count) break their habit: mask[t count + k] = 1 when
    pixel k is silent at step t although bright (level > 128), or fires although dim; sign[k] = -1 (bright) or +1.

    A dim pixel breaks its habit when byte < level; a bright one when byte >= level, that is when
    255 - byte < 256 - level. With flip = 255 (bright) or 0 and below = 256 - level (bright) or level, both read
    (byte XOR flip) < below: one comparison of bytes, the same for every pixel, which the compiler vectorises
    (the same test with a branch on brightness at each pixel and step: the scan of 128 digits took 2-3x as long).
    """
    for k in range(count):
        level = pixel_level[start + k]
        bright = level > 128
        sign[k] = -1.0 if bright else 1.0
        flip[k] = 255 if bright else 0
        below[k] = 256 - level if bright else level
    for t in range(num_steps):
        offset = num_steps * start + t * count
        for k in range(count):
            mask[t * count + k] = (random_bytes[offset + k] ^ flip[k]) < below[k]


@numba.njit(cache=True, inline="always")
def sample_base(base, bias, weights, pixel_index, start, count, sign):
    """base = bias + the weight rows of the sample's bright pixels: its current at a step where no pixel breaks its
    habit."""
    copy_into(base, bias)
    for k in range(count):
        if sign[k] < 0:
            add_into(base, weights[pixel_index[start + k]])


@numba.njit(cache=True, inline="always")
def step_current(acc, base, t, weights, pixel_index, start, count, sign, mask, exceptions):
    """acc = I[t] of one sample: its base plus (dim) or minus (bright) the rows of the pixels that break their habit
    at step t, listed branch-free into ``exceptions`` and added two rows at a time."""
    n = acc.shape[0]
    m = 0
    for k in range(count):
        exceptions[m] = k
        m += mask[t * count + k]
    copy_into(acc, base)
    for q in range(0, m - 1, 2):
        k1, k2 = exceptions[q], exceptions[q + 1]
        j1, j2, s1, s2 = pixel_index[start + k1], pixel_index[start + k2], sign[k1], sign[k2]
        for h in range(n):
            acc[h] += s1 * weights[j1, h] + s2 * weights[j2, h]
    if m % 2:
        k1 = exceptions[m - 1]
        add_scaled_into(acc, sign[k1], weights[pixel_index[start + k1]])


@numba.njit(cache=True, nogil=True)
def rate_current_block(first, end, pixel_index, pixel_level, offsets, random_bytes, weights, bias, current,
                       longest):
    """rate_current_kernel's work on the samples [first, end), written into ``current`` (T, B, H); ``longest``:
    a sample's non-zero pixels, at most, plus one. The scratch rows are the block's own (see
    ``projection.scratch``)."""
    num_steps, n = current.shape[0], weights.shape[1]
    exceptions = np.empty(longest, np.int64)           # written before read, like habit_scratch's bytes
    sign, flip, below, mask = habit_scratch(longest, num_steps, weights)
    base, acc = scratch(n, weights), scratch(n, weights)
    for b in range(first, end):
        start, count = offsets[b], offsets[b + 1] - offsets[b]
        habit_breaks(pixel_level, random_bytes, start, count, num_steps, sign, flip, below, mask)
        sample_base(base, bias, weights, pixel_index, start, count, sign)
        for t in range(num_steps):
            step_current(acc, base, t, weights, pixel_index, start, count, sign, mask, exceptions)
            copy_into(current[t, b], acc)


def rate_neuron_spikes_reference(pixel_index, pixel_level, offsets, random_bytes, num_steps, weights, bias, beta,
                                 v_threshold, rho, beta_adapt, reset_code):
    """The spikes (T, B, H) of LIF/ALIF neurons (``neuron_bptt.neuron_forward_reference``, no recurrence) driven by
    the current of ``rate_current_reference``: an input layer that only has to fire (inference)."""
    current = rate_current_reference(pixel_index, pixel_level, offsets, random_bytes, num_steps, weights, bias)
    no_recurrence, no_fixed_reset = np.zeros((0, 0), current.dtype), np.zeros((0, 0, 0), current.dtype)
    return neuron_forward_reference(current, beta, v_threshold, rho, beta_adapt, no_recurrence, reset_code, 0,
                                    1.0, False, no_fixed_reset)[1]


def rate_neuron_spikes_kernel(pixel_index, pixel_level, offsets, random_bytes, num_steps, weights, bias, beta,
                              v_threshold, rho, beta_adapt, reset_code):
    """Fast path of rate_neuron_spikes_reference: each sample's current at a step (as in rate_current_kernel) goes
    straight into its neurons' step (as in neuron_bptt's forward kernel, the same operations in the same order, so
    the same spikes to the bit), and only the spikes are written. Neither the current nor the membrane and
    threshold of all T steps is stored: 10,000 MNIST test images went through a 784-100 layer in 60-74 against
    68-79 ms (2 threads, three runs) and in 82-92 against 95-97 ms (one thread)."""
    batch = offsets.size - 1
    spikes = np.empty((num_steps, batch, weights.shape[1]), weights.dtype)
    number = weights.dtype.type
    run_parts(rate_neuron_spikes_block, batch, pixel_index, pixel_level, offsets, random_bytes, weights, bias, beta,
              v_threshold, number(rho), number(beta_adapt), reset_code, spikes, longest_sample(offsets), number(1))
    return spikes


@numba.njit(cache=True, nogil=True)
def rate_neuron_spikes_block(first, end, pixel_index, pixel_level, offsets, random_bytes, weights, bias, beta,
                             v_threshold, rho, beta_adapt, reset_code, spikes, longest, one):
    """rate_neuron_spikes_kernel's work on the samples [first, end), sample after sample through all T steps: the
    neurons' state (membrane after reset u, adaptation a, threshold, last spikes) is one row each."""
    num_steps, n = spikes.shape[0], weights.shape[1]
    exceptions = np.empty(longest, np.int64)
    sign, flip, below, mask = habit_scratch(longest, num_steps, weights)
    base, acc = scratch(n, weights), scratch(n, weights)
    u, a, thr, s_prev = scratch(n, weights), scratch(n, weights), scratch(n, weights), scratch(n, weights)
    for b in range(first, end):
        start, count = offsets[b], offsets[b + 1] - offsets[b]
        habit_breaks(pixel_level, random_bytes, start, count, num_steps, sign, flip, below, mask)
        sample_base(base, bias, weights, pixel_index, start, count, sign)
        fill(u, 0 * one)
        fill(a, 0 * one)
        fill(s_prev, 0 * one)
        for t in range(num_steps):
            step_current(acc, base, t, weights, pixel_index, start, count, sign, mask, exceptions)
            for h in range(n):
                adapt_and_leak(h, a, thr, u, s_prev, beta, v_threshold, rho, beta_adapt)
                u[h] += acc[h]
                s_prev[h] = 0 * one if reset_code == READOUT else fires(u[h], thr[h], one)
                u[h] = after_reset(u[h], thr[h], s_prev[h], reset_code, one)
            copy_into(spikes[t, b], s_prev)


def rate_weight_grad_reference(pixel_index, pixel_level, offsets, random_bytes, d_current, n_inputs):
    """dW = sum_t s[t]^T dI[t] for the rate-coded spikes s of ``rate_spikes_reference``: (n_inputs, H)."""
    num_steps, batch, n = d_current.shape
    spikes = rate_spikes_reference(pixel_index, pixel_level, offsets, random_bytes, num_steps, n_inputs)
    return spikes.reshape(-1, n_inputs).T.astype(d_current.dtype) @ d_current.reshape(-1, n)


def rate_weight_grad_kernel(pixel_index, pixel_level, offsets, random_bytes, d_current, n_inputs):
    """Fast path of rate_weight_grad_reference, with the bright/dim split of rate_current_kernel:

        dW_j += sum_t dI[t] - sum_{t: j silent} dI[t]   (bright j),      dW_j += sum_{t: j fired} dI[t]   (dim j).

    One partial dW per chunk of the batch (``rate_weight_grad_block``), summed in a fixed order; the exception
    steps two at a time.
    """
    _, batch, n = d_current.shape
    partial = np.zeros((min(batch, N_CHUNKS), n_inputs, n), d_current.dtype)
    run_parts(rate_weight_grad_block, partial.shape[0], pixel_index, pixel_level, offsets, random_bytes, d_current,
              partial, d_current.dtype.type(1), longest_sample(offsets))
    return sum_chunks(partial)


@numba.njit(cache=True, nogil=True)
def rate_weight_grad_block(first, end, pixel_index, pixel_level, offsets, random_bytes, d_current, partial, one,
                           longest):
    """rate_weight_grad_kernel's work on the chunks [first, end) of the batch, each into its partial[chunk];
    ``one`` in the arrays' dtype, ``longest`` as in ``rate_current_block``."""
    num_steps, batch, n = d_current.shape
    n_chunks = partial.shape[0]
    steps, total = np.empty(num_steps + 1, np.int64), scratch(n, d_current)   # steps: written before read
    sign, flip, below, mask = habit_scratch(longest, num_steps, d_current)
    for chunk in range(first, end):
        for b in range(chunk * batch // n_chunks, (chunk + 1) * batch // n_chunks):
            start, count = offsets[b], offsets[b + 1] - offsets[b]
            habit_breaks(pixel_level, random_bytes, start, count, num_steps, sign, flip, below, mask)
            fill(total, one - one)
            for t in range(num_steps):
                add_into(total, d_current[t, b])
            for k in range(count):
                m = 0
                for t in range(num_steps):           # the steps at which pixel k breaks its habit
                    steps[m] = t
                    m += mask[t * count + k]
                row, s = partial[chunk, pixel_index[start + k]], sign[k]
                if s < 0:
                    add_into(row, total)
                for q in range(0, m - 1, 2):
                    t1, t2 = steps[q], steps[q + 1]
                    for h in range(n):
                        row[h] += s * (d_current[t1, b, h] + d_current[t2, b, h])
                if m % 2:
                    add_scaled_into(row, s, d_current[steps[m - 1], b])
