"""Losses on the output layer's spikes s (T, B, C) or membrane v (T, B, C), with their gradients.

Each loss returns a ``LossResult``: the mean loss over the batch, dL/ds and dL/dv (same shapes as s and v), and
the per-class scores whose argmax is the prediction.

* ``ce_count``: cross-entropy of the softmax of the spike counts n_c = sum_t s[t, c] (snnTorch's
  ``ce_count_loss``). dL/ds[t, c] = dL/dn_c at every step.
* ``ce_mem_max`` / ``ce_mem_mean``: cross-entropy of the softmax of the membrane's maximum / mean over time.
  The output neurons are then leaky integrators that never fire nor reset (``reset='readout'``), so their
  membrane, the logit, is not clipped at the threshold. The max sends the gradient to its step only.
* ``mse_count``: mean squared error between the counts and target counts, T ``correct_rate`` for the right
  class and T ``incorrect_rate`` for the others (snnTorch's ``mse_count_loss``, rates 0.8 and 0.2 by default).

``rate_regularizer`` adds strength * mean_l mean_{b,h} (r_{b,h} - target)^2 over the hidden layers, r the firing
probability per step of each neuron, to keep the hidden activity near a target.
"""
from __future__ import annotations

from typing import NamedTuple

import numpy as np

from spikingnn._validation import check_choice

LOSSES = ("ce_count", "ce_mem_max", "ce_mem_mean", "mse_count")
SPIKE_LOSSES = ("ce_count", "mse_count")     # the others read the membrane of non-spiking output neurons


class LossResult(NamedTuple):
    loss: float
    d_s: np.ndarray          # (T, B, C) dL/ds (zeros for the membrane losses)
    d_v: np.ndarray | None   # (T, B, C) dL/dv, None for the count losses
    scores: np.ndarray   # (B, C), prediction = argmax


def softmax_cross_entropy(logits, labels):
    """L = mean_b [log sum_c exp(z_bc) - z_b,y_b] and dL/dz = (softmax(z) - onehot(y)) / B.  logits: (B, C)."""
    z = logits - logits.max(axis=1, keepdims=True)
    log_sum = np.log(np.exp(z).sum(axis=1))
    batch = np.arange(logits.shape[0])
    loss = float(np.mean(log_sum - z[batch, labels]))
    d_logits = np.exp(z - log_sum[:, None])
    d_logits[batch, labels] -= 1.0
    return loss, d_logits / logits.shape[0]


def output_scores(name: str, s, v) -> np.ndarray:
    """The (B, C) scores of loss ``name``: spike counts, or the membrane's max or mean over time."""
    check_choice("loss", name, LOSSES)
    if name == "ce_mem_max":
        return v.max(axis=0)
    if name == "ce_mem_mean":
        return v.mean(axis=0)
    return s.sum(axis=0)


def loss_forward_backward(name: str, s, v, labels, correct_rate=0.8, incorrect_rate=0.2) -> LossResult:
    """Loss ``name`` of the output spikes s and membrane v (T, B, C) against integer ``labels`` (B,)."""
    scores = output_scores(name, s, v)
    d_s = np.zeros_like(s)
    if name == "mse_count":
        target = np.full(scores.shape, incorrect_rate * s.shape[0])
        target[np.arange(len(labels)), labels] = correct_rate * s.shape[0]
        loss = float(np.mean((scores - target) ** 2))
        d_s[:] = 2.0 * (scores - target) / scores.size
        return LossResult(loss, d_s, None, scores)
    loss, d_scores = softmax_cross_entropy(scores.astype(np.float64), labels)
    if name == "ce_count":
        d_s[:] = d_scores
        return LossResult(loss, d_s, None, scores)
    d_v = np.zeros_like(v)
    if name == "ce_mem_mean":
        d_v[:] = d_scores / v.shape[0]
    else:
        step = v.argmax(axis=0)
        b, c = np.indices(step.shape)
        d_v[step, b, c] = d_scores
    return LossResult(loss, d_s, d_v, scores)


def rate_regularizer(hidden_spikes, strength: float, target_rate: float):
    """strength * mean over layers of mean_{b,h} (r - target_rate)^2, r = mean_t s; returns (loss, list of dL/ds)."""
    loss, grads = 0.0, []
    for s in hidden_spikes:
        rate = s.mean(axis=0)
        loss += strength * float(np.mean((rate - target_rate) ** 2)) / len(hidden_spikes)
        d_rate = 2.0 * strength * (rate - target_rate) / (rate.size * len(hidden_spikes))
        # order 'C': astype's default keeps the broadcast's layout, time fastest, which makes every later pass slow
        grads.append(np.broadcast_to(d_rate / s.shape[0], s.shape).astype(s.dtype, order="C"))
    return loss, grads
