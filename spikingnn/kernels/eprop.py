"""e-prop through one sequence: the network runs forward and its gradient is gathered on the way, from eligibility
traces and learning signals, with nothing stored per time step (the chapter, its equations and their derivation
are in ``spikingnn/training/eprop.py``).

Each Numba ``*_kernel`` stands beside its plain-NumPy ``*_reference`` with the same arguments and the same result
(``tests/test_eprop.py``). Arrays are time-first, ``(T, B, n)``. Synapse ``i -> j`` indexes the presynaptic side
``i`` over the inputs first, then the hidden neurons (``i = n_in + k`` is the recurrent synapse from neuron k):
W = [w_in; w_rec], shape (n_in + H, H). The threads (``threads.run_parts``) take the N_CHUNKS fixed chunks of the
batch (``projection.N_CHUNKS``), each with its own traces and partial gradients, added in a fixed order: the result
does not depend on the number of threads.

The neuron step is the one of ``neuron_bptt.neuron_forward_kernel``, through the same helpers (``adapt_and_leak``,
``fires``, ``after_reset``): e-prop runs it one step at a time, interleaved with the traces, where that kernel runs
whole sequences.
"""
from __future__ import annotations

import numba
import numpy as np

from spikingnn.kernels.neuron_bptt import RESET_SUBTRACT, adapt_and_leak, after_reset, fires
from spikingnn.kernels.projection import N_CHUNKS, add_scaled_into, copy_into, sum_chunks
from spikingnn.kernels.surrogates import surrogate_grad, surrogate_grad_into
from spikingnn.kernels.threads import run_parts


def eprop_gradients_reference(x, labels, loss_steps, w_in, w_rec, w_out, b_out, feedback, beta, v_threshold, rho,
                              beta_adapt, kappa, reset_code, surrogate_code, slope, rate_reg, target_rate):
    """The e-prop gradient of one batch of sequences, gathered online (equations in ``training/eprop.py``).

    x: (T, B, n_in) input; labels: (B,) int; loss_steps: (T,) bool, the steps whose read-out enters the
    cross-entropy; w_in (n_in, H), w_rec (H, H), w_out (H, C), b_out (C,); feedback (H, C): the matrix B that
    turns the read-out error into learning signals (w_out itself for symmetric e-prop); beta, v_threshold (H,);
    rho, beta_adapt (ALIF; beta_adapt = 0 gives LIF); kappa: the read-out's leak; reset_code (RESET_SUBTRACT or
    RESET_ZERO); surrogate_code, slope: the pseudo-derivative psi; rate_reg, target_rate (spikes per step): the rate
    regulariser of ``losses.rate_regularizer``.

    Returns d_w_in (n_in, H), d_w_rec (H, H), d_w_out (H, C), d_b_out (C,), the cross-entropy (float, mean over
    the loss steps and the batch), the scores (B, C) (the read-out averaged over the loss steps) and the spike
    counts (B, H). Memory: a few (B, n_in + H, H) arrays, whatever T.
    """
    n_steps, batch, n_in = x.shape
    n_hidden, n_classes = w_out.shape
    n_loss, samples = int(np.count_nonzero(loss_steps)), np.arange(batch)
    w = np.concatenate([w_in, w_rec])                          # (P, H), P = n_in + H presynaptic
    subtract = reset_code == RESET_SUBTRACT
    s, a, u = (np.zeros((batch, n_hidden), w.dtype) for _ in range(3))
    y = np.zeros((batch, n_classes), w.dtype)
    eps_u, eps_a, e_bar, e_sum = (np.zeros((batch, n_in + n_hidden, n_hidden), w.dtype) for _ in range(4))
    s_bar, one_bar = np.zeros_like(s), 0.0
    d_w, d_w_out, d_b_out = np.zeros_like(w), np.zeros_like(w_out), np.zeros_like(b_out)
    loss, scores, counts = 0.0, np.zeros_like(y), np.zeros_like(s)
    for t in range(n_steps):
        pre = np.concatenate([x[t], s], axis=1)                # (B, P): inputs at t, hidden spikes of t-1
        a = rho * (a + s)
        thr = v_threshold + beta_adapt * a
        v = beta * u + pre @ w
        s = (v > thr).astype(v.dtype)
        psi = surrogate_grad.py_func(surrogate_code, slope, v - thr)
        eps_v = beta * eps_u + pre[:, :, None]                 # dv[t]/dW_ij within neuron j
        e = psi[:, None, :] * (eps_v - beta_adapt * eps_a)     # the eligibility trace ds_j[t]/dW_ij
        e_bar = kappa * e_bar + e
        e_sum += e
        if subtract:
            eps_u = eps_v - beta_adapt * s[:, None, :] * eps_a  # du[t]/dW: the reset removes thr[t] s[t]
            u = v - thr * s
        else:
            eps_u = eps_v * (1.0 - s)[:, None, :]
            u = v * (1.0 - s)
        eps_a = rho * (eps_a + e)                              # da[t+1]/dW
        y = kappa * y + s @ w_out + b_out
        counts += s
        s_bar, one_bar = kappa * s_bar + s, kappa * one_bar + 1.0
        if loss_steps[t]:
            z = y - y.max(axis=1, keepdims=True)
            log_sum = np.log(np.exp(z).sum(axis=1))
            loss += float(np.sum(log_sum - z[samples, labels])) / (n_loss * batch)
            err = np.exp(z - log_sum[:, None])                 # dE/dy[t] = (softmax(y[t]) - onehot) / (n_loss B)
            err[samples, labels] -= 1.0
            err /= n_loss * batch
            scores += y / n_loss
            learning_signal = err @ feedback.T                 # L_j[t] = sum_k B_jk err_k[t]
            d_w += np.einsum("bj,bij->ij", learning_signal, e_bar)
            d_w_out += s_bar.T @ err
            d_b_out += one_bar * err.sum(axis=0)
    d_rate = 2.0 * rate_reg * (counts / n_steps - target_rate) / (batch * n_hidden * n_steps)
    d_w += np.einsum("bj,bij->ij", d_rate, e_sum)              # dE_reg/ds_j[t] is the same at every step
    return d_w[:n_in], d_w[n_in:], d_w_out, d_b_out, loss, scores, counts


@numba.njit(cache=True, error_model="numpy")
def synapse_traces(eps_u, eps_a, e_bar, e_sum, pre, psi, s, beta, rho, beta_adapt, kappa, reset_code, one):
    """One step of the traces of every synapse i -> h (P, H) of one sample, in the order of the reference."""
    for i in range(pre.size):
        for h in range(psi.size):
            eps_v = beta[h] * eps_u[i, h] + pre[i]
            e = psi[h] * (eps_v - beta_adapt * eps_a[i, h])
            e_bar[i, h] = kappa * e_bar[i, h] + e
            e_sum[i, h] += e
            if reset_code == RESET_SUBTRACT:
                eps_u[i, h] = eps_v - beta_adapt * s[h] * eps_a[i, h]
            else:
                eps_u[i, h] = eps_v * (one - s[h])
            eps_a[i, h] = rho * (eps_a[i, h] + e)


@numba.njit(cache=True, error_model="numpy")
def presynaptic_traces(z_bar, e_bar, e_sum, pre, psi, beta, kappa):
    """synapse_traces for LIF neurons (beta_adapt = 0) that reset by subtraction and share one leak ``beta``.

    Then eps_a plays no part, eps_u = eps_v, and eps_v = beta eps_u + pre_i is the same for every neuron h: the
    presynaptic activity filtered with tau_mem, the paper's z-bar_i, one number per presynaptic unit (P,) instead of
    two per synapse. The eligibility trace is e = psi_h z-bar_i: the same numbers, half the memory traffic."""
    for i in range(pre.size):
        z = beta * z_bar[i] + pre[i]
        z_bar[i] = z
        for h in range(psi.size):
            e = psi[h] * z
            e_bar[i, h] = kappa * e_bar[i, h] + e
            e_sum[i, h] += e


def eprop_gradients_kernel(x, labels, loss_steps, w_in, w_rec, w_out, b_out, feedback, beta, v_threshold, rho,
                           beta_adapt, kappa, reset_code, surrogate_code, slope, rate_reg, target_rate):
    """Fast path of eprop_gradients_reference: same arguments, same result, the threads taking chunks of the batch
    (``eprop_gradients_block``).

    The input and recurrent currents are summed over the active presynaptic units only (one weight row each); the
    traces are updated for every synapse (``synapse_traces``; for LIF with a shared leak and reset by subtraction,
    from one trace per presynaptic unit: ``presynaptic_traces``), the weight gradient only at the loss steps
    (elsewhere the learning signal is zero). Scalars should have the arrays' dtype, as for the other training
    kernels.
    """
    _, batch, n_in = x.shape
    n_hidden, n_classes = w_out.shape
    dtype = w_in.dtype
    n_chunks = min(batch, N_CHUNKS)
    partial_w = np.zeros((n_chunks, n_in + n_hidden, n_hidden), dtype)
    partial_out = np.zeros((n_chunks, n_hidden, n_classes), dtype)
    partial_b = np.zeros((n_chunks, 1, n_classes), dtype)
    losses, scores, counts = np.zeros(batch), np.zeros((batch, n_classes), dtype), np.zeros((batch, n_hidden), dtype)
    run_parts(eprop_gradients_block, n_chunks, x, labels, loss_steps, w_in, w_rec, w_out, b_out, feedback, beta,
              v_threshold, rho, beta_adapt, kappa, reset_code, surrogate_code, slope, rate_reg, target_rate, partial_w,
              partial_out, partial_b, losses, scores, counts)
    d_w = sum_chunks(partial_w)
    return (d_w[:n_in].copy(), d_w[n_in:].copy(), sum_chunks(partial_out), sum_chunks(partial_b)[0],
            float(losses.sum()), scores, counts)


@numba.njit(cache=True, nogil=True, error_model="numpy")
def eprop_gradients_block(first, end, x, labels, loss_steps, w_in, w_rec, w_out, b_out, feedback, beta, v_threshold,
                          rho, beta_adapt, kappa, reset_code, surrogate_code, slope, rate_reg, target_rate, partial_w,
                          partial_out, partial_b, losses, scores, counts):
    """eprop_gradients_kernel's work on the chunks [first, end) of the batch, each into its partial_w[chunk],
    partial_out[chunk] and partial_b[chunk], and its samples' losses, scores and counts."""
    n_steps, batch, n_in = x.shape
    n_hidden, n_classes = w_out.shape
    n_pre = n_in + n_hidden
    dtype = w_in.dtype
    one = np.ones(1, dtype)[0]
    n_loss = 0
    for t in range(n_steps):
        n_loss += loss_steps[t]
    per_loss = one / (n_loss * batch)
    n_chunks = partial_w.shape[0]
    shared_trace = beta_adapt == 0 and reset_code == RESET_SUBTRACT
    for h in range(n_hidden):
        shared_trace &= beta[h] == beta[0]
    n_synapse_traces = 0 if shared_trace else n_pre
    for chunk in range(first, end):
        eps_u, eps_a = np.empty((n_synapse_traces, n_hidden), dtype), np.empty((n_synapse_traces, n_hidden), dtype)
        e_bar, e_sum = np.empty((n_pre, n_hidden), dtype), np.empty((n_pre, n_hidden), dtype)
        z_bar = np.empty(n_pre, dtype)
        u, s, a, thr = np.empty(n_hidden, dtype), np.empty(n_hidden, dtype), np.empty(n_hidden, dtype), \
            np.empty(n_hidden, dtype)
        psi, s_bar, signal = np.empty(n_hidden, dtype), np.empty(n_hidden, dtype), np.empty(n_hidden, dtype)
        y, err, pre = np.empty(n_classes, dtype), np.empty(n_classes, dtype), np.empty(n_pre, dtype)
        d_w, d_out, d_b = partial_w[chunk], partial_out[chunk], partial_b[chunk, 0]
        for b in range(chunk * batch // n_chunks, (chunk + 1) * batch // n_chunks):
            eps_u[:], eps_a[:], e_bar[:], e_sum[:], z_bar[:] = 0.0, 0.0, 0.0, 0.0, 0.0
            u[:], s[:], a[:], y[:], s_bar[:] = 0.0, 0.0, 0.0, 0.0, 0.0
            one_bar = 0 * one
            for t in range(n_steps):
                copy_into(pre[:n_in], x[t, b])
                copy_into(pre[n_in:], s)
                # the neuron: v[t] = beta u[t-1] + x[t] w_in + s[t-1] w_rec, by events
                for h in range(n_hidden):
                    adapt_and_leak(h, a, thr, u, s, beta, v_threshold, rho, beta_adapt)
                for i in range(n_pre):
                    if pre[i] != 0.0:
                        add_scaled_into(u, pre[i], w_in[i] if i < n_in else w_rec[i - n_in])
                for h in range(n_hidden):      # u holds v[t] now
                    s[h] = fires(u[h], thr[h], one)
                surrogate_grad_into(psi, surrogate_code, slope, u, thr)
                # the traces of every synapse i -> h, in the order of the reference
                if shared_trace:
                    presynaptic_traces(z_bar, e_bar, e_sum, pre, psi, beta[0], kappa)
                else:
                    synapse_traces(eps_u, eps_a, e_bar, e_sum, pre, psi, s, beta, rho, beta_adapt, kappa, reset_code,
                                   one)
                for h in range(n_hidden):      # the reset: u[t]
                    u[h] = after_reset(u[h], thr[h], s[h], reset_code, one)
                    s_bar[h] = kappa * s_bar[h] + s[h]
                    counts[b, h] += s[h]
                # the read-out y[t] = kappa y[t-1] + s[t] w_out + b_out, its error and the learning signals
                for k in range(n_classes):
                    y[k] = kappa * y[k] + b_out[k]
                for h in range(n_hidden):
                    if s[h] != 0.0:
                        add_scaled_into(y, s[h], w_out[h])
                one_bar = kappa * one_bar + one
                if not loss_steps[t]:
                    continue
                top = y.max()
                log_sum = np.log(np.exp(y - top).sum())
                losses[b] += (log_sum - (y[labels[b]] - top)) * per_loss
                for k in range(n_classes):
                    err[k] = np.exp(y[k] - top - log_sum) * per_loss
                    scores[b, k] += y[k] / n_loss
                err[labels[b]] -= per_loss
                for h in range(n_hidden):
                    signal[h] = 0.0
                    for k in range(n_classes):
                        signal[h] += feedback[h, k] * err[k]
                        d_out[h, k] += s_bar[h] * err[k]
                for k in range(n_classes):
                    d_b[k] += one_bar * err[k]
                for i in range(n_pre):
                    for h in range(n_hidden):
                        d_w[i, h] += signal[h] * e_bar[i, h]
            # the rate regulariser: dE/ds_h[t] = d_rate_h at every step, so its gradient is d_rate_h sum_t e
            for h in range(n_hidden):
                signal[h] = 2 * rate_reg * (counts[b, h] / n_steps - target_rate) / (batch * n_hidden * n_steps)
            for i in range(n_pre):
                for h in range(n_hidden):
                    d_w[i, h] += signal[h] * e_sum[i, h]
