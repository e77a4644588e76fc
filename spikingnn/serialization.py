"""Saving and loading trained classifiers: one ``.npz`` file, no pickles, nothing trusted before it is checked.

A model file is an ordinary NumPy ``.npz`` archive (a zip of ``.npy`` arrays) holding

* ``__spikingnn_header__``: a JSON document stored as a ``uint8`` array of its UTF-8 bytes::

      {"format": "spikingnn.SNNClassifier", "version": 1, "spikingnn_version": "0.1.0",
       "config": {...}}

  where ``config`` is the first half of ``SNNClassifier.get_state()``: architecture, encoding,
  hyper-parameters, completed epochs, optimiser step, training history;
* every array of the second half of ``get_state()`` (weights, biases, optimiser moments, ...) under its own name.

Anyone can read a model with NumPy and a JSON parser alone. Files are written through
``spikingnn._io.atomic_write`` (temporary file, then rename), so a crash never leaves half a model on disk.

Models are files people share and download, so reading one trusts nothing in it:

1. the zip directory: only ``.npy`` members, stored or deflated, no duplicates, at most ``MAX_MEMBERS``;
2. the header (at most ``MAX_HEADER_BYTES``): its format, version and the model class's ``check_state``, which
   type- and range-checks every field;
3. each array's ``.npy`` header, read from the member stream before any of its data: its dtype (never a Python
   object, which would need pickle) and shape must be those the header's architecture declares (the class's
   ``check_state`` again, given the layout), and the member's size exactly that header plus that data;
4. only then the data, inflated through a bounded reader: never more bytes than the ``.npy`` header declared,
   so a small member that would inflate to gigabytes (a zip bomb) costs nothing;
5. the values (``from_state``: finite weights, sorted classes).

Anything else is refused with one ``ValueError`` line naming the file, the member or key, and what was
expected; a missing or unreadable file raises ``OSError``.

This module imports no model: a file's ``format`` names its class in ``MODEL_CLASSES`` (a registry of
``module:class`` strings, imported on first use), and a class is saved and read through its
``get_state`` / ``check_state`` / ``from_state`` protocol. The models import this module, never the reverse.
"""
from __future__ import annotations

import importlib
import json
import math
import zipfile
import zlib
from pathlib import Path

import numpy as np
from numpy.lib import format as npy

from spikingnn import __version__
from spikingnn._io import atomic_write

FORMAT_NAME = "spikingnn.SNNClassifier"
FORMAT_VERSION = 1
HEADER_KEY = "__spikingnn_header__"
MODEL_CLASSES = {FORMAT_NAME: "spikingnn.training.model:SNNClassifier"}
MAX_HEADER_BYTES = 1 << 22          # the JSON header: 4 MiB holds a history of thousands of epochs
MAX_MEMBERS = 1024                  # arrays in one file (a 16-layer Adam model has ~260)
MAX_NPY_HEADER = 10_000             # bytes of one .npy header (numpy's own default limit)
_CHUNK = 1 << 20                    # bytes inflated at a time
_ZIP_MAGIC = b"PK\x03\x04"
_COMPRESSIONS = (zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED)
_NPY_VERSIONS = {(1, 0): npy.read_array_header_1_0, (2, 0): npy.read_array_header_2_0}


def _json_default(value):
    """Let NumPy scalars (e.g. a float32 loss in the history) through as plain numbers."""
    if isinstance(value, np.generic):
        return value.item()
    raise TypeError(f"model state is not JSON-serialisable: {type(value).__name__} {value!r}")


def _format_of(model_class) -> str:
    name = f"{model_class.__module__}:{model_class.__qualname__}"
    for format_name, registered in MODEL_CLASSES.items():
        if registered == name:
            return format_name
    raise ValueError(f"model must be an instance of a registered model class ({', '.join(MODEL_CLASSES.values())}); "
                     f"got {name}")


def save(model, path) -> Path:
    """Write ``model`` (an instance of a class in ``MODEL_CLASSES``) to ``path`` as an ``.npz`` model file.

    The path is used exactly as given (no ``.npz`` is appended) and returned. The previous file at ``path``, if
    any, is replaced only once the new one is complete.
    """
    path = Path(path)
    header = {"format": _format_of(type(model)), "version": FORMAT_VERSION, "spikingnn_version": __version__}
    config, arrays = model.get_state()
    blob = np.frombuffer(json.dumps({**header, "config": config}, default=_json_default).encode("utf-8"), np.uint8)
    if blob.size > MAX_HEADER_BYTES:
        raise ValueError(f"the model's header takes {blob.size} bytes; a model file holds at most "
                         f"{MAX_HEADER_BYTES} (MAX_HEADER_BYTES)")
    if HEADER_KEY in arrays:
        raise ValueError(f"model state must not contain an array named {HEADER_KEY!r}")
    for name, array in arrays.items():
        if np.asarray(array).dtype.hasobject:
            raise ValueError(f"model state array {name!r} holds Python objects; only numeric arrays can be saved")
    with atomic_write(path, "wb") as handle:
        np.savez(handle, **{HEADER_KEY: blob}, **arrays)
    return path


def read_state(path) -> tuple[dict, dict[str, np.ndarray]]:
    """Read and check a model file; return ``(config, arrays)`` as ``get_state()`` gave them.

    Raises ``OSError`` if the file cannot be opened and ``ValueError`` if it is not a valid spikingnn model file
    of a supported version (see the module docstring for what is checked).
    """
    return _read(Path(path))[1:]


def load(path):
    """Load a model saved with :func:`save` (``spikingnn.load``); ready to predict or to continue fitting.

    >>> model = spikingnn.load("runs/mnist/model.npz")   # doctest: +SKIP
    >>> model.predict(images)                             # doctest: +SKIP
    """
    path = Path(path)
    model_class, config, arrays = _read(path)
    try:
        return model_class.from_state(config, arrays)
    except ValueError as exc:
        raise ValueError(f"{path}: {exc}") from None


def _read(path: Path) -> tuple:
    """(model class, config, arrays) of the model file at ``path``, every check of the module docstring made."""
    with open(path, "rb") as handle:
        if handle.read(len(_ZIP_MAGIC)) != _ZIP_MAGIC:
            raise ValueError(f"{path} is not a spikingnn model file: not an .npz (zip) archive")
        handle.seek(0)
        try:
            with zipfile.ZipFile(handle) as archive:
                return _read_archive(path, archive)
        except (zipfile.BadZipFile, zlib.error, EOFError, NotImplementedError, RuntimeError) as exc:
            # RuntimeError: zipfile's word for an encrypted member; NotImplementedError: an unknown compression.
            raise ValueError(f"{path} cannot be read as a model file (corrupt or truncated?): "
                             f"{type(exc).__name__}: {exc}") from None


def _read_archive(path: Path, archive: zipfile.ZipFile) -> tuple:
    infos = archive.infolist()
    if len(infos) > MAX_MEMBERS:
        raise ValueError(f"{path} holds {len(infos)} members; a model file holds at most {MAX_MEMBERS}")
    members = {}
    for info in infos:
        name = info.filename.removesuffix(".npy")
        if name == info.filename or name in members:
            problem = "is not an .npy array" if name == info.filename else "appears twice"
            raise ValueError(f"{path}: member {info.filename!r} {problem}; a model file holds distinct .npy arrays")
        if info.compress_type not in _COMPRESSIONS:
            raise ValueError(f"{path}: member {info.filename!r} uses zip compression method {info.compress_type}; "
                             f"expected stored (0) or deflated (8), as numpy.savez writes")
        members[name] = info
    if HEADER_KEY not in members:
        raise ValueError(f"{path} is not a spikingnn model file: an .npz archive without the "
                         f"{HEADER_KEY!r} header (was it written by spikingnn.save?)")
    header_info = members.pop(HEADER_KEY)
    shape, dtype = _npy_layout(path, archive, header_info)
    if dtype != np.uint8 or len(shape) != 1 or not 0 < shape[0] <= MAX_HEADER_BYTES:
        raise ValueError(f"{path}: member {header_info.filename!r} must be a uint8 array of 1 to {MAX_HEADER_BYTES} "
                         f"bytes; got {dtype} of shape {shape}")
    header = _parse_header(path, _read_npy(path, archive, header_info, shape, dtype))
    model_class = _model_class(header["format"])
    layout = {name: _npy_layout(path, archive, info) for name, info in members.items()}
    try:
        model_class.check_state(header["config"], layout)
    except ValueError as exc:
        raise ValueError(f"{path}: {exc}") from None
    arrays = {name: _read_npy(path, archive, members[name], *layout[name]) for name in members}
    return model_class, header["config"], arrays


def _npy_header(path: Path, stream, info: zipfile.ZipInfo) -> tuple:
    """Read the .npy header at the start of ``stream``: (shape, fortran_order, dtype)."""
    try:
        version = npy.read_magic(stream)
        if version not in _NPY_VERSIONS:
            raise ValueError(f"npy format version {version} is not 1.0 or 2.0")
        shape, fortran_order, dtype = _NPY_VERSIONS[version](stream, max_header_size=MAX_NPY_HEADER)
    except ValueError as exc:
        raise ValueError(f"{path}: member {info.filename!r} is not a valid .npy array ({exc})") from None
    if dtype.hasobject:
        raise ValueError(f"{path}: member {info.filename!r} holds Python objects, which only pickle could load; "
                         f"model files hold numeric arrays only")
    return shape, fortran_order, dtype


def _npy_layout(path: Path, archive: zipfile.ZipFile, info: zipfile.ZipInfo) -> tuple:
    """(shape, dtype) of a member, from its .npy header alone: none of its data is inflated."""
    with archive.open(info) as stream:
        shape, _, dtype = _npy_header(path, stream, info)
    return shape, dtype


def _read_npy(path: Path, archive: zipfile.ZipFile, info: zipfile.ZipInfo, shape: tuple, dtype) -> np.ndarray:
    """The member's array, whose ``shape`` and ``dtype`` have been checked: the member must be exactly its .npy
    header and those data, which are inflated a chunk at a time straight into the array."""
    with archive.open(info) as stream:
        _, fortran_order, _ = _npy_header(path, stream, info)
        data_start, count = stream.tell(), math.prod(shape)
        if info.file_size != data_start + count * dtype.itemsize:
            raise ValueError(f"{path}: member {info.filename!r} declares {info.file_size} bytes; its .npy header "
                             f"describes {data_start + count * dtype.itemsize} ({dtype} of shape {shape})")
        flat = np.empty(count, dtype)
        buffer = memoryview(flat.view(np.uint8))
        filled = 0
        while filled < buffer.nbytes:
            chunk = stream.read(min(_CHUNK, buffer.nbytes - filled))
            if not chunk:
                raise ValueError(f"{path}: member {info.filename!r} ends after {filled} of its "
                                 f"{buffer.nbytes} data bytes (truncated?)")
            buffer[filled:filled + len(chunk)] = chunk
            filled += len(chunk)
    return flat.reshape(shape, order="F" if fortran_order else "C")


def _parse_header(path: Path, raw: np.ndarray) -> dict:
    """Decode and check the JSON header of the model file at ``path``."""
    try:
        header = json.loads(raw.tobytes().decode("utf-8"))
    except (UnicodeDecodeError, ValueError, RecursionError) as exc:
        # ValueError covers invalid JSON and integers too long to convert; RecursionError, absurd nesting.
        raise ValueError(f"{path} has a corrupt model header ({type(exc).__name__}: {str(exc)[:200]})") from None
    if not isinstance(header, dict) or header.get("format") not in MODEL_CLASSES:
        found = header.get("format") if isinstance(header, dict) else type(header).__name__
        raise ValueError(f"{path} is not a spikingnn model file: header format is {str(found)[:80]!r}, "
                         f"expected {' or '.join(map(repr, MODEL_CLASSES))}")
    version = header.get("version")
    if not isinstance(version, int) or isinstance(version, bool) or version < 1:
        raise ValueError(f"{path} has an invalid model format version {str(version)[:80]!r}; expected an integer "
                         f"in [1, {FORMAT_VERSION}]")
    if version > FORMAT_VERSION:
        raise ValueError(f"{path} was written by a newer spikingnn (model format version {version}, "
                         f"written by spikingnn {str(header.get('spikingnn_version', '?'))[:40]}); this spikingnn "
                         f"{__version__} reads versions up to {FORMAT_VERSION}: upgrade spikingnn to load it")
    if not isinstance(header.get("config"), dict):
        raise ValueError(f"{path} has a model header without its 'config' section (a JSON object)")
    return header


def _model_class(format_name: str):
    """The class registered for ``format_name``, imported on first use."""
    module_name, _, class_name = MODEL_CLASSES[format_name].partition(":")
    return getattr(importlib.import_module(module_name), class_name)
