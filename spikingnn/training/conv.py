"""Convolutional layers of a trainable spiking network: convolution, pooling and flattening, each a forward that
returns ``(out, cache)`` and a backward that consumes the cache (as the dense layers of ``layers.py``).

The neuron here: the LIF / ALIF of neurons.py, exact step, training_lif_params (a convolution only makes the
current; ``layers.neuron_forward`` runs the neurons on it, one per position and channel).

A convolutional stage of ``arch.py`` turns the spike maps of the layer below into a current map and, optionally,
pools it before the neurons integrate it (as snnTorch's tutorial 6: ``lif(max_pool2d(conv(x)))``)::

    I[t] = pool(conv(x[t], W) + b)          x[t]: (B, H, W, c_in) spikes,  W: (k, k, c_in, c_out),  b: (c_out,)

Maps are channels-last and time-first, ``(T, B, H, W, C)``; the neurons see them flattened, ``(T, B, H W C)``, and
so does a dense layer after them (flatten is a reshape: its backward is the reshape back). The convolution's
equations, its event-driven kernels and its im2col references are in ``spikingnn.kernels.conv``.

``backend='numba'`` runs the event-driven convolution when the input is sparse enough (``CONV_EVENT_DENSITY``)
and the Numba pooling kernels; ``backend='numpy'`` the references. Both compute the same numbers
(``tests/test_conv.py``).
"""
from __future__ import annotations

from typing import NamedTuple

import numpy as np

from spikingnn.kernels import conv as conv_kernels
from spikingnn.training.layers import pick_kernel, sum_leading_axes

# With backend 'numba' a convolution runs on events when fewer than this fraction of its inputs are non-zero.
# Measured on 2 cores (64C5 on 12x12x12 maps, 3,200 frames): the event kernel is 7x faster than im2col + BLAS at
# 2 % density, 2x at 20 %, 1.3x at 40 %; dense input (analog pictures) goes to BLAS.
CONV_EVENT_DENSITY = 0.5


class ConvCache(NamedTuple):
    x: np.ndarray           # (N, H, W, c_in) input frames
    weights: np.ndarray     # (k, k, c_in, c_out)
    stride: int
    padding: int
    backend: str            # the kernels used: 'numba' (events) or 'numpy' (im2col and BLAS)


def conv_forward(x, weights, bias, stride=1, padding=0, backend="numba"):
    """I = conv(x, W) + b for frames x (N, H, W, c_in) -> (N, H_out, W_out, c_out)
    (H_out = floor((H + 2 padding - k) / stride) + 1)."""
    x = np.ascontiguousarray(x, dtype=weights.dtype)
    if backend == "numba" and np.count_nonzero(x) >= CONV_EVENT_DENSITY * x.size:
        backend = "numpy"
    current = pick_kernel(conv_kernels, "conv_current", backend)(x, weights, bias, stride, padding)
    return current, ConvCache(x, weights, stride, padding, backend)


def conv_backward(d_current, cache, need_dx=True):
    """Gradients of conv_forward from dI (N, H_out, W_out, c_out): dx (N, H, W, c_in) (None unless ``need_dx``),
    dW (k, k, c_in, c_out) and db = sum dI over frames and positions (c_out,)."""
    c = cache
    d_current = np.ascontiguousarray(d_current, c.weights.dtype)
    d_w = pick_kernel(conv_kernels, "conv_weight_grad", c.backend)(c.x, d_current, c.weights.shape[0], c.stride,
                                                                   c.padding)
    d_x = None
    if need_dx:
        d_x = pick_kernel(conv_kernels, "conv_input_grad", c.backend)(d_current, c.weights, c.x.shape[1:3], c.stride,
                                                                      c.padding)
    return d_x, d_w, sum_leading_axes(d_current)


class PoolCache(NamedTuple):
    kind: str               # 'max', 'avg' or 'sum'
    size: int
    input_hw: tuple         # (H, W) of the map before pooling
    argmax: np.ndarray      # max pooling: where each window's maximum was (int32); else empty
    backend: str


def pool_forward(x, kind, size, backend="numba"):
    """p x p pooling with stride p of frames x (N, H, W, C) -> (N, H // p, W // p, C).

    'max' keeps each window's largest entry, 'avg' its mean, 'sum' its sum (NIR's SumPool2d); rows and columns
    beyond the last whole window are dropped (PyTorch's floor mode).
    """
    argmax = np.zeros((0,), np.int32)
    if kind == "max":
        pooled, argmax = pick_kernel(conv_kernels, "max_pool", backend)(np.ascontiguousarray(x), size)
    else:
        pooled = conv_kernels.sum_pool(x, size)
        if kind == "avg":
            pooled /= size * size
    return pooled, PoolCache(kind, size, tuple(x.shape[1:3]), argmax, backend)


def pool_backward(d_pooled, cache):
    """dx (N, H, W, C) of pool_forward: to each window's maximum ('max'), or spread evenly ('avg': / p^2; 'sum')."""
    c = cache
    if c.kind == "max":
        return pick_kernel(conv_kernels, "max_pool_backward", c.backend)(np.ascontiguousarray(d_pooled), c.argmax,
                                                                         c.size, c.input_hw)
    d_x = conv_kernels.sum_pool_backward(d_pooled, c.size, c.input_hw)
    return d_x / (c.size * c.size) if c.kind == "avg" else d_x


# ------------------------------------------------------------------------------- a convolutional stage
class StageCache(NamedTuple):
    conv: ConvCache
    pool: PoolCache | None
    pooled_shape: tuple     # (N, H, W, C) frames of the stage's current, after pooling


def conv_stage_forward(x, stage, input_shape, weights, bias, backend="numba"):
    """The current of a convolutional ``arch.Stage``: pool(conv(x) + b) for time-first flattened maps x (L, B, H W C)
    of ``input_shape`` (H, W, C) -> (L, B, n_out), flattened channels-last as the neurons see it."""
    frames = x.reshape(-1, *input_shape)
    current, conv_cache = conv_forward(frames, weights, bias, stage.stride, stage.padding, backend)
    pool_cache = None
    if stage.pool:
        current, pool_cache = pool_forward(current, stage.pool, stage.pool_size, backend)
    return current.reshape(*x.shape[:2], -1), StageCache(conv_cache, pool_cache, current.shape)


def conv_stage_backward(d_current, cache, need_dx=True):
    """Gradients of conv_stage_forward from dI (L, B, n_out): dx (L, B, H W C) (None unless ``need_dx``), dW, db."""
    d_frames = d_current.reshape(cache.pooled_shape)
    if cache.pool is not None:
        d_frames = pool_backward(d_frames, cache.pool)
    d_x, d_w, d_b = conv_backward(d_frames, cache.conv, need_dx)
    return (None if d_x is None else d_x.reshape(*d_current.shape[:2], -1)), d_w, d_b
