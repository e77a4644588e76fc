"""Saving and loading trained classifiers: one ``.npz`` file, no pickles.

A model file is an ordinary NumPy ``.npz`` archive (a zip of ``.npy`` arrays) holding

* ``__spikingnn_header__``: a JSON document stored as a ``uint8`` array of its UTF-8 bytes::

      {"format": "spikingnn.SNNClassifier", "version": 1, "spikingnn_version": "0.1.0",
       "config": {...}}

  where ``config`` is the first half of ``SNNClassifier.get_state()``: architecture, encoding,
  hyper-parameters, completed epochs, optimiser step, training history, RNG state;
* every array of the second half of ``get_state()`` (weights, biases, optimiser moments, ...) under its own name.

Anyone can read a model with NumPy and a JSON parser alone. Files are written through
``spikingnn._io.atomic_write`` (temporary file, then rename), so a crash never leaves half a model on disk,
and read with ``allow_pickle=False``, so opening a file can never run code. A file that is not a zip, is
truncated or corrupt, lacks our header, or was written by a newer format version is refused with a
``ValueError`` naming the file and the problem.
"""
from __future__ import annotations

import json
import zipfile
import zlib
from pathlib import Path

import numpy as np

from spikingnn import __version__
from spikingnn._io import atomic_write

FORMAT_NAME = "spikingnn.SNNClassifier"
FORMAT_VERSION = 1
HEADER_KEY = "__spikingnn_header__"
_ZIP_MAGIC = b"PK\x03\x04"


def _json_default(value):
    """Let NumPy scalars (e.g. a float32 loss in the history) through as plain numbers."""
    if isinstance(value, np.generic):
        return value.item()
    raise TypeError(f"model state is not JSON-serialisable: {type(value).__name__} {value!r}")


def save(model, path) -> Path:
    """Write ``model`` (anything with ``get_state()``) to ``path`` as an ``.npz`` model file; return the path.

    The path is used exactly as given (no ``.npz`` is appended). The previous file at ``path``, if any, is
    replaced only once the new one is complete.
    """
    path = Path(path)
    config, arrays = model.get_state()
    header = {"format": FORMAT_NAME, "version": FORMAT_VERSION, "spikingnn_version": __version__,
              "config": config}
    blob = np.frombuffer(json.dumps(header, default=_json_default).encode("utf-8"), dtype=np.uint8)
    if HEADER_KEY in arrays:
        raise ValueError(f"model state must not contain an array named {HEADER_KEY!r}")
    for name, array in arrays.items():
        if np.asarray(array).dtype.hasobject:
            raise ValueError(f"model state array {name!r} holds Python objects; only numeric arrays can be saved")
    with atomic_write(path, "wb") as handle:
        np.savez(handle, **{HEADER_KEY: blob}, **arrays)
    return path


def read_state(path) -> tuple[dict, dict[str, np.ndarray]]:
    """Read a model file and return ``(config, arrays)`` as ``get_state()`` gave them, checking the format.

    Raises ``FileNotFoundError`` if there is no such file and ``ValueError`` if it is not a readable spikingnn
    model file of a supported version.
    """
    path = Path(path)
    with open(path, "rb") as handle:
        magic = handle.read(len(_ZIP_MAGIC))
    if magic != _ZIP_MAGIC:
        raise ValueError(f"{path} is not a spikingnn model file: not an .npz (zip) archive")
    try:
        with np.load(path, allow_pickle=False) as archive:
            has_header = HEADER_KEY in archive.files
            arrays = {name: archive[name] for name in archive.files} if has_header else {}
    except (zipfile.BadZipFile, zlib.error, EOFError, OSError, ValueError) as exc:
        raise ValueError(f"{path} cannot be read as a model file (corrupt or truncated?): "
                         f"{type(exc).__name__}: {exc}") from None
    if not has_header:
        raise ValueError(f"{path} is not a spikingnn model file: an .npz archive without the "
                         f"{HEADER_KEY!r} header (was it written by spikingnn.save?)")
    header = _parse_header(path, arrays.pop(HEADER_KEY))
    return header["config"], arrays


def _parse_header(path: Path, raw: np.ndarray) -> dict:
    """Decode and check the JSON header of the model file at ``path``."""
    try:
        header = json.loads(np.asarray(raw, dtype=np.uint8).tobytes().decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError, ValueError) as exc:
        raise ValueError(f"{path} has a corrupt model header ({exc})") from None
    if not isinstance(header, dict) or header.get("format") != FORMAT_NAME:
        found = header.get("format") if isinstance(header, dict) else type(header).__name__
        raise ValueError(f"{path} is not a spikingnn model file: header format is {found!r}, "
                         f"expected {FORMAT_NAME!r}")
    version = header.get("version")
    if not isinstance(version, int) or version < 1:
        raise ValueError(f"{path} has an invalid model format version {version!r}")
    if version > FORMAT_VERSION:
        raise ValueError(f"{path} was written by a newer spikingnn (model format version {version}, "
                         f"written by spikingnn {header.get('spikingnn_version', '?')}); this spikingnn "
                         f"{__version__} reads versions up to {FORMAT_VERSION}: upgrade spikingnn to load it")
    if not isinstance(header.get("config"), dict):
        raise ValueError(f"{path} has a model header without its 'config' section")
    return header


def load(path):
    """Load a classifier saved with :func:`save` (``spikingnn.load``); ready to predict or to continue fitting.

    >>> model = spikingnn.load("runs/mnist/model.npz")   # doctest: +SKIP
    >>> model.predict(images)                             # doctest: +SKIP
    """
    from spikingnn.training.model import SNNClassifier

    config, arrays = read_state(path)
    try:
        return SNNClassifier.from_state(config, arrays)
    except (KeyError, TypeError, ValueError) as exc:
        raise ValueError(f"{path} holds an inconsistent model state ({type(exc).__name__}: {exc})") from None
