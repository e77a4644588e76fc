"""MNIST, Fashion-MNIST, CIFAR-10 and CIFAR-100: their file formats, where the files are found, a verified download.

Where the files are looked for, in order (the first folder holding the split's files wins):

1. ``data_dir`` if given (the folder itself, or its ``<name>/`` subfolder),
2. ``$SPIKINGNN_DATA/<name>``,
3. ``~/.cache/spikingnn/<name>`` (:data:`CACHE_ROOT`; downloads land here),
4. ``/usr/share/datasets/<name>`` (:data:`DEBIAN_ROOT`; ``apt-get install dataset-fashion-mnist`` puts
   Fashion-MNIST there),

with ``<name>`` = ``mnist``, ``fashion-mnist``, ``cifar-10`` or ``cifar-100``. MNIST's are IDX files, each
either gzip-compressed (``train-images-idx3-ubyte.gz``) or raw (``train-images-idx3-ubyte``); CIFAR's are the
``.bin`` files of the binary version, in the folder itself or in the subfolder its tarball unpacks into
(``cifar-10-batches-bin/``, ``cifar-100-binary/``). If none has them and ``download`` is true,
:func:`download_dataset` fetches the dataset's files (MNIST's four ``.gz`` files, CIFAR's tarball) from its
public mirrors (:data:`DATASETS`) with a progress bar, checks each against its official md5, and renames it into
the cache only when it is complete and correct; a CIFAR tarball is then unpacked (its ``.bin`` files only, every
member checked first) and deleted. Files found on disk are checked for structure (header, sizes, shapes,
labels), not md5: Debian's package recompresses Fashion-MNIST, so its .gz files differ from the official ones.

The IDX format (LeCun et al., http://yann.lecun.com/exdb/mnist/): a big-endian header, then the array in
C order. Header: two zero bytes, a dtype code (0x08 uint8, 0x09 int8, 0x0B int16, 0x0C int32, 0x0D float32,
0x0E float64), the number of dimensions d, then d uint32 sizes.

The CIFAR binary format (Krizhevsky 2009, https://www.cs.toronto.edu/~kriz/cifar.html): records of a fixed size
and no header, each the label byte(s) (CIFAR-10: the class, 0..9; CIFAR-100: the coarse class, 0..19, then the
fine class, 0..99) followed by 3072 pixel bytes: the 32x32 red plane, then green, then blue, each row by row. The
pickled "python version" of CIFAR is never read.
"""
from __future__ import annotations

import dataclasses
import gzip
import hashlib
import http.client
import os
import shutil
import tarfile
import urllib.error
import urllib.request
import zlib
from pathlib import Path, PurePosixPath

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
    """Where a dataset is downloaded from: base URLs tried in order, and the md5 of each official file."""
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
    # the binary versions' md5 as published on https://www.cs.toronto.edu/~kriz/cifar.html
    "cifar-10": DatasetSource(mirrors=("https://www.cs.toronto.edu/~kriz/",),
                              md5={"cifar-10-binary.tar.gz": "c32a1d4ab5d03f1284b67883e8d87530"}),
    "cifar-100": DatasetSource(mirrors=("https://www.cs.toronto.edu/~kriz/",),
                               md5={"cifar-100-binary.tar.gz": "03b5dce01913d631647c71ecec9e9cb8"}),
}
CIFAR_PIXELS = 3 * 32 * 32   # the bytes of one picture: the red, green and blue 32x32 planes, each row by row


@dataclasses.dataclass(frozen=True)
class CifarLayout:
    """The binary version of a CIFAR dataset: what its tarball holds and what a record is."""
    folder: str                            # the folder the tarball unpacks into
    labels: tuple[tuple[str, int], ...]    # one (label_mode, number of classes) per label byte, in record order
    files: dict[str, dict[str, int]]       # split -> {.bin file: number of records}
    extras: tuple[str, ...] = ()           # the tarball's other files (class names, readme): allowed, not unpacked

    @property
    def record_size(self) -> int:
        return len(self.labels) + CIFAR_PIXELS


CIFAR = {
    "cifar-10": CifarLayout("cifar-10-batches-bin", (("class", 10),),
                            {"train": {f"data_batch_{i}.bin": 10000 for i in range(1, 6)},
                             "test": {"test_batch.bin": 10000}},
                            extras=("batches.meta.txt", "readme.html")),
    "cifar-100": CifarLayout("cifar-100-binary", (("coarse", 20), ("fine", 100)),
                             {"train": {"train.bin": 50000}, "test": {"test.bin": 10000}},
                             extras=("coarse_label_names.txt", "fine_label_names.txt")),
}
IDX_NAMES = tuple(name for name in DATASETS if name not in CIFAR)
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


# ---------------------------------------------------------------------------------------------- CIFAR files
def _read_cifar(path: Path, name: str, records: int) -> tuple[np.ndarray, np.ndarray]:
    """Images ``(records, 32, 32, 3)`` uint8 and labels ``(records, label bytes)`` int64 of one CIFAR .bin file.

    The size is checked before anything is read. Raises ``ValueError`` naming the file if it is not ``records``
    whole records or a label is out of range.
    """
    layout = CIFAR[name]
    size, expected = path.stat().st_size, records * layout.record_size
    if size != expected:
        what = (f"is not a whole number of {layout.record_size}-byte records (truncated, or not {name}'s binary "
                f"version)" if size % layout.record_size else f"hold {size // layout.record_size} records")
        raise ValueError(f"{path}: {size} bytes {what}; expected {records} records of {len(layout.labels)} label "
                         f"byte(s) + {CIFAR_PIXELS} pixel bytes = {expected} bytes")
    rows = np.fromfile(path, np.uint8).reshape(records, layout.record_size)
    labels = rows[:, :len(layout.labels)].astype(np.int64)
    for column, (mode, classes) in enumerate(layout.labels):
        bad = np.flatnonzero(labels[:, column] >= classes)
        if bad.size:
            raise ValueError(f"{path}: record {bad[0]} has {mode} label {labels[bad[0], column]}, expected "
                             f"0..{classes - 1} (corrupt, or not {name}'s binary version)")
    images = rows[:, len(layout.labels):].reshape(records, 3, 32, 32).transpose(0, 2, 3, 1)   # planes -> HWC
    return np.ascontiguousarray(images), labels


def _member_problem(member: tarfile.TarInfo, layout: CifarLayout, sizes: dict[str, int], seen: set) -> str | None:
    """Why ``member`` of a CIFAR tarball is refused, or None: see :func:`_unpack_cifar`."""
    known = set(sizes) | {f"{layout.folder}/{extra}" for extra in layout.extras}
    if member.name.startswith("/") or ".." in PurePosixPath(member.name).parts or "\\" in member.name:
        return "has an absolute path or leaves the folder ('..')"
    if member.issym() or member.islnk():
        return f"is a link (to {member.linkname!r})"
    if member.name in seen:
        return "appears twice"
    if member.isdir() and member.name == layout.folder:
        return None
    if not member.isfile() or member.name not in known:
        return f"is not one of the official tarball's files: {layout.folder}/ and {', '.join(sorted(known))}"
    if member.name in sizes and member.size != sizes[member.name]:
        return f"has {member.size} bytes, expected {sizes[member.name]}"
    return None


def _unpack_cifar(tarball: Path, name: str) -> Path:
    """Unpack the .bin files of a CIFAR tarball into ``<its folder>/<layout.folder>/``; return that folder.

    Every member is checked before anything is written: only the one folder and the official tarball's regular
    files (no absolute path, no '..', no link, nothing else, nothing twice), each .bin file of its exact size
    and none missing. Each file is written through a temporary file. Raises ``ValueError`` naming the tarball.
    """
    layout = CIFAR[name]
    sizes = {f"{layout.folder}/{filename}": records * layout.record_size
             for files in layout.files.values() for filename, records in files.items()}
    dest = tarball.parent / layout.folder
    try:
        with tarfile.open(tarball, "r:gz") as tar:
            members, seen = tar.getmembers(), set()
            for member in members:
                if problem := _member_problem(member, layout, sizes, seen):
                    raise ValueError(f"{tarball}: refusing to unpack: member {member.name!r} {problem}")
                seen.add(member.name)
            if missing := sorted(set(sizes) - seen):
                raise ValueError(f"{tarball}: not {name}'s binary version: {', '.join(missing)} missing")
            for member in sorted((m for m in members if m.name in sizes), key=lambda m: m.offset_data):
                with tar.extractfile(member) as source, atomic_write(dest / PurePosixPath(member.name).name) as f:
                    shutil.copyfileobj(source, f, 1 << 20)
    except (tarfile.TarError, EOFError, zlib.error, gzip.BadGzipFile) as err:
        raise ValueError(f"{tarball}: corrupt or truncated .tar.gz ({err})") from err
    return dest


# --------------------------------------------------------------------------------------------- discovery
def _check_name(name: str, names=DATASETS) -> str:
    return check_choice("name", name, names)


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


def _split_files(name: str, folder: Path, split: str) -> tuple[Path, ...] | None:
    """The files of ``split`` in ``folder``, or None: MNIST's (images, labels), .gz preferred over raw; CIFAR's
    .bin files, in ``folder`` itself or in the subfolder its tarball unpacks into."""
    if name in CIFAR:
        for where in (folder, folder / CIFAR[name].folder):
            paths = tuple(where / filename for filename in CIFAR[name].files[split])
            if all(path.is_file() for path in paths):
                return paths
        return None
    found = []
    for stem in SPLITS[split]:
        candidates = [folder / f"{stem}.gz", folder / stem]
        found.append(next((c for c in candidates if c.is_file()), None))
    return None if None in found else tuple(found)


def find_dataset(name: str, data_dir=None, splits=("train", "test")) -> Path | None:
    """The first folder of :func:`search_dirs` holding every file of ``splits``, or None (no download)."""
    for split in splits:
        check_choice("split", split, SPLITS)
    return next((d for d in search_dirs(name, data_dir) if all(_split_files(name, d, s) for s in splits)), None)


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


def _fetch(name: str, filename: str, folder: Path) -> Path:
    """Download ``filename`` of dataset ``name`` into ``folder`` from the first mirror that serves it complete and
    with its official md5; return its path. Raises ``FileNotFoundError`` listing every failed attempt."""
    source, failures = DATASETS[name], []
    for mirror in source.mirrors:
        url = mirror.rstrip("/") + "/" + filename
        try:
            _download(url, folder / filename, source.md5[filename])
            return folder / filename
        except (OSError, ValueError, http.client.HTTPException) as err:   # URLError, timeouts: OSErrors
            failures.append(f"{url}: {err}")
    raise FileNotFoundError(f"could not download {filename}:\n  " + "\n  ".join(failures))


def download_dataset(name: str) -> Path:
    """Download dataset ``name`` into ``CACHE_ROOT/<name>``, trying each mirror in turn; return the folder.

    Each file is verified against its official md5 before it is renamed into place, so the cache never holds
    a partial or corrupt file. MNIST's four .gz files are fetched if missing and kept as they are; CIFAR's
    tarball is fetched unless the cache has every .bin file, then unpacked (its .bin files only, every member
    checked first) and deleted. Raises ``FileNotFoundError`` listing every failed attempt, and ``ValueError``
    naming the tarball if it holds anything but the official files.
    """
    source = DATASETS[_check_name(name)]
    folder = Path(CACHE_ROOT).expanduser() / name
    if name in CIFAR:
        if not all(_split_files(name, folder, split) for split in SPLITS):
            (tarball,) = source.md5
            path = _fetch(name, tarball, folder)
            try:
                _unpack_cifar(path, name)
            finally:
                path.unlink(missing_ok=True)
        return folder
    for filename in source.md5:
        if not (folder / filename).is_file():
            _fetch(name, filename, folder)
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
        mirrors, files = DATASETS[name].mirrors, list(DATASETS[name].md5)
        if name in CIFAR:
            layout = CIFAR[name]
            source = ", ".join(mirror.rstrip("/") + "/" + files[0] for mirror in mirrors)
            what = (f"the .bin files of {files[0]} ({', '.join(f for split in layout.files.values() for f in split)}"
                    f"; or the {layout.folder}/ folder that `tar xzf {files[0]}` makes)")
        else:
            source = ", ".join(mirrors)
            what = f"the four IDX files ({', '.join(files)}, .gz or uncompressed)"
        # after a failed download, suggesting download=True again would only repeat the failure
        fetch = (f"downloading them on a machine with network access from: {source}" if download_error
                 else f"letting spikingnn download them (download=True) from: {source}")
        debian = "\n  - on Debian/Ubuntu: apt-get install dataset-fashion-mnist" if name == "fashion-mnist" else ""
        super().__init__(
            f"{name} not found. Looked in:\n  {looked}\n{self.reason}\n"
            f"Provide {what} by one of:\n"
            f"  - passing data_dir='/folder/with/the/files'\n"
            f"  - setting {ENV_VAR}=/folder so that /folder/{name}/ holds them\n"
            f"  - copying them into {Path(CACHE_ROOT).expanduser() / name}{debian}\n"
            f"  - {fetch}")


def _locate(name: str, split: str, data_dir, download: bool) -> tuple[Path, ...]:
    """The files of ``split``: from the first folder of :func:`search_dirs` holding them all, else downloaded
    into the cache if ``download``; :class:`DatasetNotFoundError` saying where it looked otherwise."""
    folder = find_dataset(name, data_dir, splits=(split,))
    if folder is None:
        searched = search_dirs(name, data_dir)
        if not download:
            raise DatasetNotFoundError(name, searched, None)
        try:
            folder = download_dataset(name)
        except FileNotFoundError as err:
            raise DatasetNotFoundError(name, searched, str(err)) from None
    return _split_files(name, folder, split)


def load_dataset(name: str, split: str = "train", data_dir=None, download: bool = True):
    """Images ``(N, 28, 28)`` uint8 (0..255) and labels ``(N,)`` uint8 of split 'train' or 'test' of MNIST or
    Fashion-MNIST (``name`` 'mnist' or 'fashion-mnist'; CIFAR: :func:`load_cifar10`, :func:`load_cifar100`).

    Searches :func:`search_dirs` in order; downloads into the cache if nothing is found and ``download`` is
    true. Raises :class:`DatasetNotFoundError` (a ``FileNotFoundError``) with one message saying where it looked
    and how to provide the files, ``FileNotFoundError`` if ``data_dir`` is given but is not a folder, and
    ``ValueError`` naming the file if a file is corrupt or images and labels do not match.
    """
    _check_name(name, IDX_NAMES)
    check_choice("split", split, SPLITS)
    images_path, labels_path = _locate(name, split, data_dir, download)
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


def _load_cifar(name: str, split: str, data_dir, download: bool, label_mode: str):
    """Images ``(N, 32, 32, 3)`` uint8 and labels ``(N,)`` int64 of one split of CIFAR-10 or CIFAR-100."""
    modes = [mode for mode, _ in CIFAR[name].labels]
    check_choice("label_mode", label_mode, modes)
    check_choice("split", split, SPLITS)
    paths = _locate(name, split, data_dir, download)
    parts = [_read_cifar(path, name, CIFAR[name].files[split][path.name]) for path in paths]
    return (np.concatenate([images for images, _ in parts]),
            np.concatenate([labels[:, modes.index(label_mode)] for _, labels in parts]))


def load_cifar10(split: str = "train", data_dir=None, download: bool = True):
    """CIFAR-10 (Krizhevsky 2009), 32x32 colour photographs of 10 classes: 50,000 train / 10,000 test.

    Returns images ``(N, 32, 32, 3)`` uint8, channels last in R, G, B order, and labels ``(N,)`` int64 in 0..9
    (airplane, automobile, bird, cat, deer, dog, frog, horse, ship, truck), in the files' order (train:
    data_batch_1.bin to data_batch_5.bin). Reads the binary version, found and downloaded like MNIST (see
    :func:`load_dataset`); raises ``ValueError`` naming the file if a file is truncated or corrupt.
    """
    return _load_cifar("cifar-10", split, data_dir, download, "class")


def load_cifar100(split: str = "train", data_dir=None, download: bool = True, label_mode: str = "fine"):
    """CIFAR-100 (Krizhevsky 2009), 32x32 colour photographs of 100 classes in 20 superclasses: 50,000 train /
    10,000 test.

    Returns images ``(N, 32, 32, 3)`` uint8, channels last in R, G, B order, and labels ``(N,)`` int64: the fine
    class (0..99) with ``label_mode='fine'``, the coarse superclass (0..19) with ``label_mode='coarse'``. Otherwise
    as :func:`load_cifar10`.
    """
    return _load_cifar("cifar-100", split, data_dir, download, label_mode)
