"""Preparing a picture of a hand-written digit the way MNIST's digits were prepared.

A network trained on MNIST has only seen digits in one format, so a photo or a drawing must be brought to it
before ``predict``. The MNIST recipe (LeCun, Bottou, Bengio & Haffner 1998; http://yann.lecun.com/exdb/mnist/):
"The original black and white images were size normalized to fit in a 20x20 pixel box while preserving their
aspect ratio [with anti-aliasing, hence grey levels] ... the images were centered in a 28x28 image by computing
the center of mass of the pixels, and translating the image so as to position this point at the center."

:func:`prepare_digit` follows it step by step:

1. read any picture as grey levels in [0, 1] (``spikingnn.encoding.load_grayscale``: upright as its EXIF tag
   says, 16-bit levels kept, transparency on white paper, oversized files refused before decoding);
2. make the ink bright on a black background (MNIST's polarity): the background level is the median of the
   picture's outer frame of pixels; if it is light (> 0.5), the picture was dark ink on light paper and is
   inverted;
3. subtract the background and stretch so the strongest ink is 1; levels below ``INK_FLOOR`` (paper texture,
   shadows) become 0;
4. crop to the ink's bounding box and resize it (Lanczos, i.e. anti-aliased) so that its longer side is
   20 px, keeping the aspect ratio;
5. paste it into a black 28x28 field so that its centre of mass falls on pixel (14, 14), the mean centre of
   mass of the MNIST training digits (measured: row 13.99, column 14.00), shifted back inside if needed.
"""
from __future__ import annotations

import numpy as np
from PIL import Image

from spikingnn.encoding import load_grayscale

MNIST_SIZE = 28          # the field, pixels
MNIST_BOX = 20           # the longer side of the digit's bounding box, pixels
MNIST_CENTRE = 14.0      # where the centre of mass goes (row and column index)
INK_FLOOR = 0.2          # after stretching, fainter levels count as paper, not ink


def prepare_digit(image) -> np.ndarray:
    """Bring any picture of one digit (path, PIL image or array) to MNIST's format: uint8 (28, 28), ink bright.

    Raises ``ValueError`` when the input is not a picture, is too large or holds no ink (a uniform picture),
    ``FileNotFoundError`` / ``IsADirectoryError`` for a missing file or a folder.
    """
    ink = _ink(load_grayscale(image))
    rows, cols = np.nonzero(ink)
    digit = _resize_longer_side(ink[rows.min():rows.max() + 1, cols.min():cols.max() + 1], MNIST_BOX)
    field = _centre_by_mass(digit, MNIST_SIZE, MNIST_CENTRE)
    return np.round(field * 255.0).astype(np.uint8)


def _ink(gray: np.ndarray) -> np.ndarray:
    """Steps 2-3: bright ink on 0, strongest ink 1, faint levels 0."""
    gray = np.asarray(gray, dtype=float)
    frame = np.concatenate([gray[0], gray[-1], gray[:, 0], gray[:, -1]])
    background = float(np.median(frame))
    if background > 0.5:                       # dark ink on light paper
        gray, background = 1.0 - gray, 1.0 - background
    contrast = gray.max() - background
    if contrast <= 1e-6:
        raise ValueError("the picture holds no digit: it is uniform (no ink darker or lighter than its border)")
    ink = np.clip((gray - background) / contrast, 0.0, 1.0)
    ink[ink < INK_FLOOR] = 0.0
    return ink


def _resize_longer_side(patch: np.ndarray, size: int) -> np.ndarray:
    """Step 4: anti-aliased resize of ``patch`` so its longer side is ``size`` pixels, aspect ratio kept."""
    height, width = patch.shape
    scale = size / max(height, width)
    new_shape = (max(1, round(height * scale)), max(1, round(width * scale)))
    resized = Image.fromarray(patch.astype(np.float32)).resize(new_shape[::-1], Image.Resampling.LANCZOS)
    return np.clip(np.asarray(resized, dtype=float), 0.0, 1.0)


def _centre_by_mass(digit: np.ndarray, size: int, centre: float) -> np.ndarray:
    """Step 5: a (size, size) black field with ``digit`` placed so its centre of mass lies at (centre, centre)."""
    height, width = digit.shape
    mass = digit.sum()
    centre_row = digit.sum(axis=1) @ np.arange(height) / mass
    centre_col = digit.sum(axis=0) @ np.arange(width) / mass
    top = int(np.clip(round(centre - centre_row), 0, size - height))
    left = int(np.clip(round(centre - centre_col), 0, size - width))
    field = np.zeros((size, size))
    field[top:top + height, left:left + width] = digit
    return field
