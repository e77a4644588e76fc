"""Convolution and pooling of spike maps, forward and backward: the kernels of ``spikingnn/training/conv.py``.

Maps are channels-last frames ``(N, height, width, channels)`` (N = T B: every time step of every sample is a
frame), and a convolution's weights are ``(size, size, c_in, c_out)``. With stride s and zero padding p, output
(i, j) of a ``size`` x ``size`` convolution sees the inputs (s i - p + ky, s j - p + kx), 0 <= ky, kx < size::

    I[n, i, j, o] = b[o] + sum_{ky, kx, c} x[n, s i - p + ky, s j - p + kx, c] W[ky, kx, c, o]
    dW[ky, kx, c, o] = sum_{n, i, j} x[n, s i - p + ky, s j - p + kx, c] dI[n, i, j, o]
    dx[n, y, x, c]   = sum_{i, j, ky, kx, o: s i - p + ky = y, s j - p + kx = x} W[ky, kx, c, o] dI[n, i, j, o]

The references gather each receptive field into a row (im2col: the windows of ``receptive_fields``) and leave the
sums to one matrix product (BLAS). The Numba kernels go by events instead: a non-zero input scatters its kernel
slice W[:, :, c, :] to the outputs it touches, and adds its share of dW from the same outputs, so their work grows
with the number of spikes, not the size of the map (the dense layers' idea, ``kernels/projection.py``). The input
gradient dx is dense (every output carries a gradient): BLAS spreads each output's gradient over its window in
both, and the kernel adds the windows back in place with Numba (col2im). Scattering only the non-zero gradients
instead (after 2 x 2 max pooling, 3 in 4 are zero) did 4x less arithmetic but took 3.4x as long as BLAS and col2im
(64C5, 1,280 frames, CPU time on one thread: 146 against 43 ms, with each scattered run padded to whole vectors).

Max pooling keeps, for each p x p window, the first largest entry (row-major within the window, as PyTorch) and its
position, and sends the gradient back there only; its kernel and reference return the same arrays. Weight gradients
of the kernels are summed over ``N_GRAD_CHUNKS`` fixed chunks of the frames in a fixed order: results do not depend
on the number of threads. The threads (``threads.run_parts``) take blocks of frames, or chunks for the weight
gradient and the input gradient (whose BLAS products run side by side on them). These kernels were Numba
``parallel=True`` functions until 2026-12-02: on ``run_parts`` they compiled 2.5x faster but a conv network trained
7-8 % slower, until ``run_parts``'s helpers polled for work instead of sleeping between kernels (then 60 batches of
the tutorial-6 network: 3.71-3.79 s against 3.85-4.16 s with ``prange``; the helpers' polling had made the ``prange``
kernels 5 % slower, their OpenMP threads sharing a core with it).
"""
from __future__ import annotations

import numba
import numpy as np

from spikingnn.kernels.projection import copy_into, fill, sum_chunks
from spikingnn.kernels.threads import run_parts

FRAME_CHUNK = 256     # frames per matrix product in the references: bounds the im2col copy (~20 MB for 64C5)
CACHE_CHUNK = 32      # frames per product in conv_input_grad_kernel: its windows stay in cache for _col2im (2x faster)
N_GRAD_CHUNKS = 8     # partial dW sums of conv_weight_grad_kernel: fixed, not the thread count (reproducible)


def output_size(size_in: int, size: int, stride: int, padding: int) -> int:
    """Output height (or width) of a convolution: floor((size_in + 2 padding - size) / stride) + 1."""
    return (size_in + 2 * padding - size) // stride + 1


def receptive_fields(x, size: int, stride: int, padding: int) -> np.ndarray:
    """The windows of a convolution as a view: (N, H_out, W_out, c_in, size, size) of frames x (N, H, W, c_in)."""
    if padding:
        x = np.pad(x, ((0, 0), (padding, padding), (padding, padding), (0, 0)))
    windows = np.lib.stride_tricks.sliding_window_view(x, (size, size), axis=(1, 2))
    return windows[:, ::stride, ::stride]


def conv_current_reference(x, weights, bias, stride, padding):
    """I = conv(x, W) + b by im2col and BLAS. x: (N, H, W, c_in); weights (k, k, c_in, c_out) -> (N, Ho, Wo, c_out)."""
    k, c_out = weights.shape[0], weights.shape[3]
    ho, wo = (output_size(n, k, stride, padding) for n in x.shape[1:3])
    matrix = weights.transpose(2, 0, 1, 3).reshape(-1, c_out)       # rows in the windows' (c, ky, kx) order
    current = np.empty((x.shape[0], ho, wo, c_out), weights.dtype)
    for start in range(0, x.shape[0], FRAME_CHUNK):
        fields = receptive_fields(x[start:start + FRAME_CHUNK], k, stride, padding)
        current[start:start + FRAME_CHUNK] = fields.reshape(*fields.shape[:3], -1) @ matrix + bias
    return current


@numba.njit(cache=True, inline="always")
def _touched(y, stride, padding, n_out, k):
    """The output row (or column) that input row y reaches through kernel row k, or -1 if none."""
    shifted = y + padding - k
    if shifted < 0 or shifted % stride != 0 or shifted // stride >= n_out:
        return -1
    return shifted // stride


def conv_current_kernel(x, weights, bias, stride, padding):
    """Fast path of conv_current_reference: each non-zero input adds its slice of the kernel to the outputs it
    reaches, the threads taking blocks of frames (``conv_current_block``)."""
    k, c_out = weights.shape[0], weights.shape[3]
    ho, wo = (output_size(n, k, stride, padding) for n in x.shape[1:3])
    current = np.empty((x.shape[0], ho, wo, c_out), weights.dtype)
    run_parts(conv_current_block, x.shape[0], x, weights, bias, stride, padding, current)
    return current


@numba.njit(cache=True, nogil=True)
def conv_current_block(first, end, x, weights, bias, stride, padding, current):
    """conv_current_kernel's work on the frames [first, end), written into ``current`` (N, Ho, Wo, c_out)."""
    h, w, c_in = x.shape[1], x.shape[2], x.shape[3]
    k, c_out = weights.shape[0], weights.shape[3]
    ho, wo = current.shape[1], current.shape[2]
    for f in range(first, end):
        out = current[f]
        for i in range(ho):
            for j in range(wo):
                copy_into(out[i, j], bias)
        for y in range(h):
            for xx in range(w):
                for c in range(c_in):
                    value = x[f, y, xx, c]
                    if value == 0.0:
                        continue
                    for ky in range(k):
                        i = _touched(y, stride, padding, ho, ky)
                        if i < 0:
                            continue
                        for kx in range(k):
                            j = _touched(xx, stride, padding, wo, kx)
                            if j < 0:
                                continue
                            for o in range(c_out):
                                out[i, j, o] += value * weights[ky, kx, c, o]


def conv_weight_grad_reference(x, d_current, size, stride, padding):
    """dW (size, size, c_in, c_out) of conv_current_reference, from x (N, H, W, c_in) and dI (N, Ho, Wo, c_out)."""
    c_in, c_out = x.shape[3], d_current.shape[3]
    d_matrix = np.zeros((c_in * size * size, c_out), d_current.dtype)
    for start in range(0, x.shape[0], FRAME_CHUNK):
        fields = receptive_fields(x[start:start + FRAME_CHUNK], size, stride, padding)
        d_matrix += fields.reshape(-1, d_matrix.shape[0]).T @ d_current[start:start + FRAME_CHUNK].reshape(-1, c_out)
    return d_matrix.reshape(c_in, size, size, c_out).transpose(1, 2, 0, 3).copy()


def conv_weight_grad_kernel(x, d_current, size, stride, padding):
    """Fast path of conv_weight_grad_reference: each non-zero input adds x dI of the outputs it reached, into a
    partial dW per chunk of the frames (``conv_weight_grad_block``), summed in a fixed order."""
    partial = np.zeros((min(x.shape[0], N_GRAD_CHUNKS), size, size, x.shape[3], d_current.shape[3]), d_current.dtype)
    run_parts(conv_weight_grad_block, partial.shape[0], x, d_current, stride, padding, partial)
    return sum_chunks(partial)


@numba.njit(cache=True, nogil=True)
def conv_weight_grad_block(first, end, x, d_current, stride, padding, partial):
    """conv_weight_grad_kernel's work on the chunks [first, end) of the frames, each into its partial[chunk]."""
    n, h, w, c_in = x.shape
    ho, wo, c_out = d_current.shape[1], d_current.shape[2], d_current.shape[3]
    n_chunks, size = partial.shape[0], partial.shape[1]
    for chunk in range(first, end):
        d_w = partial[chunk]
        for f in range(chunk * n // n_chunks, (chunk + 1) * n // n_chunks):
            for y in range(h):
                for xx in range(w):
                    for c in range(c_in):
                        value = x[f, y, xx, c]
                        if value == 0.0:
                            continue
                        for ky in range(size):
                            i = _touched(y, stride, padding, ho, ky)
                            if i < 0:
                                continue
                            for kx in range(size):
                                j = _touched(xx, stride, padding, wo, kx)
                                if j < 0:
                                    continue
                                for o in range(c_out):
                                    d_w[ky, kx, c, o] += value * d_current[f, i, j, o]


def _windows_gradient(d_current, weights, start, stop):
    """dI @ W^T for frames start:stop: each output's gradient spread over its window, (n, Ho, Wo, k, k, c_in)."""
    k, c_in, c_out = weights.shape[0], weights.shape[2], weights.shape[3]
    d_fields = d_current[start:stop].reshape(-1, c_out) @ weights.reshape(-1, c_out).T      # columns (ky, kx, c)
    return d_fields.reshape(-1, *d_current.shape[1:3], k, k, c_in)


def conv_input_grad_reference(d_current, weights, input_hw, stride, padding):
    """dx (N, H, W, c_in) of the convolution from dI (N, Ho, Wo, c_out): each output's gradient spread over its
    window through the kernel (BLAS: dI @ W^T), and the windows added back in place (col2im)."""
    k, ho, wo = weights.shape[0], d_current.shape[1], d_current.shape[2]
    (h, w), n = input_hw, d_current.shape[0]
    padded = np.zeros((n, h + 2 * padding, w + 2 * padding, weights.shape[2]), d_current.dtype)
    for start in range(0, n, FRAME_CHUNK):
        d_fields = _windows_gradient(d_current, weights, start, start + FRAME_CHUNK)
        target = padded[start:start + FRAME_CHUNK]
        for ky in range(k):
            for kx in range(k):
                target[:, ky:ky + stride * (ho - 1) + 1:stride, kx:kx + stride * (wo - 1) + 1:stride] += \
                    d_fields[:, :, :, ky, kx]
    return padded[:, padding:padding + h, padding:padding + w]


def conv_input_grad_kernel(d_current, weights, input_hw, stride, padding):
    """Fast path of conv_input_grad_reference: the same products (BLAS), the windows added back by ``_col2im``, in
    chunks of CACHE_CHUNK frames shared out to the kernels' threads (``threads.run_parts``). Training keeps BLAS
    on one thread (``SNNClassifier.fit``), so these threads are what runs the products side by side: the input
    gradient of 64C5 on 1,280 frames took 42-47 ms in a training step with the chunks in turn, 25 ms shared out
    (2 threads). Called where BLAS has threads of its own, each chunk's product uses them too: the same numbers,
    more threads than cores."""
    (h, w), n = input_hw, d_current.shape[0]
    dx = np.empty((n, h, w, weights.shape[2]), d_current.dtype)
    run_parts(_input_grad_chunks, -(-n // CACHE_CHUNK), d_current, weights, stride, padding, dx)
    return dx


def _input_grad_chunks(first, end, d_current, weights, stride, padding, dx):
    """conv_input_grad_kernel's chunks [first, end): dI @ W^T by BLAS (which lets go of the GIL), then col2im."""
    for chunk in range(first, end):
        start, stop = chunk * CACHE_CHUNK, (chunk + 1) * CACHE_CHUNK
        _col2im(_windows_gradient(d_current, weights, start, stop), stride, padding, dx[start:stop])


@numba.njit(cache=True, nogil=True)
def _col2im(d_fields, stride, padding, dx):
    """dx[f] = the windows d_fields[f] (Ho, Wo, k, k, c) added back where they were taken (padding dropped)."""
    n, ho, wo, k, _, c_in = d_fields.shape
    h, w = dx.shape[1], dx.shape[2]
    for f in range(n):
        dx[f] = 0.0
        for i in range(ho):
            for ky in range(k):
                y = stride * i - padding + ky
                if y < 0 or y >= h:
                    continue
                for j in range(wo):
                    for kx in range(k):
                        x = stride * j - padding + kx
                        if 0 <= x < w:
                            for c in range(c_in):
                                dx[f, y, x, c] += d_fields[f, i, j, ky, kx, c]


# ------------------------------------------------------------------------------------------ max pooling
def max_pool_reference(x, size):
    """p x p max pooling with stride p (rows and columns beyond a whole window dropped). x: (N, H, W, C).

    Returns the maxima (N, H // p, W // p, C) and where each was, ``argmax`` (same shape, int32, ky p + kx within the
    window; the first one of a tie).
    """
    n, h, w, c = x.shape
    hp, wp = h // size, w // size
    windows = x[:, :hp * size, :wp * size].reshape(n, hp, size, wp, size, c).transpose(0, 1, 3, 5, 2, 4)
    flat = windows.reshape(n, hp, wp, c, size * size)
    argmax = np.argmax(flat, axis=-1)
    return np.take_along_axis(flat, argmax[..., None], axis=-1)[..., 0], argmax.astype(np.int32)


def max_pool_kernel(x, size):
    """Fast path of max_pool_reference, the threads taking blocks of frames (``max_pool_block``). The loop over
    channels is written with selects, not branches, and ``argmax`` is int32 like the comparison's lanes, so that it
    vectorises: (1280, 8, 8, 64) frames, one thread, 23 -> 9 ms (with an int8 argmax the same loop stayed scalar)."""
    n, h, w, c = x.shape
    hp, wp = h // size, w // size
    pooled = np.empty((n, hp, wp, c), x.dtype)
    argmax = np.zeros((n, hp, wp, c), np.int32)
    run_parts(max_pool_block, n, x, size, pooled, argmax)
    return pooled, argmax


@numba.njit(cache=True, nogil=True)
def max_pool_block(first, end, x, size, pooled, argmax):
    """max_pool_kernel's work on the frames [first, end), written into ``pooled`` and ``argmax``."""
    hp, wp, c = pooled.shape[1], pooled.shape[2], pooled.shape[3]
    for f in range(first, end):
        for i in range(hp):
            for j in range(wp):
                best, where = pooled[f, i, j], argmax[f, i, j]
                copy_into(best, x[f, i * size, j * size])
                for ky in range(size):
                    for kx in range(size):
                        row, k = x[f, i * size + ky, j * size + kx], np.int32(ky * size + kx)
                        for ch in range(c):
                            better = row[ch] > best[ch]
                            best[ch] = row[ch] if better else best[ch]
                            where[ch] = k if better else where[ch]


def max_pool_backward_reference(d_pooled, argmax, size, input_hw):
    """dx (N, H, W, C) of max pooling: each window's gradient to the entry that was its maximum, zero elsewhere."""
    n, hp, wp, c = d_pooled.shape
    one_hot = argmax[..., None] == np.arange(size * size)                       # (N, hp, wp, C, p p)
    d_windows = (one_hot * d_pooled[..., None]).reshape(n, hp, wp, c, size, size).transpose(0, 1, 4, 2, 5, 3)
    dx = np.zeros((n, *input_hw, c), d_pooled.dtype)
    dx[:, :hp * size, :wp * size] = d_windows.reshape(n, hp * size, wp * size, c)
    return dx


def max_pool_backward_kernel(d_pooled, argmax, size, input_hw):
    """Fast path of max_pool_backward_reference: every entry of a window is written, the gradient where the maximum
    was and zero elsewhere, by selects that vectorise (the scatter to ``argmax``'s place took 2-2.6x as long:
    (1280, 8, 8, 64) frames, one thread, 15 -> 6-7 ms). As the windows are written whole, only the rows and columns
    beyond the last whole window are zeroed first (zeroing all of dx as well: 2.8-3.8 against 1.9-2.1 ms, another
    hour of the machine). The threads take blocks of frames (``max_pool_backward_block``)."""
    n, _, _, c = d_pooled.shape
    dx = np.empty((n, *input_hw, c), d_pooled.dtype)
    run_parts(max_pool_backward_block, n, d_pooled, argmax, size, dx)
    return dx


@numba.njit(cache=True, nogil=True)
def max_pool_backward_block(first, end, d_pooled, argmax, size, dx):
    """max_pool_backward_kernel's work on the frames [first, end) of ``dx``."""
    hp, wp, c = d_pooled.shape[1], d_pooled.shape[2], d_pooled.shape[3]
    h, w = dx.shape[1], dx.shape[2]
    for f in range(first, end):
        for y in range(h):                  # beyond the last whole window: the last rows, or a row's last columns
            for x in range(wp * size if y < hp * size else 0, w):
                fill(dx[f, y, x], 0.0)
        for i in range(hp):
            for j in range(wp):
                d, where = d_pooled[f, i, j], argmax[f, i, j]
                for ky in range(size):
                    for kx in range(size):
                        out, k = dx[f, i * size + ky, j * size + kx], ky * size + kx
                        for ch in range(c):
                            out[ch] = d[ch] if where[ch] == k else 0 * d[ch]


# ------------------------------------------------------------------------------ average and sum pooling
def sum_pool(x, size):
    """p x p sum pooling with stride p (NIR's SumPool2d): (N, H, W, C) -> (N, H // p, W // p, C). Average pooling
    is this divided by p^2. Plain NumPy is fast here (a reshape and a sum, no copy), so there is no kernel."""
    n, h, w, c = x.shape
    hp, wp = h // size, w // size
    return x[:, :hp * size, :wp * size].reshape(n, hp, size, wp, size, c).sum(axis=(2, 4))


def sum_pool_backward(d_pooled, size, input_hw):
    """dx of sum_pool: every entry of a window receives the window's gradient (zero for dropped rows/columns)."""
    n, hp, wp, c = d_pooled.shape
    dx = np.zeros((n, *input_hw, c), d_pooled.dtype)
    dx[:, :hp * size, :wp * size] = np.broadcast_to(
        d_pooled[:, :, None, :, None], (n, hp, size, wp, size, c)).reshape(n, hp * size, wp * size, c)
    return dx
