"""A small classifier trained in seconds, so every "look inside a trained network" script runs out of the box.

``demo_digits`` gives MNIST digits when the files are on this machine (``spikingnn.datasets``; nothing is
downloaded) and otherwise synthetic ones: the ten numerals drawn with a font at random sizes, stroke widths and
angles, centred like MNIST and shifted a little. ``demo_model`` trains a 784-100-10 ``SNNClassifier`` with its
default recipe on a few thousand of them; ``load_or_train`` loads a saved model instead when a path is given.
The rest is what those scripts share: their --model/--digit/--seed options, picking a test digit, recording
one image, and the weights a model started from.
"""
from __future__ import annotations

import numpy as np
from PIL import Image, ImageDraw, ImageFont
from scipy.ndimage import shift

from spikingnn._validation import as_rng
from spikingnn.preprocess import prepare_digit

_CANVAS = 56        # numerals are drawn at twice MNIST's size; prepare_digit reduces them (anti-aliased)


def synthetic_digits(n: int, rng=None) -> tuple[np.ndarray, np.ndarray]:
    """``n`` MNIST-like numerals, uint8 (n, 28, 28) with bright ink on black, and their labels (n,).

    Each is the numeral in the default font (38-46 px, stroke 1-2 px, on a 56 px canvas), rotated by up to
    15 degrees, brought to MNIST's format by ``prepare_digit`` and shifted by up to 2 px.
    """
    rng = as_rng(rng)
    labels = rng.integers(0, 10, size=n)
    images = np.empty((n, 28, 28), dtype=np.uint8)
    fonts = {size: ImageFont.load_default(size=size) for size in range(38, 47, 2)}
    for k, label in enumerate(labels):
        canvas = Image.new("L", (_CANVAS, _CANVAS))
        font = fonts[int(rng.choice(list(fonts)))]
        ImageDraw.Draw(canvas).text((_CANVAS / 2, _CANVAS / 2), str(label), fill=255, font=font, anchor="mm",
                                    stroke_width=int(rng.integers(1, 3)), stroke_fill=255)
        canvas = canvas.rotate(rng.uniform(-15, 15), resample=Image.Resampling.BILINEAR)
        images[k] = shift(prepare_digit(canvas), rng.integers(-2, 3, size=2), order=0, mode="constant")
    return images, labels


def demo_digits(n: int, split: str = "train", rng=None, data_dir=None) -> tuple[np.ndarray, np.ndarray, str]:
    """``n`` digits, their labels and where they came from ("MNIST" or "synthetic digits").

    MNIST if its files are found locally (a random subset of ``split``), synthetic numerals otherwise.
    """
    rng = as_rng(rng)
    try:
        from spikingnn.datasets import load_mnist

        images, labels = load_mnist(split, data_dir=data_dir, download=False)
    except (OSError, ValueError):
        return (*synthetic_digits(n, rng), "synthetic digits")
    pick = rng.choice(len(images), size=min(n, len(images)), replace=False)
    return images[pick], labels[pick], "MNIST"


def demo_model(hidden: int = 100, n_train: int = 6000, epochs: int = 1, seed: int = 0):
    """A 784-``hidden``-10 SNNClassifier trained on ``n_train`` demo digits for ``epochs`` (a few seconds).

    The recipe is SNNClassifier's defaults (its docstring lists them), the same as ``spikingnn train``'s and
    ``examples/train_mnist.py``'s; only the data and the time are smaller: 6,000 images and one epoch instead of
    60,000 and five. With the defaults, on MNIST: about 90 % test accuracy.
    """
    from spikingnn.training.model import SNNClassifier

    X, y, source = demo_digits(n_train, "train", rng=seed)
    print(f"training a small 784-{hidden}-10 model (SNNClassifier's defaults) on {len(X)} {source}, "
          f"{epochs} epoch{'s' * (epochs != 1)} ...")
    model = SNNClassifier(hidden=(hidden,), epochs=epochs, random_state=seed)
    return model.fit(X, y, progress=False)


def load_or_train(path=None, **demo_kwargs):
    """The model saved at ``path`` (``spikingnn.serialization.load``), or a fresh ``demo_model`` when None."""
    if path is None:
        return demo_model(**demo_kwargs)
    from spikingnn.serialization import load

    return load(path)


def add_model_arguments(parser, *, digit=True):
    """The options shared by the scripts that look inside a classifier: --model, --seed and (``digit``) --digit."""
    parser.add_argument("--model", help="a saved model (.npz). Without it a small one is trained first, with "
                                         "SNNClassifier's default recipe (a few seconds).")
    if digit:
        parser.add_argument("--digit", type=int, choices=range(10), metavar="0-9",
                            help="show a test image of this class (default: the first test image)")
    parser.add_argument("--seed", type=int, default=0,
                        help="seed of the demo model and of the test images drawn (default 0)")
    return parser


def pick_test_digit(digit=None, seed=0) -> tuple[np.ndarray, int]:
    """One test image (28, 28) uint8 and its label: the first of class ``digit``, or the first one if None."""
    images, labels, _ = demo_digits(500, "test", rng=seed)
    matches = np.flatnonzero(labels == digit) if digit is not None else np.arange(1)
    if matches.size == 0:
        raise ValueError(f"no test image of class {digit} among the {len(labels)} drawn; try another --seed")
    return images[matches[0]], int(labels[matches[0]])


def record_one(model, image) -> tuple[np.ndarray, list, list]:
    """Run ``model`` on one image: input spikes (T, n_in), and per layer the spikes and v, each (T, n_l)."""
    recording = model.record(np.asarray(image)[None])
    return (recording.input_spikes[:, 0], [s[:, 0] for s in recording.spikes], [v[:, 0] for v in recording.v])


def initial_weights(model) -> list:
    """The weights ``model`` started from, before training: an untrained copy with the same hyper-parameters
    (so the same ``random_state``, from which SNNClassifier draws its initial weights), initialised for the same
    inputs and classes."""
    fresh = type(model)(**model.get_params())
    fresh._initialise(model.n_features_in_, model.classes_)
    return fresh.weights_
