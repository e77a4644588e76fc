"""Training-time input encodings: how a batch of images enters the first layer of a trainable network.

Images arrive as uint8 pixels (MNIST) or floats in [0, 1]. Both become integer *levels* 0..256,

    level = round(256 x),   x = pixel / 255 for uint8,

so that one integer comparison with a random byte decides a rate-coded spike (below). Three encodings:

* ``rate`` (Bernoulli): at every step each pixel fires with probability p = level / 256 (= x up to 1/512; a
  white pixel fires at every step, a black one never), the code of snnTorch's ``spikegen.rate``. The spikes are
  not materialised: the batch carries one random byte per step for each non-zero pixel, drawn from the
  explicit Generator (``random_bytes``), and the kernels fire where byte < level
  (``spikingnn.kernels.rate_input.rate_spikes_reference`` gives the exact layout). About 15 % of MNIST pixels are
  non-zero, so a batch of 128 images at T = 25 costs ~0.5 MB of bytes instead of 10 MB of float spikes.
* ``latency`` (time-to-first-spike): each non-zero pixel fires once, at step round((1 - x) (T - 1)): white at
  step 0, faint pixels last. Deterministic.
* ``current`` (direct injection): no spikes; the analog value x drives the first layer as a constant current
  at every step, I[t] = x @ W + b.

The general-purpose encoders for any array (rates in Hz, log latency, population codes) are in
``spikingnn.encoding``; these are the training-time forms that the kernels consume.
"""
from __future__ import annotations

import numpy as np

from spikingnn._validation import check_choice, check_in_range
from spikingnn.kernels import rate_input as rate_kernels
from spikingnn.training.layers import RateInput, pick_kernel

ENCODINGS = ("rate", "latency", "current")


def _flat_images(images, name: str) -> np.ndarray:
    """Images (N, H, W) or (N, n) as a 2-D (N, n) array, refused unless non-empty and of uint8 or numbers."""
    images = np.asarray(images)
    if images.ndim < 2 or images.shape[0] == 0:
        raise ValueError(f"{name} must be a non-empty array of images (N, height, width) or (N, features); "
                         f"got shape {images.shape}")
    flat = images.reshape(images.shape[0], -1)
    if flat.dtype.kind not in "fiu":
        raise ValueError(f"{name} must hold uint8 pixels or floats in [0, 1]; got dtype {flat.dtype}")
    return flat


def pixel_levels(images, name: str = "X") -> np.ndarray:
    """Images (N, H, W) or (N, n) as uint8 pixels or floats in [0, 1] -> levels (N, n) uint16 in 0..256."""
    flat = _flat_images(images, name)
    if flat.dtype == np.uint8:      # round(256 p / 255) = p + round(p / 255) = p + (p >= 128), as two array sweeps
        levels = flat.astype(np.uint16)
        levels += flat >> 7
        return levels
    x = check_in_range(name, flat, 0.0, 1.0)
    return np.rint(x * 256).astype(np.uint16)


class ImageLevels:
    """A set of images read as levels, batch by batch: ``levels[index]`` is ``pixel_levels`` of the images taken.

    uint8 pixels stay as they are and each batch is converted when it is taken: converting the 60,000 MNIST
    training images at once took 0.15 s (a tenth of a training epoch) and 94 MB. Floats are checked against
    [0, 1] and converted once, here, so that a bad value is reported before training begins.
    """

    def __init__(self, images, name: str = "X"):
        flat = _flat_images(images, name)
        self._pixels = flat if flat.dtype == np.uint8 else pixel_levels(flat, name)

    @property
    def shape(self) -> tuple:
        return self._pixels.shape

    def __len__(self) -> int:
        return self._pixels.shape[0]

    def __getitem__(self, index) -> np.ndarray:
        chosen = self._pixels[index]
        return pixel_levels(chosen) if chosen.dtype == np.uint8 else chosen


def random_bytes(rng: np.random.Generator, size: int) -> np.ndarray:
    """``size`` uniform random bytes (uint8): the raw 64-bit words of the Generator's bit generator, 8 bytes each
    (every byte of a word is uniform and independent of the others; ~3x faster than ``rng.integers``)."""
    return rng.bit_generator.random_raw(-(-size // 8)).view(np.uint8)[:size]


def rate_input(levels, num_steps: int, rng: np.random.Generator, backend: str = "numba") -> RateInput:
    """The rate code of a batch of levels (B, n): its non-zero pixels and T random bytes for each."""
    nonzero_levels = pick_kernel(rate_kernels, "nonzero_levels", backend)
    pixel_index, pixel_level, offsets = nonzero_levels(np.ascontiguousarray(levels))
    return RateInput(pixel_index, pixel_level, offsets, random_bytes(rng, num_steps * pixel_index.size),
                     int(num_steps), levels.shape[1])


def latency_spikes(levels, num_steps: int, dtype=np.float32) -> np.ndarray:
    """One spike per non-zero pixel at step round((1 - x) (T - 1)), x = level / 256: (T, B, n) 0/1."""
    sample, pixel = np.nonzero(levels)
    steps = np.rint((1.0 - levels[sample, pixel] / 256.0) * (num_steps - 1)).astype(np.intp)
    spikes = np.zeros((num_steps, *levels.shape), dtype=dtype)
    spikes[steps, sample, pixel] = 1.0
    return spikes


def encode(encoding: str, levels, num_steps: int, rng: np.random.Generator, dtype=np.float32, backend="numba"):
    """Encode a batch of levels (B, n) for the first layer.

    Returns a ``RateInput`` ('rate'), a (T, B, n) spike array ('latency') or the analog (B, n) array x ('current').
    """
    check_choice("encoding", encoding, ENCODINGS)
    if encoding == "rate":
        return rate_input(levels, num_steps, rng, backend)
    if encoding == "latency":
        return latency_spikes(levels, num_steps, dtype)
    return (levels / 256.0).astype(dtype)


def take_samples(encoded, start: int, stop: int):
    """Samples start:stop of an encoded batch (what ``encode`` returns), encoded as they were in the whole batch."""
    if isinstance(encoded, RateInput):
        return encoded.samples(start, stop)
    return encoded[start:stop] if encoded.ndim == 2 else encoded[:, start:stop]


def input_spikes(encoded, num_steps: int) -> np.ndarray:
    """What the first layer receives, as a dense (T, B, n) array (analog values repeated for 'current')."""
    if isinstance(encoded, RateInput):
        return encoded.dense()
    if encoded.ndim == 2:
        return np.broadcast_to(encoded, (num_steps, *encoded.shape))
    return encoded
