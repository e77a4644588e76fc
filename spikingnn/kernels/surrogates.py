"""Surrogate derivatives of the spike, for the training kernels (the records, formulas and papers are in
``spikingnn/training/surrogate.py``).

The kernels cannot take Python objects, so a surrogate reaches them as an integer code and a slope.
"""
from __future__ import annotations

import numba
import numpy as np

FAST_SIGMOID, ARCTAN, TRIANGLE, SIGMOID = 0, 1, 2, 3


@numba.njit(cache=True, error_model="numpy")
def surrogate_grad(code, slope, x):
    """Surrogate derivative dS/dx of the spike S = H(x), x = v - threshold (formulas in training/surrogate.py).

    Written with NumPy ufuncs only, so that ``surrogate_grad.py_func`` also works on whole arrays.
    """
    if code == FAST_SIGMOID:
        return 1.0 / (1.0 + slope * np.abs(x)) ** 2
    if code == ARCTAN:
        return 0.5 * slope / (1.0 + (0.5 * np.pi * slope * x) ** 2)
    if code == TRIANGLE:
        return slope * np.maximum(0.0, 1.0 - slope * np.abs(x))
    # k s (1 - s) with s = sigma(k x), written as k / (4 cosh^2(k x / 2)): no cancellation where s is near 0 or 1
    return 0.25 * slope / np.cosh(0.5 * slope * x) ** 2


@numba.njit(cache=True, error_model="numpy")
def surrogate_smooth(code, slope, x):
    """A smooth function whose derivative is ``surrogate_grad`` (used instead of H for gradient checks)."""
    if code == FAST_SIGMOID:
        return x / (1.0 + slope * np.abs(x))
    if code == ARCTAN:
        return 0.5 + np.arctan(0.5 * np.pi * slope * x) / np.pi
    if code == TRIANGLE:
        u = np.minimum(np.maximum(x, -1.0 / slope), 1.0 / slope)
        return 0.5 + slope * u - 0.5 * slope * slope * u * np.abs(u)
    return 0.5 * (1.0 + np.tanh(0.5 * slope * x))


@numba.njit(cache=True, error_model="numpy", inline="always")
def surrogate_grad_into(out, code, slope, v, thr):
    """out[h] = surrogate_grad(code, slope, v[h] - thr[h]) for a row of neurons (the kernels' form).

    The common fast sigmoid gets a loop of its own, with a constant code: LLVM does not take the four-way branch
    out of a loop nested in the kernels' loops, and the loop then runs scalar (~4x slower, measured).
    """
    if code == FAST_SIGMOID:
        for h in range(out.shape[0]):
            out[h] = surrogate_grad(FAST_SIGMOID, slope, v[h] - thr[h])
    else:
        for h in range(out.shape[0]):
            out[h] = surrogate_grad(code, slope, v[h] - thr[h])
