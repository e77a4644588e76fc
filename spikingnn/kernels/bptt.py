"""Kernels of surrogate-gradient training: each Numba kernel beside its plain-NumPy reference.

The readable story is in ``spikingnn/training/layers.py``; this module holds the array-in/array-out pieces it
runs, twice: a ``*_reference`` function in plain NumPy (the equations, vectorised over the batch) and a
``*_kernel`` with the same arguments and the same result, written as explicit loops that Numba compiles.
``tests/test_bptt_kernels.py`` ties each pair on random inputs.

Arrays are time-first: ``(T, B, n)`` for T steps, B samples, n neurons. Shapes in each docstring.

Where the kernels are fast, and why
-----------------------------------
* **Events, not matrices.** Input spikes are binary and mostly zero (~13 % for rate-coded MNIST). The synaptic
  current ``I[t] = b + s[t] @ W`` is therefore accumulated over the active inputs only, one weight row per
  spike, and so is the weight gradient ``dW = sum_t s[t]^T dI[t]``. (Hidden spikes use these kernels when they
  are sparse enough to beat BLAS: see ``EVENT_DENSITY`` in ``spikingnn/training/layers.py``.)
* **Rate coding inside the kernel.** Rate-coded input spikes are never stored: the kernel draws them from
  random bytes (see :func:`rate_spikes_reference`) as it accumulates, and the backward pass regenerates the
  same spikes from the same bytes. Pixels that are 0 can never fire and get no byte at all. Bright pixels,
  which fire at most steps, are counted once per sample and corrected where they stay silent, so the work of
  a step follows the randomness of the code, not its number of spikes (:func:`rate_current_kernel`).
* **Threads.** ``prange`` runs over the samples of the batch (forward, BPTT) or over 8 fixed chunks of
  the batch (weight gradients, one partial dW each, summed in a fixed order): results do not depend on the
  number of threads, and a run is reproducible bit for bit.

Surrogate functions are selected by an integer code (the kernels cannot take Python objects); the records in
``spikingnn/training/surrogate.py`` carry the code, the slope, the formulas and the papers.
"""
from __future__ import annotations


import numba
import numpy as np
from numba import prange

# Integer codes of the reset modes and surrogates (kernels compare with the literals: no globals in kernels).
RESET_SUBTRACT, RESET_ZERO, READOUT = 0, 1, 2     # READOUT: never fires, never resets (a leaky integrator)
FAST_SIGMOID, ARCTAN, TRIANGLE, SIGMOID = 0, 1, 2, 3


def project(x, weights):
    """x @ weights for time-first x (T, B, n_in) as one 2-D GEMM (a stacked matmul is ~10x slower): (T, B, n_out)."""
    return (x.reshape(-1, x.shape[-1]) @ weights).reshape(*x.shape[:-1], weights.shape[1])


# ------------------------------------------------------------------------------------------ surrogates
@numba.njit(cache=True)
def surrogate_grad(code, slope, x):
    """Surrogate derivative dS/dx of the spike S = H(x), x = v - threshold (formulas in training/surrogate.py).

    Written with NumPy ufuncs only, so that ``surrogate_grad.py_func`` also works on whole arrays.
    """
    if code == 0:  # FAST_SIGMOID
        return 1.0 / (1.0 + slope * np.abs(x)) ** 2
    if code == 1:  # ARCTAN
        return 0.5 * slope / (1.0 + (0.5 * np.pi * slope * x) ** 2)
    if code == 2:  # TRIANGLE
        return slope * np.maximum(0.0, 1.0 - slope * np.abs(x))
    # k s (1 - s) with s = sigma(k x), written as k / (4 cosh^2(k x / 2)): no cancellation where s is near 0 or 1
    return 0.25 * slope / np.cosh(0.5 * slope * x) ** 2


@numba.njit(cache=True)
def surrogate_smooth(code, slope, x):
    """A smooth function whose derivative is ``surrogate_grad`` (used instead of H for gradient checks)."""
    if code == 0:  # FAST_SIGMOID
        return x / (1.0 + slope * np.abs(x))
    if code == 1:  # ARCTAN
        return 0.5 + np.arctan(0.5 * np.pi * slope * x) / np.pi
    if code == 2:  # TRIANGLE
        u = np.minimum(np.maximum(x, -1.0 / slope), 1.0 / slope)
        return 0.5 + slope * u - 0.5 * slope * slope * u * np.abs(u)
    return 0.5 * (1.0 + np.tanh(0.5 * slope * x))


@numba.njit(cache=True)
def _add_scaled(out, scale, x):
    """out += scale x for 1-D arrays, as a loop: the NumPy expression, inside a kernel, would allocate a temporary
    for every call, and these calls come thousands of times per batch. ``scale`` should have the arrays' dtype
    (a float64 scale would turn float32 arithmetic into float64 and back)."""
    for h in range(out.shape[0]):
        out[h] += scale * x[h]


@numba.njit(cache=True)
def _add(out, x):
    """out += x for 1-D arrays, as a loop (see ``_add_scaled``)."""
    for h in range(out.shape[0]):
        out[h] += x[h]


# ------------------------------------------------------------------------- spiking neurons through time
def neuron_forward_reference(current, beta, v_threshold, rho, beta_adapt, w_rec, reset_code, surrogate_code,
                             slope, smooth, reset_spikes):
    """Run a layer of LIF/ALIF neurons over T steps from v = a = s = 0.

        a[t]   = rho (a[t-1] + s[t-1])                       adaptation (ALIF; beta_adapt = 0 gives LIF)
        thr[t] = v_threshold + beta_adapt a[t]
        i[t]   = current[t] + s[t-1] @ w_rec                  (w_rec of shape (0, 0): no recurrence)
        v[t]   = beta v[t-1] + i[t] - r[t-1] thr[t-1]         reset_code RESET_SUBTRACT
        v[t]   = beta v[t-1] (1 - r[t-1]) + i[t]              reset_code RESET_ZERO
        s[t]   = H(v[t] - thr[t])  (strict >), or surrogate_smooth(v[t] - thr[t]) when ``smooth``
                 (s = 0 always with reset_code READOUT: the neurons only integrate, for membrane losses)

    r = s, the layer's own spikes, unless ``reset_spikes`` (T, B, H) is non-empty: then the reset is driven by
    those fixed spikes (gradient checks of the detached reset). v is the membrane before its own reset, as in
    snnTorch's ``Leaky``. current: (T, B, H); beta, v_threshold: (H,). Returns v, s, thr, each (T, B, H).
    """
    v, s, thr = np.zeros_like(current), np.zeros_like(current), np.zeros_like(current)
    v_prev, s_prev, a = np.zeros_like(current[0]), np.zeros_like(current[0]), np.zeros_like(current[0])
    thr_prev, r_prev = v_threshold + 0.0 * v_prev, s_prev
    for t in range(current.shape[0]):
        a = rho * (a + s_prev)
        thr[t] = v_threshold + beta_adapt * a
        i = current[t] + s_prev @ w_rec if w_rec.size else current[t]
        if reset_code == 1:
            v[t] = beta * v_prev * (1.0 - r_prev) + i
        else:
            v[t] = beta * v_prev + i - r_prev * thr_prev
        x = v[t] - thr[t]
        if reset_code != 2:
            s[t] = surrogate_smooth.py_func(surrogate_code, slope, x) if smooth else x > 0.0
        v_prev, s_prev, thr_prev = v[t], s[t], thr[t]
        r_prev = reset_spikes[t] if reset_spikes.size else s[t]
    return v, s, thr


@numba.njit(cache=True, parallel=True)
def neuron_forward_kernel(current, beta, v_threshold, rho, beta_adapt, w_rec, reset_code, surrogate_code,
                          slope, smooth, reset_spikes):
    """Fast path of neuron_forward_reference: same arguments, same result (a thread per sample).

    Each step runs two branch-free loops over the neurons (membrane, then spikes) so that both vectorise; they
    write v, thr and s in place. ``rho``, ``beta_adapt`` and ``slope`` should have the arrays' dtype (the layers
    pass them so): a float64 number would turn float32 arithmetic into float64 and back.
    """
    n_steps, batch, n = current.shape
    v, s, thr = np.empty_like(current), np.empty_like(current), np.empty_like(current)
    fixed_reset, recurrent = reset_spikes.size > 0, w_rec.size > 0
    one = np.ones(1, current.dtype)[0]
    for b in prange(batch):
        v_prev, s_prev, thr_prev = np.zeros(n, v.dtype), np.zeros(n, v.dtype), np.zeros(n, v.dtype)
        a, i, r_fixed = np.zeros(n, v.dtype), np.empty(n, v.dtype), np.zeros(n, v.dtype)
        for t in range(n_steps):
            cur = current[t, b]
            if recurrent:
                i[:] = cur
                for j in range(n):
                    if s_prev[j] != 0.0:
                        _add_scaled(i, s_prev[j], w_rec[j])
                cur = i
            r_prev = r_fixed if fixed_reset else s_prev      # the spikes that reset the membrane now
            v_t, s_t, thr_t = v[t, b], s[t, b], thr[t, b]
            for h in range(n):
                a[h] = rho * (a[h] + s_prev[h])
                if reset_code == 1:
                    v_prev[h] = beta[h] * v_prev[h] * (one - r_prev[h]) + cur[h]
                else:
                    v_prev[h] = beta[h] * v_prev[h] + cur[h] - r_prev[h] * thr_prev[h]
                thr_prev[h] = v_threshold[h] + beta_adapt * a[h]
                v_t[h], thr_t[h] = v_prev[h], thr_prev[h]
            if reset_code == 2:
                s_prev[:] = 0.0
            elif smooth:
                for h in range(n):
                    s_prev[h] = surrogate_smooth(surrogate_code, slope, v_prev[h] - thr_prev[h])
            else:
                for h in range(n):
                    s_prev[h] = one if v_prev[h] > thr_prev[h] else 0 * one
            s_t[:] = s_prev
            if fixed_reset:
                r_fixed[:] = reset_spikes[t, b]
    return v, s, thr


def neuron_backward_reference(d_s, d_v_out, v, s, thr, beta, rho, beta_adapt, w_rec, reset_code, detach_reset,
                              surrogate_code, slope, reset_spikes):
    """Backpropagation through time of neuron_forward_reference, walking t from T-1 down to 0.

    With g[t] = surrogate_grad(v[t] - thr[t]) in place of H'(.) and r = s (or the fixed ``reset_spikes``):

        dS[t]   = d_s[t] + dv[t+1] @ w_rec.T + rho da[t+1]            every path from s[t] into step t+1 ...
                  - thr[t] dv[t+1]        (subtract)  |  - beta v[t] dv[t+1]   (zero)
                                                                      ... the last term only if not detach_reset
        dv[t]   = dS[t] g[t] + d_v_out[t] + beta dv[t+1]  (subtract)  |  beta (1 - r[t]) dv[t+1]   (zero)
        dthr[t] = -dS[t] g[t] - r[t] dv[t+1]   (subtract: the reset removes thr[t])
        da[t]   = beta_adapt dthr[t] + rho da[t+1]

    d_s: (T, B, H) dL/ds from above; d_v_out: (T, B, H) dL/dv from a loss on the membrane (or shape (0, 0, 0)).
    Returns dv = dL/dcurrent and dthr, each (T, B, H); the parameter gradients are sums of these (layers.py).
    """
    dv, dthr = np.zeros_like(v), np.zeros_like(v)
    dv_next, da_next = np.zeros_like(v[0]), np.zeros_like(v[0])
    n_steps, subtract = v.shape[0], reset_code != 1
    for t in reversed(range(n_steps)):
        r = reset_spikes[t] if reset_spikes.size else s[t]
        d_spike = d_s[t] + rho * da_next
        if w_rec.size:
            d_spike = d_spike + dv_next @ w_rec.T
        if not detach_reset:
            d_spike = d_spike - (thr[t] if subtract else beta * v[t]) * dv_next
        g = d_spike * (0.0 if reset_code == 2 else surrogate_grad.py_func(surrogate_code, slope, v[t] - thr[t]))
        leak = beta if subtract else beta * (1.0 - r)
        dv[t] = g + leak * dv_next + (d_v_out[t] if d_v_out.size else 0.0)
        dthr[t] = -g - (r * dv_next if subtract else 0.0)
        da_next = beta_adapt * dthr[t] + rho * da_next
        dv_next = dv[t]
    return dv, dthr


@numba.njit(cache=True, parallel=True)
def neuron_backward_kernel(d_s, d_v_out, v, s, thr, beta, rho, beta_adapt, w_rec, reset_code, detach_reset,
                           surrogate_code, slope, reset_spikes):
    """Fast path of neuron_backward_reference: same arguments, same result (a thread per sample).

    Each step first evaluates the surrogate for all neurons, then runs one branch-free loop that vectorises
    (scalars in the arrays' dtype, as for neuron_forward_kernel).
    """
    n_steps, batch, n = v.shape
    dv, dthr = np.empty_like(v), np.empty_like(v)
    fixed_reset, recurrent, has_dv_out = reset_spikes.size > 0, w_rec.size > 0, d_v_out.size > 0
    subtract, keep_reset = reset_code != 1, not detach_reset
    one = np.ones(1, v.dtype)[0]
    zero = 0 * one
    for b in prange(batch):
        da, dv_next, g = np.zeros(n, v.dtype), np.zeros(n, v.dtype), np.empty(n, v.dtype)
        d_recurrent = np.zeros(n, v.dtype)
        for t in range(n_steps - 1, -1, -1):
            v_t, thr_t, d_s_t, dv_t, dthr_t = v[t, b], thr[t, b], d_s[t, b], dv[t, b], dthr[t, b]
            if reset_code == 2:
                g[:] = 0.0
            else:
                for h in range(n):
                    g[h] = surrogate_grad(surrogate_code, slope, v_t[h] - thr_t[h])
            if recurrent:
                for h in range(n):
                    acc = zero
                    for k in range(n):
                        acc += w_rec[h, k] * dv_next[k]
                    d_recurrent[h] = acc
            r = reset_spikes[t, b] if fixed_reset else s[t, b]
            for h in range(n):
                ds = d_s_t[h] + rho * da[h] + d_recurrent[h]
                if keep_reset:
                    ds -= (thr_t[h] if subtract else beta[h] * v_t[h]) * dv_next[h]
                gh = ds * g[h]
                leak = beta[h] if subtract else beta[h] * (one - r[h])
                dv_now = gh + leak * dv_next[h] + (d_v_out[t, b, h] if has_dv_out else zero)
                dthr_now = -gh - (r[h] * dv_next[h] if subtract else zero)
                da[h] = beta_adapt * dthr_now + rho * da[h]
                dv_t[h], dthr_t[h], dv_next[h] = dv_now, dthr_now, dv_now
    return dv, dthr


# --------------------------------------------------------------------------- rate-coded input, by events
def nonzero_levels_reference(levels):
    """The non-zero entries of a batch of levels (B, n), sample after sample: ``(index, level, offsets)``.

    Sample b's entries are ``index[offsets[b]:offsets[b+1]]`` (int32, ascending) with values ``level[...]``
    (uint16); offsets: (B + 1,) int64. The sparse form in which rate-coded images reach the kernels below.
    """
    sample, pixel = np.nonzero(levels)
    offsets = np.zeros(levels.shape[0] + 1, dtype=np.int64)
    np.cumsum(np.bincount(sample, minlength=levels.shape[0]), out=offsets[1:])
    return pixel.astype(np.int32), levels[sample, pixel].astype(np.uint16), offsets


@numba.njit(cache=True)
def nonzero_levels_kernel(levels):
    """Fast path of nonzero_levels_reference: two passes over the batch (count, then copy), no temporaries."""
    batch, n = levels.shape
    offsets = np.zeros(batch + 1, np.int64)
    for b in range(batch):
        count = 0
        for k in range(n):
            count += levels[b, k] != 0
        offsets[b + 1] = offsets[b] + count
    index, level = np.empty(offsets[batch], np.int32), np.empty(offsets[batch], np.uint16)
    for b in range(batch):
        e = offsets[b]
        for k in range(n):
            if levels[b, k] != 0:
                index[e], level[e] = k, levels[b, k]
                e += 1
    return index, level, offsets


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


@numba.njit(cache=True, parallel=True)
def rate_current_kernel(pixel_index, pixel_level, offsets, random_bytes, num_steps, weights, bias):
    """Fast path of rate_current_reference: the same sums, organised so that little is added at each step.

    A bright pixel (p = level / 256 > 1/2) fires at most steps. Its weight row is added once per sample, into
    a base current, and subtracted at the steps where it stays silent; a dim pixel is added where it fires:

        I[t] = bias + sum_{bright j} W_j - sum_{bright j silent at t} W_j + sum_{dim j firing at t} W_j.

    The per-step work is proportional to sum_j min(p_j, 1 - p_j) (~21 rows for MNIST) instead of
    sum_j p_j (~102 rows). The exceptions of a step are listed branch-free, then added two rows at a time.
    """
    batch, n = offsets.size - 1, weights.shape[1]
    current = np.empty((num_steps, batch, n), weights.dtype)
    for b in prange(batch):
        start, count = offsets[b], offsets[b + 1] - offsets[b]
        exceptions = np.empty(count + 1, np.int64)
        sign = np.empty(count + 1, weights.dtype)
        base, acc = bias.copy(), np.empty(n, weights.dtype)
        for k in range(count):
            if pixel_level[start + k] > 128:
                _add(base, weights[pixel_index[start + k]])
        for t in range(num_steps):
            offset, m = num_steps * start + t * count, 0
            for k in range(count):
                bright = pixel_level[start + k] > 128
                exceptions[m] = pixel_index[start + k]
                sign[m] = -1.0 if bright else 1.0
                m += (random_bytes[offset + k] < pixel_level[start + k]) != bright
            acc[:] = base
            for q in range(0, m - 1, 2):
                j1, j2, s1, s2 = exceptions[q], exceptions[q + 1], sign[q], sign[q + 1]
                for h in range(n):
                    acc[h] += s1 * weights[j1, h] + s2 * weights[j2, h]
            if m % 2:
                _add_scaled(acc, sign[m - 1], weights[exceptions[m - 1]])
            current[t, b] = acc
    return current


def rate_weight_grad_reference(pixel_index, pixel_level, offsets, random_bytes, d_current, n_inputs):
    """dW = sum_t s[t]^T dI[t] for the rate-coded spikes s of ``rate_spikes_reference``: (n_inputs, H)."""
    num_steps, batch, n = d_current.shape
    spikes = rate_spikes_reference(pixel_index, pixel_level, offsets, random_bytes, num_steps, n_inputs)
    return spikes.reshape(-1, n_inputs).T.astype(d_current.dtype) @ d_current.reshape(-1, n)


@numba.njit(cache=True, parallel=True)
def rate_weight_grad_kernel(pixel_index, pixel_level, offsets, random_bytes, d_current, n_inputs):
    """Fast path of rate_weight_grad_reference, with the bright/dim split of rate_current_kernel:

        dW_j += sum_t dI[t] - sum_{t: j silent} dI[t]   (bright j),      dW_j += sum_{t: j fired} dI[t]   (dim j).

    One partial dW per chunk of the batch (summed in a fixed order); the exception steps two at a time.
    """
    num_steps, batch, n = d_current.shape
    n_chunks = min(batch, 8)     # fixed, not the thread count: reproducible
    partial = np.zeros((n_chunks, n_inputs, n), d_current.dtype)
    for chunk in prange(n_chunks):
        steps = np.empty(num_steps + 1, np.int64)
        total, signs = np.empty(n, d_current.dtype), np.ones(2, d_current.dtype)
        signs[1] = -1.0                              # signs[bright], in the arrays' dtype
        for b in range(chunk * batch // n_chunks, (chunk + 1) * batch // n_chunks):
            start, count = offsets[b], offsets[b + 1] - offsets[b]
            total[:] = 0.0
            for t in range(num_steps):
                _add(total, d_current[t, b])
            for k in range(count):
                level, j = pixel_level[start + k], pixel_index[start + k]
                bright = level > 128
                m = 0
                for t in range(num_steps):           # the steps at which pixel k breaks its habit
                    steps[m] = t
                    m += (random_bytes[num_steps * start + t * count + k] < level) != bright
                row = partial[chunk, j]
                if bright:
                    _add(row, total)
                sign = signs[int(bright)]
                for q in range(0, m - 1, 2):
                    t1, t2 = steps[q], steps[q + 1]
                    for h in range(n):
                        row[h] += sign * (d_current[t1, b, h] + d_current[t2, b, h])
                if m % 2:
                    _add_scaled(row, sign, d_current[steps[m - 1], b])
    return _sum_chunks(partial)


# ------------------------------------------------------------------------- spiking input, by events
def spike_current_reference(spikes, weights, bias):
    """I[t] = bias + x[t] @ weights. spikes x: (T, B, n_in), mostly zero; returns (T, B, H)."""
    return project(spikes, weights) + bias


@numba.njit(cache=True, parallel=True)
def spike_current_kernel(spikes, weights, bias):
    """Fast path of spike_current_reference: one weight row added per non-zero input."""
    num_steps, batch, n_in = spikes.shape
    n = weights.shape[1]
    current = np.empty((num_steps, batch, n), weights.dtype)
    for b in prange(batch):
        for t in range(num_steps):
            current[t, b, :] = bias
            for j in range(n_in):
                x = spikes[t, b, j]
                if x != 0.0:
                    for h in range(n):
                        current[t, b, h] += x * weights[j, h]
    return current


def spike_weight_grad_reference(spikes, d_current):
    """dW = sum_t x[t]^T dI[t]. spikes x: (T, B, n_in), d_current: (T, B, H); returns (n_in, H)."""
    return spikes.reshape(-1, spikes.shape[2]).T @ d_current.reshape(-1, d_current.shape[2])


@numba.njit(cache=True, parallel=True)
def spike_weight_grad_kernel(spikes, d_current):
    """Fast path of spike_weight_grad_reference: a partial dW per chunk of the batch, summed in a fixed order."""
    num_steps, batch, n_in = spikes.shape
    n = d_current.shape[2]
    n_chunks = min(batch, 8)     # fixed, not the thread count: reproducible
    partial = np.zeros((n_chunks, n_in, n), d_current.dtype)
    for chunk in prange(n_chunks):
        for b in range(chunk * batch // n_chunks, (chunk + 1) * batch // n_chunks):
            for t in range(num_steps):
                for j in range(n_in):
                    x = spikes[t, b, j]
                    if x != 0.0:
                        for h in range(n):
                            partial[chunk, j, h] += x * d_current[t, b, h]
    return _sum_chunks(partial)


@numba.njit(cache=True)
def _sum_chunks(partial):
    """partial[0] + partial[1] + ..., always in this order (reproducible whatever the number of threads)."""
    total = partial[0].copy()
    for chunk in range(1, partial.shape[0]):
        _add(total.reshape(-1), partial[chunk].reshape(-1))
    return total
