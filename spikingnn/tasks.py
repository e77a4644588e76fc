"""Sequence tasks built in (nothing to download): the inputs, labels and loss steps a recurrent network learns from.

Each task returns a ``SequenceBatch``: time-first inputs (T, B, n_in), one label per sequence and the steps whose
read-out the loss looks at (``training.eprop.RecurrentNetwork.train_step(batch.x, batch.labels, batch.loss_steps)``).

* ``cue_accumulation``: the evidence-accumulation task of Bellec et al. 2020 (Nature Communications 11:3625,
  Fig. 3; after Morcos & Harvey 2016), with the timing of the paper's code. 40 Poisson inputs in 4 groups of 10:
  the left-cue group fires at 40 Hz during each left cue, the right-cue group during each right cue, the recall
  group at 40 Hz during the last 150 ms, and the noise group at 10 Hz throughout. Each of the 7 cues lasts 100 ms
  and starts 50 ms after the previous one ends (cue k on during [50 + 150 k, 150 + 150 k) ms); the sequence lasts
  150 n_cues + 1200 ms (2250 ms for 7 cues: a delay of 1050 ms between the last cue and the recall). Each sample
  picks a majority side with p = 1/2, then each cue falls on that side with p = 0.7. Label 1 when most cues were
  on the right, else 0; the loss looks at the 150 ms of the recall.
* ``sequential_mnist``: an image as a sequence of its pixels, one per step (784 steps for MNIST), the grey value
  in [0, 1] as the single input; the loss looks at the last step. With ``permutation`` (or ``permuted_mnist``)
  the pixels come in a fixed random order, which breaks the local structure of the rows (Le, Jaitly & Hinton 2015).
  With ``n_levels`` the grey value enters as spikes instead, through ``threshold_crossings``: 2 n_levels input
  neurons, one per level and direction, as in Bellec et al. 2018 (80 input neurons). Images come from the caller
  (e.g. ``spikingnn.load_mnist``).

The neuron here: none: inputs and targets.
"""
from __future__ import annotations

from typing import NamedTuple

import numpy as np

from spikingnn._validation import as_rng, check_in_range, check_positive
from spikingnn.discretisation import step_count

CUE_GROUPS = ("left", "right", "recall", "noise")


class SequenceBatch(NamedTuple):
    x: np.ndarray             # (T, B, n_in) float32 inputs: spikes 0/1, or analog values
    labels: np.ndarray        # (B,) int64, the class of each sequence
    loss_steps: np.ndarray    # (T,) bool, the steps whose read-out enters the loss


def cue_accumulation(batch_size, n_cues=7, *, dt=1.0, n_per_group=10, cue_ms=100.0, cue_spacing_ms=150.0,
                     delay_ms=1050.0, recall_ms=150.0, rate_hz=40.0, noise_hz=10.0, p_majority=0.7, rng=None,
                     return_cues=False):
    """A batch of the cue-accumulation task (timing and rates in the module docstring; times in ms, rates in Hz).

    The defaults are the paper's: 7 cues of 100 ms every 150 ms (the first after 50 ms of silence), 1050 ms of
    delay after the last cue ends, 150 ms of recall, 40 Hz cues and recall, 10 Hz noise, 10 inputs per group,
    p_majority 0.7. Returns a ``SequenceBatch`` with x of shape (T, batch_size, 4 n_per_group) (groups in the order
    ``CUE_GROUPS``); with ``return_cues`` also the (batch_size, n_cues) sides of the cues (0 left, 1 right).
    """
    if not isinstance(batch_size, (int, np.integer)) or batch_size < 1:
        raise ValueError(f"batch_size must be an integer >= 1; got {batch_size!r}")
    if not isinstance(n_cues, (int, np.integer)) or n_cues < 1 or n_cues % 2 == 0:
        raise ValueError(f"n_cues must be an odd integer >= 1 (so that one side has the majority); got {n_cues!r}")
    if not isinstance(n_per_group, (int, np.integer)) or n_per_group < 1:
        raise ValueError(f"n_per_group must be an integer >= 1; got {n_per_group!r}")
    check_in_range("dt", dt, 1e-3, 10.0)
    for name, value in (("cue_ms", cue_ms), ("recall_ms", recall_ms)):
        check_positive(name, value, "ms")
    check_in_range("cue_spacing_ms", cue_spacing_ms, cue_ms, 1e5)
    check_in_range("delay_ms", delay_ms, 0.0, 1e6)
    check_in_range("rate_hz", rate_hz, 0.0, 1000.0 / dt)
    check_in_range("noise_hz", noise_hz, 0.0, 1000.0 / dt)
    check_in_range("p_majority", p_majority, 0.5, 1.0)
    rng = as_rng(rng)
    silence = cue_spacing_ms - cue_ms
    starts = step_count(silence + cue_spacing_ms * np.arange(n_cues), dt)
    cue_steps, recall_steps = int(step_count(cue_ms, dt)), int(step_count(recall_ms, dt))
    n_steps = int(step_count(cue_spacing_ms * n_cues + delay_ms + recall_ms, dt))
    majority = rng.random(batch_size) < 0.5                                  # True: right
    on_majority = rng.random((batch_size, n_cues)) < p_majority
    cues = np.where(on_majority, majority[:, None], ~majority[:, None]).astype(np.int64)
    p_cue, p_noise = rate_hz * dt / 1000.0, noise_hz * dt / 1000.0
    prob = np.zeros((n_steps, batch_size, len(CUE_GROUPS)))
    prob[:, :, 3] = p_noise
    prob[-recall_steps:, :, 2] = p_cue
    for k, start in enumerate(starts):
        prob[start:start + cue_steps, np.arange(batch_size), cues[:, k]] = p_cue
    prob = np.repeat(prob, n_per_group, axis=2)                              # every input of a group alike
    x = (rng.random(prob.shape) < prob).astype(np.float32)
    loss_steps = np.zeros(n_steps, bool)
    loss_steps[-recall_steps:] = True
    batch = SequenceBatch(x, (cues.sum(axis=1) > n_cues // 2).astype(np.int64), loss_steps)
    return (batch, cues) if return_cues else batch


def threshold_crossings(values, n_levels):
    """Spikes of 2 ``n_levels`` input neurons that signal when an analog sequence crosses fixed levels.

    values: (T, B) or (T, B, 1) in [0, 1]; the levels theta_k = (k + 1/2) / n_levels, k < n_levels, split [0, 1]
    evenly. Up-neuron k fires at step t when x[t-1] < theta_k <= x[t], down-neuron k (channel n_levels + k) when
    x[t-1] >= theta_k > x[t], with x[-1] = 0: a rise from 0 to x fires once each up-neuron whose level x reaches.
    The count of up minus down spikes of level k up to step t is 1 exactly when x[t] >= theta_k, so the spikes carry
    the value to within 1 / n_levels. Returns (T, B, 2 n_levels) float32 of 0 / 1. (The spiking sequential MNIST of
    Bellec et al. 2018, "Long short-term memory and learning-to-learn in networks of spiking neurons", NeurIPS.)
    """
    values = np.asarray(values)
    if values.ndim == 3 and values.shape[2] == 1:
        values = values[:, :, 0]
    if values.ndim != 2 or values.size == 0:
        raise ValueError(f"values must have shape (T, B) or (T, B, 1); got {values.shape}")
    check_in_range("values", values, 0.0, 1.0)
    if not isinstance(n_levels, (int, np.integer)) or not 1 <= n_levels <= 1024:
        raise ValueError(f"n_levels must be an integer in [1, 1024]; got {n_levels!r}")
    levels = (np.arange(n_levels) + 0.5) / n_levels
    now = values[:, :, None]
    before = np.concatenate([np.zeros_like(now[:1]), now[:-1]])
    up, down = (before < levels) & (now >= levels), (before >= levels) & (now < levels)
    return np.concatenate([up, down], axis=2).astype(np.float32)


def sequential_mnist(images, labels, permutation=None, n_levels=None):
    """Images (B, height, width) or (B, n_pixels), uint8 0-255 or floats in [0, 1], as sequences of pixels.

    Returns a ``SequenceBatch``: x (n_pixels, B, 1) float32, the grey value of pixel t at step t (row after row, or
    in the order ``permutation``, a permutation of range(n_pixels)), the labels, and the loss at the last step.
    With ``n_levels``, x is (n_pixels, B, 2 n_levels): the spikes of ``threshold_crossings`` of that sequence.
    """
    images = np.asarray(images)
    if images.ndim not in (2, 3) or images.shape[0] < 1 or images.size == 0:
        raise ValueError(f"images must have shape (B, height, width) or (B, n_pixels) with B >= 1; got "
                         f"{images.shape}")
    pixels = images.reshape(images.shape[0], -1)
    if images.dtype == np.uint8:
        pixels = pixels / np.float32(255.0)
    elif images.dtype.kind == "f":
        check_in_range("images", pixels, 0.0, 1.0)
    else:
        raise ValueError(f"images must be uint8 (0-255) or floats in [0, 1]; got {images.dtype}")
    labels = np.asarray(labels)
    if labels.shape != (pixels.shape[0],) or labels.dtype.kind not in "iu":
        raise ValueError(f"labels must be {pixels.shape[0]} integers (one per image); got {labels.dtype} of shape "
                         f"{labels.shape}")
    if permutation is not None:
        permutation = np.asarray(permutation)
        if not np.array_equal(np.sort(permutation), np.arange(pixels.shape[1])):
            raise ValueError(f"permutation must be a permutation of range({pixels.shape[1]}); got an array of shape "
                             f"{permutation.shape}")
        pixels = pixels[:, permutation]
    loss_steps = np.zeros(pixels.shape[1], bool)
    loss_steps[-1] = True
    x = pixels.T[:, :, None].astype(np.float32)
    return SequenceBatch(x if n_levels is None else threshold_crossings(x, n_levels), labels.astype(np.int64),
                         loss_steps)


def permuted_mnist(images, labels, rng=0, n_levels=None):
    """``sequential_mnist`` with the pixels in the order of a permutation drawn from ``rng`` (the same seed, the same
    permutation: pass one seed for the training and the test images)."""
    n_pixels = int(np.prod(np.shape(images)[1:]))
    return sequential_mnist(images, labels, as_rng(rng).permutation(n_pixels), n_levels)
