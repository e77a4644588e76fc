"""MNIST and Fashion-MNIST: the IDX file format, where the files are found, and a verified download.

Where the files are looked for, in order (the first folder holding the split's two files wins):

1. ``data_dir`` if given (the folder itself, or its ``<name>/`` subfolder),
2. ``$SPIKINGNN_DATA/<name>``,
3. ``~/.cache/spikingnn/<name>`` (:data:`CACHE_ROOT`; downloads land here),
4. ``/usr/share/datasets/<name>`` (:data:`DEBIAN_ROOT`; ``apt-get install dataset-fashion-mnist`` puts
   Fashion-MNIST there),

with ``<name>`` = ``mnist`` or ``fashion-mnist`` and each file either gzip-compressed
(``train-images-idx3-ubyte.gz``) or raw (``train-images-idx3-ubyte``). If none has them and ``download`` is
true, :func:`download_dataset` fetches the four ``.gz`` files from the dataset's public mirrors
(:data:`DATASETS`) with a progress bar, checks each against its official md5, and renames it into the cache
only when it is complete and correct. Files found on disk are checked for structure (header, sizes,
shapes), not md5: Debian's package recompresses Fashion-MNIST, so its .gz files differ from the official ones.

The IDX format (LeCun et al., http://yann.lecun.com/exdb/mnist/): a big-endian header, then the array in
C order. Header: two zero bytes, a dtype code (0x08 uint8, 0x09 int8, 0x0B int16, 0x0C int32, 0x0D float32,
0x0E float64), the number of dimensions d, then d uint32 sizes.
"""
from __future__ import annotations

import dataclasses
import gzip
import hashlib
import http.client
import os
import urllib.error
import urllib.request
import zlib
from pathlib import Path

import numpy as np
from tqdm import tqdm

from spikingnn._io import atomic_write
from spikingnn._validation import check_choice

IDX_DTYPES = {0x08: np.dtype("u1"), 0x09: np.dtype("i1"), 0x0B: np.dtype(">i2"), 0x0C: np.dtype(">i4"),
              0x0D: np.dtype(">f4"), 0x0E: np.dtype(">f8")}
SPLITS = {"train": ("train-images-idx3-ubyte", "train-labels-idx1-ubyte"),
          "test": ("t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte")}


@dataclasses.dataclass(frozen=True)
class DatasetSource:
    """Where a dataset is downloaded from: base URLs tried in order, and the md5 of each official .gz file."""
    mirrors: tuple[str, ...]
    md5: dict[str, str]


DATASETS = {
    "mnist": DatasetSource(
        mirrors=("https://ossci-datasets.s3.amazonaws.com/mnist/",
                 "http://yann.lecun.com/exdb/mnist/"),
        md5={"train-images-idx3-ubyte.gz": "f68b3c2dcbeaaa9fbdd348bbdeb94873",
             "train-labels-idx1-ubyte.gz": "d53e105ee54ea40749a09fcbcd1e9432",
             "t10k-images-idx3-ubyte.gz": "9fb629c4189551a2d022fa330f9573f3",
             "t10k-labels-idx1-ubyte.gz": "ec29112dd5afa0611ce80d1b7f02629c"}),
    "fashion-mnist": DatasetSource(
        mirrors=("http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/",
                 "https://raw.githubusercontent.com/zalandoresearch/fashion-mnist/master/data/fashion/"),
        md5={"train-images-idx3-ubyte.gz": "8d4fb7e6c68d591d4c3dfef9ec88bf0d",
             "train-labels-idx1-ubyte.gz": "25c81989df183df01b3e8a0aad5dffbe",
             "t10k-images-idx3-ubyte.gz": "bef4ecab320f06d8554ea6380940ec79",
             "t10k-labels-idx1-ubyte.gz": "bb300cfdad3c16e7a12a480ee83cd310"}),
}
ENV_VAR = "SPIKINGNN_DATA"
CACHE_ROOT = "~/.cache/spikingnn"
DEBIAN_ROOT = "/usr/share/datasets"
DOWNLOAD_TIMEOUT = 30.0   # seconds without data before a mirror is given up


# ------------------------------------------------------------------------------------------------ IDX files
def read_idx(path) -> np.ndarray:
    """Read an IDX file, raw or gzip-compressed (recognised by its content), into a native-endian array.

    Raises ``ValueError`` naming the file if it is not valid IDX: wrong magic number, unknown dtype code,
    a size of 0 dimensions, or a length that does not match the header (truncated or trailing bytes).
    """
    path = Path(path)
    raw = path.read_bytes()
    if raw[:2] == b"\x1f\x8b":
        try:
            raw = gzip.decompress(raw)
        except (EOFError, OSError, zlib.error) as err:
            raise ValueError(f"{path}: corrupt or truncated gzip data ({err})") from err
    if len(raw) < 4 or raw[:2] != b"\x00\x00":
        raise ValueError(f"{path}: not an IDX file (magic number must start with two zero bytes; got {raw[:4]!r})")
    code, ndim = raw[2], raw[3]
    if code not in IDX_DTYPES:
        raise ValueError(f"{path}: unknown IDX dtype code 0x{code:02X} (expected one of "
                         f"{', '.join(f'0x{c:02X}' for c in IDX_DTYPES)})")
    if ndim == 0 or len(raw) < 4 + 4 * ndim:
        raise ValueError(f"{path}: IDX header declares {ndim} dimensions but the file ends after {len(raw)} bytes")
    shape = tuple(int(n) for n in np.frombuffer(raw, ">u4", count=ndim, offset=4))
    dtype = IDX_DTYPES[code]
    expected = 4 + 4 * ndim + int(np.prod(shape, dtype=np.int64)) * dtype.itemsize
    if len(raw) != expected:
        what = "truncated" if len(raw) < expected else "has trailing bytes"
        raise ValueError(f"{path}: IDX file {what}: header {shape} of {dtype} needs {expected} bytes, "
                         f"file has {len(raw)}")
    data = np.frombuffer(raw, dtype, offset=4 + 4 * ndim).reshape(shape)
    return data.astype(dtype.newbyteorder("="))


def write_idx(path, array) -> Path:
    """Write ``array`` as an IDX file (gzip-compressed if ``path`` ends in .gz), atomically."""
    array = np.asarray(array)
    codes = {dtype.newbyteorder("="): code for code, dtype in IDX_DTYPES.items()}
    code = codes.get(array.dtype.newbyteorder("="))
    if code is None or not 1 <= array.ndim <= 255:
        raise ValueError(f"array must be 1-255 dimensional with dtype uint8, int8, int16, int32, float32 or "
                         f"float64; got {array.ndim} dimensions of {array.dtype}")
    header = bytes([0, 0, code, array.ndim]) + np.asarray(array.shape, ">u4").tobytes()
    payload = header + np.ascontiguousarray(array, IDX_DTYPES[code]).tobytes()
    path = Path(path)
    with atomic_write(path) as f:
        f.write(gzip.compress(payload, mtime=0) if path.suffix == ".gz" else payload)
    return path


# --------------------------------------------------------------------------------------------- discovery
def _check_name(name: str) -> str:
    return check_choice("name", name, DATASETS)


def search_dirs(name: str, data_dir=None) -> list[Path]:
    """The folders searched for dataset ``name``, in order (see the module docstring).

    A ``data_dir`` that is not an existing folder raises ``FileNotFoundError`` naming data_dir.
    """
    _check_name(name)
    dirs = []
    if data_dir is not None:
        if not Path(data_dir).expanduser().is_dir():
            # a typo in data_dir must not silently fall through to another copy of the data
            raise FileNotFoundError(f"data_dir {str(data_dir)!r} is not an existing folder")
        dirs += [Path(data_dir).expanduser(), Path(data_dir).expanduser() / name]
    if os.environ.get(ENV_VAR):
        dirs.append(Path(os.environ[ENV_VAR]).expanduser() / name)
    return dirs + [Path(CACHE_ROOT).expanduser() / name, Path(DEBIAN_ROOT) / name]


def _split_files(folder: Path, split: str) -> tuple[Path, Path] | None:
    """The (images, labels) files of ``split`` in ``folder``, .gz preferred over raw, or None."""
    found = []
    for stem in SPLITS[split]:
        candidates = [folder / f"{stem}.gz", folder / stem]
        found.append(next((c for c in candidates if c.is_file()), None))
    return None if None in found else tuple(found)


def find_dataset(name: str, data_dir=None, splits=("train", "test")) -> Path | None:
    """The first folder of :func:`search_dirs` holding every file of ``splits``, or None (no download)."""
    for split in splits:
        check_choice("split", split, SPLITS)
    return next((d for d in search_dirs(name, data_dir) if all(_split_files(d, s) for s in splits)), None)


# ---------------------------------------------------------------------------------------------- download
def _download(url: str, dest: Path, md5: str) -> None:
    """Stream ``url`` into ``dest`` through a temporary file, with a progress bar; keep it only if it is
    complete and its md5 matches. Raises OSError (network, HTTP status) or ValueError (truncated, corrupt)."""
    digest, received = hashlib.md5(), 0
    with urllib.request.urlopen(url, timeout=DOWNLOAD_TIMEOUT) as response, atomic_write(dest) as f:
        total = int(response.headers.get("Content-Length") or 0) or None
        with tqdm(total=total, unit="B", unit_scale=True, desc=dest.name) as bar:
            while chunk := response.read(1 << 16):
                f.write(chunk)
                digest.update(chunk)
                received += len(chunk)
                bar.update(len(chunk))
        if total is not None and received != total:
            raise ValueError(f"truncated download from {url}: received {received} of {total} bytes")
        if digest.hexdigest() != md5:
            raise ValueError(f"md5 mismatch for {url}: expected {md5}, got {digest.hexdigest()}")


def download_dataset(name: str) -> Path:
    """Download the four .gz files of ``name`` into ``CACHE_ROOT/<name>``, trying each mirror in turn.

    Each file is verified against its official md5 before it is renamed into place, so the cache never holds
    a partial or corrupt file. Returns the folder; raises ``FileNotFoundError`` listing every failed attempt.
    """
    source = DATASETS[_check_name(name)]
    folder = Path(CACHE_ROOT).expanduser() / name
    for filename, md5 in source.md5.items():
        if (folder / filename).is_file():
            continue
        failures = []
        for mirror in source.mirrors:
            url = mirror.rstrip("/") + "/" + filename
            try:
                _download(url, folder / filename, md5)
                break
            except (OSError, ValueError, http.client.HTTPException) as err:   # URLError, timeouts: OSErrors
                failures.append(f"{url}: {err}")
        else:
            raise FileNotFoundError(f"could not download {filename}:\n  " + "\n  ".join(failures))
    return folder


# --------------------------------------------------------------------------------------------------- load
class DatasetNotFoundError(FileNotFoundError):
    """A dataset is in none of the searched folders and was not downloaded.

    ``download_error`` is why the download failed, or None if downloading was off. ``str()`` is the whole
    explanation for a Python user; ``name``, ``searched`` (the folders, in order) and ``reason`` (why there
    was no download) let another front end, such as the command line, word its own.
    """

    def __init__(self, name: str, searched: list[Path], download_error: str | None):
        self.name, self.searched = name, searched
        self.reason = ("Downloading is off (download=False)." if download_error is None
                       else f"Downloading failed: {download_error}")
        looked = "\n  ".join(str(d) for d in searched)
        source = ", ".join(DATASETS[name].mirrors)
        # after a failed download, suggesting download=True again would only repeat the failure
        fetch = (f"downloading them on a machine with network access from: {source}" if download_error
                 else f"letting spikingnn download them (download=True) from: {source}")
        debian = "\n  - on Debian/Ubuntu: apt-get install dataset-fashion-mnist" if name == "fashion-mnist" else ""
        super().__init__(
            f"{name} not found. Looked in:\n  {looked}\n{self.reason}\n"
            f"Provide the four IDX files ({', '.join(DATASETS[name].md5)}, .gz or uncompressed) by one of:\n"
            f"  - passing data_dir='/folder/with/the/files'\n"
            f"  - setting {ENV_VAR}=/folder so that /folder/{name}/ holds them\n"
            f"  - copying them into {Path(CACHE_ROOT).expanduser() / name}{debian}\n"
            f"  - {fetch}")


def load_dataset(name: str, split: str = "train", data_dir=None, download: bool = True):
    """Images ``(N, 28, 28)`` uint8 (0..255) and labels ``(N,)`` uint8 of split 'train' or 'test'.

    Searches :func:`search_dirs` in order; downloads into the cache if nothing is found and ``download`` is
    true. Raises :class:`DatasetNotFoundError` (a ``FileNotFoundError``) with one message saying where it looked
    and how to provide the files, ``FileNotFoundError`` if ``data_dir`` is given but is not a folder, and
    ``ValueError`` naming the file if a file is corrupt or images and labels do not match.
    """
    _check_name(name)
    check_choice("split", split, SPLITS)
    folder = find_dataset(name, data_dir, splits=(split,))
    if folder is None:
        searched = search_dirs(name, data_dir)
        if not download:
            raise DatasetNotFoundError(name, searched, None)
        try:
            folder = download_dataset(name)
        except FileNotFoundError as err:
            raise DatasetNotFoundError(name, searched, str(err)) from None
    images_path, labels_path = _split_files(folder, split)
    images, labels = read_idx(images_path), read_idx(labels_path)
    if images.dtype != np.uint8 or images.ndim != 3 or images.shape[1:] != (28, 28):
        raise ValueError(f"{images_path}: expected uint8 images of shape (N, 28, 28); "
                         f"got {images.dtype} {images.shape}")
    if labels.dtype != np.uint8 or labels.shape != images.shape[:1] or labels.max(initial=0) > 9:
        raise ValueError(f"{labels_path}: expected {images.shape[0]} uint8 labels in 0..9 to match "
                         f"{images_path.name}; got {labels.dtype} {labels.shape}")
    return images, labels


def load_mnist(split: str = "train", data_dir=None, download: bool = True):
    """MNIST handwritten digits (LeCun et al. 1998): 60,000 train / 10,000 test, see :func:`load_dataset`."""
    return load_dataset("mnist", split, data_dir, download)


def load_fashion_mnist(split: str = "train", data_dir=None, download: bool = True):
    """Fashion-MNIST (Xiao et al. 2017), Zalando's article pictures in MNIST's format, see :func:`load_dataset`."""
    return load_dataset("fashion-mnist", split, data_dir, download)
