"""Spiking neurons through time, forward and backward (backpropagation through time with a surrogate
derivative): the kernels of the spiking layers of ``spikingnn/training/layers.py``, whose docstring states the
continuous neuron they discretise.

Each Numba ``*_kernel`` stands beside its plain-NumPy ``*_reference`` with the same arguments and the same result
(``tests/test_bptt_kernels.py``). Arrays are time-first, ``(T, B, H)``. The threads (``threads.run_parts``) take
blocks of whole samples, which share no sum: results do not depend on the number of threads.
"""
from __future__ import annotations

import numba
import numpy as np

from spikingnn.kernels.projection import copy_into, fill, scratch
from spikingnn.kernels.surrogates import surrogate_grad, surrogate_grad_into, surrogate_smooth
from spikingnn.kernels.threads import run_parts

RESET_SUBTRACT, RESET_ZERO, READOUT = 0, 1, 2     # READOUT: never fires, never resets (a leaky integrator)
N_BLOCKS = 8      # blocks of samples that the kernels of a layer step together (the threads share them out)


def neuron_forward_reference(current, beta, v_threshold, rho, beta_adapt, w_rec, reset_code, surrogate_code,
                             slope, smooth, reset_spikes):
    """Run a layer of LIF/ALIF neurons over T steps from v = a = s = 0.

        a[t]   = rho (a[t-1] + s[t-1])                       adaptation (ALIF; beta_adapt = 0 gives LIF)
        thr[t] = v_threshold + beta_adapt a[t]
        i[t]   = current[t] + s[t-1] @ w_rec                  (w_rec of shape (0, 0): no recurrence)
        v[t]   = beta u[t-1] + i[t],   u = the membrane after its reset:
                 u[t] = v[t] - r[t] thr[t]                    reset_code RESET_SUBTRACT
                 u[t] = v[t] (1 - r[t])                       reset_code RESET_ZERO
        s[t]   = H(v[t] - thr[t])  (strict >), or surrogate_smooth(v[t] - thr[t]) when ``smooth``
                 (s = 0 always with reset_code READOUT: the neurons only integrate, for membrane losses)

    r = s, the layer's own spikes, unless ``reset_spikes`` (T, B, H) is non-empty: then the reset is driven by
    those fixed spikes (gradient checks of the detached reset). v is the membrane before its own reset (the surrogate
    needs it); u, after it, is what the units of ``neurons.py`` keep. current: (T, B, H); beta, v_threshold: (H,).
    Returns v, s, thr, each (T, B, H).
    """
    v, s, thr = np.zeros_like(current), np.zeros_like(current), np.zeros_like(current)
    v_prev, s_prev, a = np.zeros_like(current[0]), np.zeros_like(current[0]), np.zeros_like(current[0])
    thr_prev, r_prev = v_threshold + 0.0 * v_prev, s_prev
    for t in range(current.shape[0]):
        a = rho * (a + s_prev)
        thr[t] = v_threshold + beta_adapt * a
        i = current[t] + s_prev @ w_rec if w_rec.size else current[t]
        if reset_code == RESET_ZERO:
            v[t] = beta * (v_prev * (1.0 - r_prev)) + i
        else:
            v[t] = beta * (v_prev - r_prev * thr_prev) + i
        x = v[t] - thr[t]
        if reset_code != READOUT:
            s[t] = surrogate_smooth.py_func(surrogate_code, slope, x) if smooth else x > 0.0
        v_prev, s_prev, thr_prev = v[t], s[t], thr[t]
        r_prev = reset_spikes[t] if reset_spikes.size else s[t]
    return v, s, thr


@numba.njit(cache=True, inline="always")
def adapt_and_leak(h, a, thr, u, s_prev, beta, v_threshold, rho, beta_adapt):
    """Neuron h's step up to its input, in place: a[t] = rho (a[t-1] + s[t-1]), thr[t] = v_threshold +
    beta_adapt a[t], and u <- beta u[t-1] (u: the membrane after its reset; the caller then adds the current I[t],
    which makes it v[t]). Shared by every kernel that steps these neurons (here and ``kernels/eprop.py``)."""
    a[h] = rho * (a[h] + s_prev[h])
    thr[h] = v_threshold[h] + beta_adapt * a[h]
    u[h] = beta[h] * u[h]


@numba.njit(cache=True, inline="always")
def fires(v, thr, one):
    """s[t] = H(v[t] - thr[t]): one when the membrane is strictly above the threshold, else zero."""
    return one if v > thr else 0 * one


@numba.njit(cache=True, inline="always")
def after_reset(v, thr, r, reset_code, one):
    """u[t] = v[t] - thr[t] r[t] (RESET_SUBTRACT; READOUT, whose r is 0) or v[t] (1 - r[t]) (RESET_ZERO)."""
    return v * (one - r) if reset_code == RESET_ZERO else v - thr * r


@numba.njit(cache=True, inline="always")
def tiled(x, copies):
    """x repeated ``copies`` times, end to end: the per-neuron parameters of a block of samples (a new array, for
    the reason given at ``projection.scratch``)."""
    out = scratch(copies * x.size, x)
    for c in range(copies):
        copy_into(out[c * x.size:(c + 1) * x.size], x)
    return out


@numba.njit(cache=True, inline="always")
def sample_block(part, n_parts, batch, n):
    """Block ``part`` of ``n_parts`` equal blocks of samples, as the range [lo, hi) of a flat (B * n) row."""
    return part * batch // n_parts * n, (part + 1) * batch // n_parts * n


def layer_work(size: int, w_rec) -> int:
    """The work of stepping ``size`` neuron states (T B H), for ``threads.run_parts``: each number once, or H times
    with recurrence (a row of w_rec per spike, at most)."""
    return size * max(1, w_rec.shape[0])


def neuron_forward_kernel(current, beta, v_threshold, rho, beta_adapt, w_rec, reset_code, surrogate_code,
                          slope, smooth, reset_spikes):
    """Fast path of neuron_forward_reference: same arguments, same result.

    The neurons of different samples are independent, so each step runs over a whole block of samples at once: the
    (B, H) step of an array is one row of B H values, cut into N_BLOCKS blocks of whole samples that the threads
    share out (``threads.run_parts``; long loops: the 10 output neurons of a classifier would otherwise loop 10 at a
    time). A thread runs its blocks one after the other, each through all T steps: a block's state then stays in
    the L1 cache (one block of 64 samples per thread took 1.3-1.5x longer). With recurrence each sample's spikes
    feed its own neurons at the next step, one row of w_rec per spike, an explicit loop (slices of w_rec in that
    loop cost more than the additions). Each step runs branch-free loops over the neurons of its block (membrane,
    spikes, reset) so that they vectorise; they write v, thr and s in place. ``rho``, ``beta_adapt`` and ``slope``
    should have the arrays' dtype (the layers pass them so): a float64 number would turn float32 arithmetic into
    float64 and back.
    """
    n_steps, batch, n = current.shape
    v, s, thr = np.empty_like(current), np.empty_like(current), np.empty_like(current)
    fixed_reset = reset_spikes.size > 0
    flat = (n_steps, batch * n)
    current_f, v_f, s_f, thr_f = current.reshape(flat), v.reshape(flat), s.reshape(flat), thr.reshape(flat)
    reset_f = reset_spikes.reshape(flat) if fixed_reset else s_f
    n_parts = min(batch, N_BLOCKS)
    run_parts(forward_block, n_parts, n_parts, n, current_f, v_f, s_f, thr_f, reset_f, beta, v_threshold, rho,
              beta_adapt, w_rec, reset_code, surrogate_code, slope, smooth, fixed_reset, current.dtype.type(1),
              work=layer_work(current.size, w_rec))
    return v, s, thr


@numba.njit(cache=True, nogil=True, error_model="numpy")
def forward_block(first, end, n_parts, n, current_f, v_f, s_f, thr_f, reset_f, beta, v_threshold, rho, beta_adapt,
                  w_rec, reset_code, surrogate_code, slope, smooth, fixed_reset, one):
    """neuron_forward_kernel's work on the blocks [first, end) of n_parts blocks of samples of its (T, B n)
    arrays, block after block."""
    n_steps, batch, recurrent = current_f.shape[0], current_f.shape[1] // n, w_rec.size > 0
    for part in range(first, end):
        lo, hi = sample_block(part, n_parts, batch, n)
        width = hi - lo
        u, s_prev, a, i = scratch(width, v_f), scratch(width, v_f), scratch(width, v_f), scratch(width, v_f)
        beta_p, v_threshold_p = tiled(beta, width // n), tiled(v_threshold, width // n)
        for t in range(n_steps):
            cur = current_f[t, lo:hi]
            if recurrent:       # each sample's spikes s[t-1] feed its own neurons: one row of w_rec per spike
                copy_into(i, cur)
                for j in range(width):
                    if s_prev[j] != 0.0:
                        sample, spike = j - j % n, s_prev[j]
                        for h in range(n):
                            i[sample + h] += spike * w_rec[j % n, h]
                cur = i
            v_t, s_t, thr_t = v_f[t, lo:hi], s_f[t, lo:hi], thr_f[t, lo:hi]
            for h in range(width):
                adapt_and_leak(h, a, thr_t, u, s_prev, beta_p, v_threshold_p, rho, beta_adapt)
                u[h] += cur[h]
                v_t[h] = u[h]
            if reset_code == READOUT:
                fill(s_prev, 0 * one)
            elif smooth:
                for h in range(width):
                    s_prev[h] = surrogate_smooth(surrogate_code, slope, v_t[h] - thr_t[h])
            else:
                for h in range(width):
                    s_prev[h] = fires(v_t[h], thr_t[h], one)
            copy_into(s_t, s_prev)
            r = reset_f[t, lo:hi] if fixed_reset else s_prev     # the spikes that reset the membrane
            for h in range(width):
                u[h] = after_reset(u[h], thr_t[h], r[h], reset_code, one)


def neuron_backward_reference(d_s, d_v_out, v, s, thr, beta, rho, beta_adapt, w_rec, reset_code, detach_reset,
                              surrogate_code, slope, reset_spikes):
    """Backpropagation through time of neuron_forward_reference, walking t from T-1 down to 0.

    With g[t] = surrogate_grad(v[t] - thr[t]) in place of H'(.) and r = s (or the fixed ``reset_spikes``):

        dS[t]   = d_s[t] + dv[t+1] @ w_rec.T + rho da[t+1]            every path from s[t] into step t+1 ...
                  - beta thr[t] dv[t+1]   (subtract)  |  - beta v[t] dv[t+1]   (zero)
                                                                      ... the last term only if not detach_reset
        dv[t]   = dS[t] g[t] + d_v_out[t] + beta dv[t+1]  (subtract)  |  beta (1 - r[t]) dv[t+1]   (zero)
        dthr[t] = -dS[t] g[t] - beta r[t] dv[t+1]   (subtract: the reset removes thr[t])
        da[t]   = beta_adapt dthr[t] + rho da[t+1]

    d_s: (T, B, H) dL/ds from above; d_v_out: (T, B, H) dL/dv from a loss on the membrane (or shape (0, 0, 0)).
    Returns dv = dL/dcurrent and dthr, each (T, B, H); the parameter gradients are sums of these (layers.py).
    """
    dv, dthr = np.zeros_like(v), np.zeros_like(v)
    dv_next, da_next = np.zeros_like(v[0]), np.zeros_like(v[0])
    n_steps, subtract = v.shape[0], reset_code != RESET_ZERO
    for t in reversed(range(n_steps)):
        r = reset_spikes[t] if reset_spikes.size else s[t]
        d_spike = d_s[t] + rho * da_next
        if w_rec.size:
            d_spike = d_spike + dv_next @ w_rec.T
        if not detach_reset:
            d_spike = d_spike - beta * (thr[t] if subtract else v[t]) * dv_next
        g = d_spike * (0.0 if reset_code == READOUT else surrogate_grad.py_func(surrogate_code, slope, v[t] - thr[t]))
        leak = beta if subtract else beta * (1.0 - r)
        dv[t] = g + leak * dv_next + (d_v_out[t] if d_v_out.size else 0.0)
        dthr[t] = -g - (beta * r * dv_next if subtract else 0.0)
        da_next = beta_adapt * dthr[t] + rho * da_next
        dv_next = dv[t]
    return dv, dthr


def neuron_backward_kernel(d_s, d_v_out, v, s, thr, beta, rho, beta_adapt, w_rec, reset_code, detach_reset,
                           surrogate_code, slope, reset_spikes):
    """Fast path of neuron_backward_reference: same arguments, same result, by blocks of samples as in
    neuron_forward_kernel.

    Each step first evaluates the surrogate for all neurons of the block, then runs one branch-free loop that
    vectorises (scalars in the arrays' dtype, as for neuron_forward_kernel; the blocks compile with
    ``error_model="numpy"``: a division by zero gives inf, as in NumPy, instead of a Python exception whose check
    keeps the loop scalar).
    """
    n_steps, batch, n = v.shape
    dv, dthr = np.empty_like(v), np.empty_like(v)
    fixed_reset, has_dv_out = reset_spikes.size > 0, d_v_out.size > 0
    flat = (n_steps, batch * n)
    v_f, s_f, thr_f, d_s_f = v.reshape(flat), s.reshape(flat), thr.reshape(flat), d_s.reshape(flat)
    dv_f, dthr_f = dv.reshape(flat), dthr.reshape(flat)
    reset_f = reset_spikes.reshape(flat) if fixed_reset else s_f
    d_v_out_f = d_v_out.reshape(flat) if has_dv_out else d_s_f
    w_rec_t = np.ascontiguousarray(w_rec.T)     # dv[t+1] @ w_rec.T as rows added in turn: vectorises
    n_parts = min(batch, N_BLOCKS)
    run_parts(backward_block, n_parts, n_parts, n, dv_f, dthr_f, d_s_f, d_v_out_f, v_f, s_f, thr_f, reset_f, beta,
              rho, beta_adapt, w_rec_t, reset_code, detach_reset, surrogate_code, slope, fixed_reset, has_dv_out,
              v.dtype.type(1), work=2 * layer_work(v.size, w_rec))
    return dv, dthr


@numba.njit(cache=True, nogil=True, error_model="numpy")
def backward_block(first, end, n_parts, n, dv_f, dthr_f, d_s_f, d_v_out_f, v_f, s_f, thr_f, reset_f, beta, rho,
                   beta_adapt, w_rec_t, reset_code, detach_reset, surrogate_code, slope, fixed_reset, has_dv_out, one):
    """neuron_backward_kernel's work on the blocks [first, end) of its (T, B n) arrays, block after block."""
    n_steps, batch, recurrent = v_f.shape[0], v_f.shape[1] // n, w_rec_t.size > 0
    subtract, keep_reset = reset_code != RESET_ZERO, not detach_reset
    zero = 0 * one
    for part in range(first, end):
        lo, hi = sample_block(part, n_parts, batch, n)
        width = hi - lo
        da, dv_next, g, d_recurrent = scratch(width, v_f), scratch(width, v_f), scratch(width, v_f), \
            scratch(width, v_f)
        beta_p = tiled(beta, width // n)
        for t in range(n_steps - 1, -1, -1):
            v_t, thr_t, d_s_t, dv_t, dthr_t = v_f[t, lo:hi], thr_f[t, lo:hi], d_s_f[t, lo:hi], dv_f[t, lo:hi], \
                dthr_f[t, lo:hi]
            if reset_code == READOUT:
                fill(g, zero)
            else:
                surrogate_grad_into(g, surrogate_code, slope, v_t, thr_t)
            if recurrent:       # dv[t+1] @ w_rec.T, sample by sample
                fill(d_recurrent, zero)
                for j in range(width):
                    sample, d_next = j - j % n, dv_next[j]
                    for h in range(n):
                        d_recurrent[sample + h] += d_next * w_rec_t[j % n, h]
            r = reset_f[t, lo:hi] if fixed_reset else s_f[t, lo:hi]
            d_v_out_t = d_v_out_f[t, lo:hi]
            for h in range(width):
                ds = d_s_t[h] + rho * da[h] + d_recurrent[h]
                if keep_reset:
                    ds -= beta_p[h] * (thr_t[h] if subtract else v_t[h]) * dv_next[h]
                gh = ds * g[h]
                leak = beta_p[h] if subtract else beta_p[h] * (one - r[h])
                dv_now = gh + leak * dv_next[h] + (d_v_out_t[h] if has_dv_out else zero)
                dthr_now = -gh - (beta_p[h] * r[h] * dv_next[h] if subtract else zero)
                da[h] = beta_adapt * dthr_now + rho * da[h]
                dv_t[h], dthr_t[h], dv_next[h] = dv_now, dthr_now, dv_now
