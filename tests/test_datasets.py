"""IDX files, where datasets are found, and the verified download, against a local HTTP server on 127.0.0.1
(these tests never touch the internet). Tests needing the full MNIST / Fashion-MNIST skip when they are absent."""
import contextlib
import dataclasses
import gzip
import hashlib
import os
import socket
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import numpy as np
import pytest

from spikingnn import datasets
from spikingnn.datasets import find_dataset, load_fashion_mnist, load_mnist, read_idx, write_idx

REAL_DATA_ENV = os.environ.get(datasets.ENV_VAR)   # read before the fixtures below hide it
FILES = ("train-images-idx3-ubyte", "train-labels-idx1-ubyte", "t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte")


@pytest.fixture(autouse=True)
def _isolated_locations(tmp_path, monkeypatch):
    """Every test starts with empty cache and Debian folders, no $SPIKINGNN_DATA and no proxy for 127.0.0.1."""
    monkeypatch.setattr(datasets, "CACHE_ROOT", str(tmp_path / "cache"))
    monkeypatch.setattr(datasets, "DEBIAN_ROOT", str(tmp_path / "debian"))
    monkeypatch.setattr(datasets, "DOWNLOAD_TIMEOUT", 5.0)
    monkeypatch.delenv(datasets.ENV_VAR, raising=False)
    monkeypatch.setenv("no_proxy", "127.0.0.1")
    monkeypatch.setenv("NO_PROXY", "127.0.0.1")


def _small_dataset(seed, n_train=12, n_test=5):
    """{file stem: array}: random images with labels 0..9, the first label of each split set to ``seed``."""
    rng = np.random.default_rng(seed)
    arrays = {}
    for prefix, n in (("train", n_train), ("t10k", n_test)):
        arrays[f"{prefix}-images-idx3-ubyte"] = rng.integers(0, 256, (n, 28, 28), dtype=np.uint8)
        labels = rng.integers(0, 10, n, dtype=np.uint8)
        labels[0] = seed
        arrays[f"{prefix}-labels-idx1-ubyte"] = labels
    return arrays


def _write_dataset(folder, arrays, compressed=True):
    for stem, array in arrays.items():
        write_idx(folder / (stem + ".gz" if compressed else stem), array)
    return folder


# ------------------------------------------------------------------------------------------------ IDX files
@pytest.mark.parametrize("suffix", ["", ".gz"])
@pytest.mark.parametrize("dtype, shape", [("u1", (7, 28, 28)), ("u1", (9,)), ("i1", (3, 4)), ("i2", (2, 3, 4)),
                                          ("i4", (5,)), ("f4", (2, 2)), ("f8", (1, 2, 3, 4))])
def test_idx_round_trip(tmp_path, suffix, dtype, shape):
    rng = np.random.default_rng(1)
    array = (rng.normal(size=shape) * 100).astype(dtype)
    path = write_idx(tmp_path / f"a.idx{suffix}", array)
    back = read_idx(path)
    assert back.dtype == np.dtype(dtype) and back.shape == shape
    np.testing.assert_array_equal(back, array)
    assert (path.read_bytes()[:2] == b"\x1f\x8b") == (suffix == ".gz")


def test_idx_header_is_big_endian_with_the_documented_layout(tmp_path):
    path = write_idx(tmp_path / "labels", np.arange(3, dtype=np.uint8))
    assert path.read_bytes() == bytes([0, 0, 0x08, 1, 0, 0, 0, 3, 0, 1, 2])


def _idx_bytes(array):
    return bytes([0, 0, 0x08, array.ndim]) + np.asarray(array.shape, ">u4").tobytes() + array.tobytes()


@pytest.mark.parametrize("content, message", [
    (b"\x01\x02" + _idx_bytes(np.zeros(4, np.uint8))[2:], "not an IDX file"),
    (b"\x00", "not an IDX file"),
    (b"\x00\x00\x07\x01\x00\x00\x00\x01\x00", "unknown IDX dtype code 0x07"),
    (b"\x00\x00\x08\x00", "declares 0 dimensions"),
    (b"\x00\x00\x08\x03\x00\x00\x00\x02", "declares 3 dimensions but the file ends after 8 bytes"),
    (_idx_bytes(np.zeros((4, 28, 28), np.uint8))[:-10], "truncated"),
    (_idx_bytes(np.zeros((4, 28, 28), np.uint8)) + b"\x00", "trailing bytes"),
    (gzip.compress(_idx_bytes(np.zeros((4, 28, 28), np.uint8)))[:-20], "corrupt or truncated gzip"),
    (gzip.compress(_idx_bytes(np.zeros((4, 28, 28), np.uint8))[:-30]), "truncated"),
])
def test_corrupt_idx_files_raise_value_error_naming_the_file(tmp_path, content, message):
    path = tmp_path / "broken-idx3-ubyte"
    path.write_bytes(content)
    with pytest.raises(ValueError, match=message) as err:
        read_idx(path)
    assert str(path) in str(err.value)


def test_write_idx_rejects_unsupported_arrays(tmp_path):
    with pytest.raises(ValueError, match="dtype uint8, int8"):
        write_idx(tmp_path / "x", np.zeros(3, np.uint64))
    with pytest.raises(ValueError, match="1-255 dimensional"):
        write_idx(tmp_path / "x", np.uint8(3))


def test_loader_checks_images_and_labels_match(tmp_path):
    arrays = _small_dataset(0)
    arrays["t10k-labels-idx1-ubyte"] = arrays["t10k-labels-idx1-ubyte"][:-1]
    _write_dataset(tmp_path / "bad", arrays)
    with pytest.raises(ValueError, match="t10k-labels-idx1-ubyte.gz: expected 5 uint8 labels"):
        load_mnist("test", data_dir=tmp_path / "bad")
    arrays["train-images-idx3-ubyte"] = np.zeros((12, 28, 27), np.uint8)
    _write_dataset(tmp_path / "bad", arrays)
    with pytest.raises(ValueError, match=r"train-images-idx3-ubyte.gz: expected uint8 images of shape \(N, 28, 28\)"):
        load_mnist("train", data_dir=tmp_path / "bad")


@pytest.mark.parametrize("call, message", [
    (lambda: load_mnist("validation"), "split must be one of 'train', 'test'"),
    (lambda: datasets.load_dataset("cifar10"), "name must be one of 'mnist', 'fashion-mnist'"),
    (lambda: find_dataset("mnist", splits=("dev",)), "split must be one of"),
])
def test_bad_names_raise_value_error(call, message):
    with pytest.raises(ValueError, match=message):
        call()


# --------------------------------------------------------------------------------------------- discovery
def test_discovery_order_explicit_dir_then_env_then_cache_then_debian(tmp_path, monkeypatch):
    """Each location holds a dataset whose first label names it; removing the winner exposes the next."""
    explicit, env_root = tmp_path / "explicit", tmp_path / "env"
    folders = [_write_dataset(explicit, _small_dataset(1)),
               _write_dataset(env_root / "fashion-mnist", _small_dataset(2)),
               _write_dataset(tmp_path / "cache" / "fashion-mnist", _small_dataset(3), compressed=False),
               _write_dataset(tmp_path / "debian" / "fashion-mnist", _small_dataset(4))]
    monkeypatch.setenv(datasets.ENV_VAR, str(env_root))
    for expected, folder in zip((1, 2, 3, 4), folders):
        assert find_dataset("fashion-mnist", data_dir=explicit) == folder
        images, labels = load_fashion_mnist("test", data_dir=explicit, download=False)
        assert labels[0] == expected and images.shape == (5, 28, 28) and images.dtype == np.uint8
        for stem in FILES:
            for path in (folder / stem, folder / f"{stem}.gz"):
                path.unlink(missing_ok=True)
    assert find_dataset("fashion-mnist", data_dir=explicit) is None
    assert find_dataset("mnist") is None


def test_explicit_dir_may_be_the_parent_of_the_named_folder(tmp_path):
    _write_dataset(tmp_path / "root" / "mnist", _small_dataset(7))
    assert load_mnist("train", data_dir=tmp_path / "root", download=False)[1][0] == 7


def test_a_split_is_found_without_the_other(tmp_path):
    arrays = _small_dataset(6)
    del arrays["train-images-idx3-ubyte"]
    _write_dataset(tmp_path / "only-test", arrays)
    assert find_dataset("mnist", tmp_path / "only-test") is None
    assert find_dataset("mnist", tmp_path / "only-test", splits=("test",)) == tmp_path / "only-test"
    assert load_mnist("test", data_dir=tmp_path / "only-test", download=False)[1][0] == 6


# ---------------------------------------------------------------------------------------------- download
@contextlib.contextmanager
def _serve(files, truncate=()):
    """HTTP server on 127.0.0.1 serving ``files`` {name: bytes}; names in ``truncate`` announce their full
    length but send only half, then close. Yields (base URL, list of requested paths)."""
    requests = []

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self):
            name = self.path.rsplit("/", 1)[-1]
            requests.append(self.path)
            if name not in files:
                self.send_error(404)
                return
            body = files[name]
            self.send_response(200)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body[: len(body) // 2] if name in truncate else body)
            self.close_connection = True

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/data/", requests
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


def _closed_port_url():
    """A URL on 127.0.0.1 where nothing listens: connecting fails at once, like a machine without network."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    return f"http://127.0.0.1:{port}/"


def _gz_files(arrays):
    return {f"{stem}.gz": gzip.compress(_idx_bytes(array), mtime=0) for stem, array in arrays.items()}


def _use_mirrors(monkeypatch, files, *mirrors):
    md5 = {name: hashlib.md5(content).hexdigest() for name, content in files.items()}
    monkeypatch.setitem(datasets.DATASETS, "mnist", dataclasses.replace(datasets.DATASETS["mnist"],
                                                                        mirrors=mirrors, md5=md5))


def _cache_contents(tmp_path):
    folder = tmp_path / "cache" / "mnist"
    return sorted(p.name for p in folder.iterdir()) if folder.exists() else []


def test_download_verifies_caches_and_is_not_repeated(tmp_path, monkeypatch, capsys):
    arrays = _small_dataset(5)
    files = _gz_files(arrays)
    with _serve(files) as (url, requests):
        _use_mirrors(monkeypatch, files, _closed_port_url(), url)      # the first mirror is down
        images, labels = load_mnist("train")
        assert sorted(requests) == sorted(f"/data/{name}" for name in files)
        assert "train-images-idx3-ubyte.gz" in capsys.readouterr().err    # the progress bar
        np.testing.assert_array_equal(images, arrays["train-images-idx3-ubyte"])
        np.testing.assert_array_equal(labels, arrays["train-labels-idx1-ubyte"])
        assert _cache_contents(tmp_path) == sorted(files)
        n_requests = len(requests)
        images, labels = load_mnist("test")
        assert len(requests) == n_requests, "the second load must come from the cache"
        np.testing.assert_array_equal(labels, arrays["t10k-labels-idx1-ubyte"])


def test_download_fetches_only_the_files_missing_from_the_cache(tmp_path, monkeypatch):
    arrays = _small_dataset(9)
    files = _gz_files(arrays)
    _write_dataset(tmp_path / "cache" / "mnist", {k: v for k, v in arrays.items() if k.startswith("train")})
    with _serve(files) as (url, requests):
        _use_mirrors(monkeypatch, files, url)
        assert load_mnist("test")[1][0] == 9
    assert sorted(requests) == ["/data/t10k-images-idx3-ubyte.gz", "/data/t10k-labels-idx1-ubyte.gz"]


@pytest.mark.parametrize("damage", ["corrupt", "truncate"])
def test_a_bad_download_is_rejected_and_leaves_nothing_behind(tmp_path, monkeypatch, damage):
    intact = _gz_files(_small_dataset(5))
    bad = "t10k-images-idx3-ubyte.gz"
    served = dict(intact)
    if damage == "corrupt":
        served[bad] = intact[bad][:100] + bytes([intact[bad][100] ^ 0xFF]) + intact[bad][101:]
    with _serve(served, truncate={bad} if damage == "truncate" else ()) as (url, requests):
        _use_mirrors(monkeypatch, intact, url)
        with pytest.raises(FileNotFoundError) as err:
            load_mnist("test")
    expected = "md5 mismatch" if damage == "corrupt" else "truncated download"
    assert expected in str(err.value) and f"{url}{bad}" in str(err.value)
    assert bad not in _cache_contents(tmp_path)
    assert not [name for name in _cache_contents(tmp_path) if name.endswith(".part")]


def test_without_network_one_message_says_where_it_looked_and_what_to_do(tmp_path, monkeypatch):
    monkeypatch.setenv(datasets.ENV_VAR, str(tmp_path / "env"))
    (tmp_path / "mine").mkdir()
    dead = _closed_port_url()
    _use_mirrors(monkeypatch, _gz_files(_small_dataset(0)), dead)
    with pytest.raises(datasets.DatasetNotFoundError) as err:
        load_mnist("train", data_dir=tmp_path / "mine")
    message = str(err.value)
    searched = [tmp_path / "mine", tmp_path / "mine" / "mnist", tmp_path / "env" / "mnist",
                tmp_path / "cache" / "mnist", tmp_path / "debian" / "mnist"]
    for where in searched:
        assert str(where) in message
    assert err.value.searched == searched and err.value.name == "mnist"
    assert "Downloading failed" in message and dead in message
    assert "data_dir=" in message and datasets.ENV_VAR in message
    assert "download=True" not in message, "the download just failed: suggesting it again does not help"
    assert err.value.__suppress_context__                      # one message, without a chained traceback
    with pytest.raises(FileNotFoundError, match="Downloading is off") as err:
        load_mnist("train", download=False)
    assert "download=True" in str(err.value), "with downloading off, turning it on is the first suggestion"


@pytest.mark.parametrize("make", [lambda path: None, lambda path: path.write_text("a file")])
def test_a_data_dir_that_is_not_a_folder_is_an_error_not_ignored(tmp_path, monkeypatch, make):
    """A typo in data_dir must not fall through to another copy of the data ($SPIKINGNN_DATA here)."""
    _write_dataset(tmp_path / "env" / "mnist", _small_dataset(3))
    monkeypatch.setenv(datasets.ENV_VAR, str(tmp_path / "env"))
    assert load_mnist("test")[1][0] == 3
    typo = tmp_path / "mnsit"
    make(typo)
    for call in (lambda: load_mnist("test", data_dir=typo), lambda: find_dataset("mnist", typo)):
        with pytest.raises(FileNotFoundError, match=f"data_dir '{typo}' is not an existing folder"):
            call()


# --------------------------------------------------------------------------------------- the real datasets
@pytest.fixture
def _real_locations(monkeypatch):
    """Undo the isolation: the real $SPIKINGNN_DATA, cache and Debian folders."""
    monkeypatch.setattr(datasets, "CACHE_ROOT", "~/.cache/spikingnn")
    monkeypatch.setattr(datasets, "DEBIAN_ROOT", "/usr/share/datasets")
    if REAL_DATA_ENV:
        monkeypatch.setenv(datasets.ENV_VAR, REAL_DATA_ENV)


# published class counts: MNIST's are uneven, Fashion-MNIST has 6,000 / 1,000 of each class
CLASS_COUNTS = {
    "mnist": {"train": [5923, 6742, 5958, 6131, 5842, 5421, 5918, 6265, 5851, 5949],
              "test": [980, 1135, 1032, 1010, 982, 892, 958, 1028, 974, 1009]},
    "fashion-mnist": {"train": [6000] * 10, "test": [1000] * 10},
}
HOW_TO_GET = {"mnist": "set SPIKINGNN_DATA to a folder holding mnist/ (see README)",
              "fashion-mnist": "apt-get install dataset-fashion-mnist, or set SPIKINGNN_DATA"}


@pytest.mark.usefixtures("_real_locations")
@pytest.mark.parametrize("name, load", [("mnist", load_mnist), ("fashion-mnist", load_fashion_mnist)])
def test_full_dataset_loads_with_the_published_shapes_and_class_counts(name, load):
    if find_dataset(name) is None:
        pytest.skip(f"full {name} not found: {HOW_TO_GET[name]}")
    for split, n in (("train", 60000), ("test", 10000)):
        images, labels = load(split, download=False)
        assert images.shape == (n, 28, 28) and labels.shape == (n,)
        assert np.bincount(labels, minlength=10).tolist() == CLASS_COUNTS[name][split]
        assert images.min() == 0 and images.max() == 255
