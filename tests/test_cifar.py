"""CIFAR-10 and CIFAR-100, binary version: records decoded byte for byte, where the files are found, and the
verified download and safe unpacking of the tarball, against a local HTTP server on 127.0.0.1 (never the
internet). The real data cannot be fetched here: every file is a small fake written byte by byte from the format's
description, with the record counts of the layout shrunk to a few (the real counts are checked on their own)."""
import dataclasses
import hashlib
import io
import tarfile

import numpy as np
import pytest
from test_datasets import _closed_port_url, _isolated_locations, _real_locations, _serve  # noqa: F401 (fixtures)

from spikingnn import datasets
from spikingnn.datasets import find_dataset, load_cifar10, load_cifar100

REAL_LAYOUTS = dict(datasets.CIFAR)
SMALL_FILES = {"cifar-10": {"train": {f"data_batch_{i}.bin": 3 for i in range(1, 6)}, "test": {"test_batch.bin": 4}},
               "cifar-100": {"train": {"train.bin": 6}, "test": {"test.bin": 4}}}
LOAD = {"cifar-10": load_cifar10, "cifar-100": load_cifar100}
TARBALL = {"cifar-10": "cifar-10-binary.tar.gz", "cifar-100": "cifar-100-binary.tar.gz"}


@pytest.fixture(autouse=True)
def _small_files(monkeypatch):
    """A few records per file instead of 10,000 or 50,000 (on top of test_datasets' isolated locations)."""
    for name, files in SMALL_FILES.items():
        monkeypatch.setitem(datasets.CIFAR, name, dataclasses.replace(REAL_LAYOUTS[name], files=files))


# ------------------------------------------------------------------------------------------- fake files
def _pixel(seed, channel, row, col):
    """A byte that differs between neighbouring channels, rows and columns, and between records."""
    return (seed * 37 + channel * 101 + row * 7 + col * 3) % 256


def _record(label_bytes, seed):
    """One record as the format describes it: the label byte(s), then the red, green and blue 32x32 planes,
    each row by row."""
    return bytes(label_bytes) + bytes(_pixel(seed, c, r, x) for c in range(3) for r in range(32) for x in range(32))


def _expected_image(seed):
    """The same picture, indexed [row, column, channel] (channels last, R G B), without any reshape."""
    return np.array([[[_pixel(seed, c, r, x) for c in range(3)] for x in range(32)] for r in range(32)], np.uint8)


def _label_bytes(name, seed):
    """CIFAR-10: the class; CIFAR-100: the coarse class, then the fine class. ``seed`` is the first byte."""
    return (seed % 10,) if name == "cifar-10" else (seed % 20, (seed * 7 + 3) % 100)


def _fake(name, seed):
    """({.bin file: its bytes}, {split: (images, labels (N, label bytes))}) of a fake ``name`` whose first record
    of each split has label ``seed``."""
    files, expected = {}, {}
    for split, counts in datasets.CIFAR[name].files.items():
        start = seed
        for filename, records in counts.items():
            files[filename] = b"".join(_record(_label_bytes(name, s), s) for s in range(start, start + records))
            start += records
        everyone = range(seed, start)
        expected[split] = (np.stack([_expected_image(s) for s in everyone]),
                           np.array([_label_bytes(name, s) for s in everyone], np.int64))
    return files, expected


def _write(folder, files):
    folder.mkdir(parents=True, exist_ok=True)
    for filename, content in files.items():
        (folder / filename).write_bytes(content)
    return folder


def _member(name, data=b"", **attributes):
    info = tarfile.TarInfo(name)
    info.size = len(data)
    for key, value in attributes.items():
        setattr(info, key, value)
    return info, data


def _official_members(name, files):
    """The members of the official tarball: its folder, the .bin files and the class-name / readme files."""
    folder = datasets.CIFAR[name].folder
    return ([_member(folder, type=tarfile.DIRTYPE, mode=0o755)]
            + [_member(f"{folder}/{filename}", content) for filename, content in files.items()]
            + [_member(f"{folder}/{extra}", b"airplane\n") for extra in datasets.CIFAR[name].extras])


def _targz(members):
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as tar:
        for info, data in members:
            tar.addfile(info, io.BytesIO(data) if info.isfile() else None)
    return buffer.getvalue()


def _use_mirrors(monkeypatch, name, tarball, *mirrors):
    """Download ``name`` from ``mirrors``, with ``tarball``'s md5 as the official one."""
    md5 = {TARBALL[name]: hashlib.md5(tarball).hexdigest()}
    monkeypatch.setitem(datasets.DATASETS, name, dataclasses.replace(datasets.DATASETS[name], mirrors=mirrors, md5=md5))


def _everything_under(folder):
    return sorted(str(p.relative_to(folder)) for p in folder.rglob("*")) if folder.exists() else []


# ---------------------------------------------------------------------------------------------- decoding
@pytest.mark.parametrize("name", ["cifar-10", "cifar-100"])
@pytest.mark.parametrize("split", ["train", "test"])
def test_records_decode_byte_for_byte(tmp_path, name, split):
    files, expected = _fake(name, 3)
    _write(tmp_path / "data", files)
    images, labels = LOAD[name](split, data_dir=tmp_path / "data", download=False)
    assert images.dtype == np.uint8 and images.shape == (sum(SMALL_FILES[name][split].values()), 32, 32, 3)
    assert labels.dtype == np.int64 and labels.shape == images.shape[:1]
    np.testing.assert_array_equal(images, expected[split][0])
    if name == "cifar-10":
        np.testing.assert_array_equal(labels, expected[split][1][:, 0])
    else:
        np.testing.assert_array_equal(labels, expected[split][1][:, 1])             # fine by default
        coarse = load_cifar100(split, data_dir=tmp_path / "data", download=False, label_mode="coarse")[1]
        np.testing.assert_array_equal(coarse, expected[split][1][:, 0])


def test_the_planes_are_red_green_blue_and_come_out_channels_last(tmp_path):
    """Records written by hand: one plane full at a time, then single pixels at known places."""
    def record(label, red=b"\0" * 1024, green=b"\0" * 1024, blue=b"\0" * 1024):
        return bytes([label]) + red + green + blue

    full, dot = b"\xff" * 1024, b"\x01" + b"\0" * 1023                     # dot: row 0, column 0
    second_row = b"\0" * 32 + b"\x05" + b"\0" * 991                            # row 1, column 0
    _write(tmp_path, {"test_batch.bin": record(9, red=full) + record(8, green=full) + record(7, blue=full)
                      + record(0, red=dot, green=second_row, blue=b"\0\x09" + b"\0" * 1022)})
    images, labels = load_cifar10("test", data_dir=tmp_path, download=False)
    assert labels.tolist() == [9, 8, 7, 0]
    for k in range(3):
        assert (images[k, :, :, k] == 255).all() and images[k].sum() == 255 * 1024
    assert images[3, 0, 0].tolist() == [1, 0, 0] and images[3, 1, 0].tolist() == [0, 5, 0]
    assert images[3, 0, 1].tolist() == [0, 0, 9] and images[3].sum() == 15


# ------------------------------------------------------------------------------------------ bad files
@pytest.mark.parametrize("damage, message", [
    (lambda content: content[:-100], r"3073-byte records \(truncated"),
    (lambda content: content + b"\0", r"not a whole number"),
    (lambda content: content + content[:3073], r"hold 5 records; expected 4 records of 1 label byte\(s\) \+ 3072"),
    (lambda content: content[:3073 * 2] + b"\x0a" + content[3073 * 2 + 1:],
     "record 2 has class label 10, expected 0..9"),
])
def test_a_truncated_or_corrupt_file_is_refused_naming_it(tmp_path, damage, message):
    files, _ = _fake("cifar-10", 0)
    path = tmp_path / "test_batch.bin"
    path.write_bytes(damage(files["test_batch.bin"]))
    with pytest.raises(ValueError, match=message) as err:
        load_cifar10("test", data_dir=tmp_path, download=False)
    assert str(err.value).startswith(f"{path}: ")


@pytest.mark.parametrize("byte, message", [(0, "record 1 has coarse label 20, expected 0..19"),
                                           (1, "record 1 has fine label 100, expected 0..99")])
def test_cifar100_labels_out_of_range_are_refused(tmp_path, byte, message):
    files, _ = _fake("cifar-100", 0)
    content = bytearray(files["test.bin"])
    content[3074 + byte] = 20 if byte == 0 else 100
    (tmp_path / "test.bin").write_bytes(bytes(content))
    with pytest.raises(ValueError, match=message):
        load_cifar100("test", data_dir=tmp_path, download=False)


def test_the_real_record_counts_are_required(tmp_path, monkeypatch):
    """With the published layout (10,000 records per CIFAR-10 file) a short file is refused before it is read."""
    monkeypatch.setitem(datasets.CIFAR, "cifar-10", REAL_LAYOUTS["cifar-10"])
    (tmp_path / "test_batch.bin").write_bytes(_record([1], 0) * 3)
    with pytest.raises(ValueError, match=r"9219 bytes hold 3 records; expected 10000 records .* = 30730000 bytes"):
        load_cifar10("test", data_dir=tmp_path, download=False)


@pytest.mark.parametrize("call, message", [
    (lambda: load_cifar100(label_mode="superclass"), "label_mode must be one of 'coarse', 'fine'"),
    (lambda: load_cifar10("validation"), "split must be one of 'train', 'test'"),
    (lambda: datasets.load_dataset("cifar-10"), "name must be one of 'mnist', 'fashion-mnist'; got 'cifar-10'"),
    (lambda: find_dataset("cifar10"), "name must be one of 'mnist', 'fashion-mnist', 'cifar-10', 'cifar-100'"),
])
def test_bad_arguments_raise_value_error(call, message):
    with pytest.raises(ValueError, match=message):
        call()


# --------------------------------------------------------------------------------------------- discovery
def test_discovery_order_explicit_dir_then_env_then_cache_then_debian(tmp_path, monkeypatch):
    """Each location holds a CIFAR-10 whose first label names it, loose or in the tarball's folder; removing the
    winner exposes the next."""
    explicit, env_root = tmp_path / "explicit", tmp_path / "env"
    folders = [explicit, env_root / "cifar-10", tmp_path / "cache" / "cifar-10", tmp_path / "debian" / "cifar-10"]
    written = [_write(explicit / "cifar-10-batches-bin", _fake("cifar-10", 1)[0]),       # as `tar xzf` leaves it
               _write(env_root / "cifar-10", _fake("cifar-10", 2)[0]),                   # the .bin files loose
               _write(tmp_path / "cache" / "cifar-10" / "cifar-10-batches-bin", _fake("cifar-10", 3)[0]),
               _write(tmp_path / "debian" / "cifar-10", _fake("cifar-10", 4)[0])]
    monkeypatch.setenv(datasets.ENV_VAR, str(env_root))
    for expected, folder, files in zip((1, 2, 3, 4), folders, written):
        assert find_dataset("cifar-10", data_dir=explicit) == folder
        images, labels = load_cifar10("test", data_dir=explicit, download=False)
        assert labels[0] == expected and images.shape == (4, 32, 32, 3)
        for path in files.iterdir():
            path.unlink()
    assert find_dataset("cifar-10", data_dir=explicit) is None


def test_spikingnn_data_finds_cifar100_and_a_split_is_found_without_the_other(tmp_path, monkeypatch):
    files, expected = _fake("cifar-100", 5)
    del files["train.bin"]
    _write(tmp_path / "shared" / "cifar-100" / "cifar-100-binary", files)
    monkeypatch.setenv(datasets.ENV_VAR, str(tmp_path / "shared"))
    assert find_dataset("cifar-100") is None
    assert find_dataset("cifar-100", splits=("test",)) == tmp_path / "shared" / "cifar-100"
    images, labels = load_cifar100("test", download=False)
    np.testing.assert_array_equal(images, expected["test"][0])
    assert labels[0] == _label_bytes("cifar-100", 5)[1]


def test_without_the_files_one_message_says_where_to_put_them(tmp_path):
    with pytest.raises(datasets.DatasetNotFoundError) as err:
        load_cifar10("train", download=False)
    message = str(err.value)
    for text in ("data_batch_1.bin", "test_batch.bin", "cifar-10-batches-bin/", "tar xzf cifar-10-binary.tar.gz",
                 datasets.ENV_VAR, str(tmp_path / "cache" / "cifar-10"), "download=True",
                 "https://www.cs.toronto.edu/~kriz/cifar-10-binary.tar.gz"):
        assert text in message


# ---------------------------------------------------------------------------------------------- download
@pytest.mark.parametrize("name", ["cifar-10", "cifar-100"])
def test_download_verifies_unpacks_and_caches(tmp_path, monkeypatch, capsys, name):
    files, expected = _fake(name, 6)
    tarball = _targz(_official_members(name, files))
    with _serve({TARBALL[name]: tarball}) as (url, requests):
        _use_mirrors(monkeypatch, name, tarball, _closed_port_url(), url)      # the first mirror is down
        images, labels = LOAD[name]("train")
        assert requests == [f"/data/{TARBALL[name]}"]
        assert TARBALL[name] in capsys.readouterr().err                        # the progress bar
        np.testing.assert_array_equal(images, expected["train"][0])
        np.testing.assert_array_equal(labels, expected["train"][1][:, -1])
        folder = datasets.CIFAR[name].folder
        # the .bin files only: no tarball, no class names, no temporary file
        assert _everything_under(tmp_path / "cache" / name) == [folder] + sorted(f"{folder}/{f}" for f in files)
        images, labels = LOAD[name]("test")
        assert len(requests) == 1, "the second load must come from the cache"
        np.testing.assert_array_equal(images, expected["test"][0])


@pytest.mark.parametrize("damage", ["corrupt", "truncate"])
def test_a_bad_download_is_refused_and_leaves_nothing_behind(tmp_path, monkeypatch, damage):
    tarball = _targz(_official_members("cifar-10", _fake("cifar-10", 0)[0]))
    served = tarball[:200] + bytes([tarball[200] ^ 0xFF]) + tarball[201:] if damage == "corrupt" else tarball
    with _serve({TARBALL["cifar-10"]: served}, truncate={TARBALL["cifar-10"]} if damage == "truncate" else ()) as (
            url, _):
        _use_mirrors(monkeypatch, "cifar-10", tarball, url)
        with pytest.raises(datasets.DatasetNotFoundError) as err:
            load_cifar10("test")
    assert ("md5 mismatch" if damage == "corrupt" else "truncated download") in str(err.value)
    assert f"{url}{TARBALL['cifar-10']}" in str(err.value)
    assert _everything_under(tmp_path / "cache") in ([], ["cifar-10"])


def _hostile(kind):
    """The official members of a fake CIFAR-10 tarball with one change of ``kind``."""
    files = _fake("cifar-10", 0)[0]
    members = _official_members("cifar-10", files)
    first = members[1][1]
    changes = {
        "path traversal": lambda: members + [_member("cifar-10-batches-bin/../../evil.bin", first)],
        "absolute path": lambda: members + [_member("/tmp/evil.bin", first)],
        "symlink": lambda: [m for m in members if not m[0].name.endswith("data_batch_1.bin")]
        + [_member("cifar-10-batches-bin/data_batch_1.bin", type=tarfile.SYMTYPE, linkname="/etc/passwd")],
        "hard link": lambda: [m for m in members if not m[0].name.endswith("test_batch.bin")]
        + [_member("cifar-10-batches-bin/test_batch.bin", type=tarfile.LNKTYPE,
                   linkname="cifar-10-batches-bin/data_batch_1.bin")],
        "unexpected member": lambda: members + [_member("cifar-10-batches-bin/evil.bin", first)],
        "folder elsewhere": lambda: members + [_member("evil", type=tarfile.DIRTYPE)],
        "fifo": lambda: members + [_member("cifar-10-batches-bin/readme.fifo", type=tarfile.FIFOTYPE)],
        "twice": lambda: members + [_member("cifar-10-batches-bin/data_batch_2.bin", first)],
        "wrong size": lambda: members[:1] + [_member("cifar-10-batches-bin/data_batch_1.bin", first + first)]
        + members[2:],
        "missing": lambda: [m for m in members if not m[0].name.endswith("data_batch_5.bin")],
    }
    return _targz(changes[kind]()) if kind in changes else b"not a gzip file at all"


@pytest.mark.parametrize("kind, message", [
    ("path traversal", r"member 'cifar-10-batches-bin/../../evil.bin' has an absolute path or leaves the folder"),
    ("absolute path", r"member '/tmp/evil.bin' has an absolute path"),
    ("symlink", r"member 'cifar-10-batches-bin/data_batch_1.bin' is a link \(to '/etc/passwd'\)"),
    ("hard link", r"member 'cifar-10-batches-bin/test_batch.bin' is a link"),
    ("unexpected member", r"member 'cifar-10-batches-bin/evil.bin' is not one of the official tarball's files"),
    ("folder elsewhere", r"member 'evil' is not one of the official"),
    ("fifo", r"member 'cifar-10-batches-bin/readme.fifo' is not one of the official"),
    ("twice", r"member 'cifar-10-batches-bin/data_batch_2.bin' appears twice"),
    ("wrong size", r"member 'cifar-10-batches-bin/data_batch_1.bin' has 18438 bytes, expected 9219"),
    ("missing", r"not cifar-10's binary version: cifar-10-batches-bin/data_batch_5.bin missing"),
    ("not a tarball", r"corrupt or truncated .tar.gz"),
])
def test_a_hostile_tarball_is_refused_before_anything_is_written(tmp_path, monkeypatch, kind, message):
    """Even with the md5 it claims: the tarball is deleted and nothing is unpacked, inside the cache or out."""
    tarball = _hostile(kind)
    with _serve({TARBALL["cifar-10"]: tarball}) as (url, _):
        _use_mirrors(monkeypatch, "cifar-10", tarball, url)
        with pytest.raises(ValueError, match=message) as err:
            load_cifar10("train")
    assert str(err.value).startswith(str(tmp_path / "cache" / "cifar-10" / TARBALL["cifar-10"]))
    assert _everything_under(tmp_path / "cache") == ["cifar-10"]
    assert not list(tmp_path.rglob("evil*"))


# --------------------------------------------------------------------------------------- the real datasets
@pytest.mark.usefixtures("_real_locations")
@pytest.mark.parametrize("name, classes, per_class", [("cifar-10", 10, {"train": 5000, "test": 1000}),
                                                      ("cifar-100", 100, {"train": 500, "test": 100})])
def test_full_dataset_loads_with_the_published_shapes_and_class_counts(monkeypatch, name, classes, per_class):
    monkeypatch.setitem(datasets.CIFAR, name, REAL_LAYOUTS[name])
    if find_dataset(name) is None:
        pytest.skip(f"full {name} not found: set SPIKINGNN_DATA to a folder holding {name}/ (see README)")
    for split, n in (("train", 50000), ("test", 10000)):
        images, labels = LOAD[name](split, download=False)
        assert images.shape == (n, 32, 32, 3) and labels.shape == (n,)
        assert np.bincount(labels, minlength=classes).tolist() == [per_class[split]] * classes
        assert images.min() == 0 and images.max() == 255
    if name == "cifar-100":
        coarse = load_cifar100("test", download=False, label_mode="coarse")[1]
        assert np.bincount(coarse, minlength=20).tolist() == [500] * 20
