"""Model files: a round trip keeps every prediction and lets training continue bit for bit; corrupt, foreign and
newer files are refused with a ValueError naming the file; a failed write leaves nothing behind; serialization
imports no model. Hostile files (crafted shapes, bombs, pickles, wrong types): tests/test_model_files.py."""
import json
import subprocess
import sys

import numpy as np
import pytest

from spikingnn import serialization
from spikingnn.serialization import FORMAT_VERSION, HEADER_KEY, load, read_state, save
from spikingnn.training.model import SNNClassifier

VARIANTS = [{}, {"neuron": "alif", "recurrent": True}, {"encoding": "current", "learn_beta": True,
                                                         "learn_threshold": True, "hidden": (10, 10),
                                                         "residual": True}]


def tiny_data(seed=0, n=120):
    rng = np.random.default_rng(seed)
    return rng.integers(0, 256, (n, 28, 28)).astype(np.uint8), rng.integers(0, 10, n)


def tiny_model(epochs=1, **kwargs):
    options = {"hidden": (12,), "num_steps": 5, "batch_size": 40, "lr": 5e-3, "random_state": 3, **kwargs}
    return SNNClassifier(epochs=epochs, **options)


def drop_timing(history):
    return [{k: v for k, v in m.items() if k not in ("seconds", "images_per_second")} for m in history]


@pytest.mark.parametrize("options", VARIANTS)
def test_round_trip_keeps_state_and_predictions(tmp_path, options):
    X, y = tiny_data()
    model = tiny_model(**options).fit(X, y, progress=False)
    path = save(model, tmp_path / "model.npz")
    config, arrays = model.get_state()
    loaded = load(path)
    loaded_config, loaded_arrays = loaded.get_state()
    assert json.loads(json.dumps(config)) == loaded_config
    assert sorted(arrays) == sorted(loaded_arrays)
    for name in arrays:
        np.testing.assert_array_equal(arrays[name], loaded_arrays[name], err_msg=name)
        assert arrays[name].dtype == loaded_arrays[name].dtype, name
    np.testing.assert_array_equal(loaded.predict(X), model.predict(X))
    np.testing.assert_array_equal(loaded.output_counts(X[:20]), model.output_counts(X[:20]))


@pytest.mark.parametrize("options", VARIANTS)
def test_training_continues_after_loading_exactly_as_without_the_break(tmp_path, options):
    X, y = tiny_data()
    straight = tiny_model(epochs=2, **options).fit(X, y, progress=False)
    first = tiny_model(epochs=2, **options).fit(X, y, epochs=1, progress=False)     # stopped after one epoch
    resumed = load(save(first, tmp_path / "model.npz")).fit(X, y, progress=False)
    assert resumed.epoch_ == 2
    for a, b in zip(straight.weights_, resumed.weights_):
        np.testing.assert_array_equal(a, b)
    assert drop_timing(resumed.history_) == drop_timing(straight.history_)


@pytest.fixture
def saved(tmp_path):
    X, y = tiny_data()
    return save(tiny_model().fit(X, y, progress=False), tmp_path / "model.npz")


@pytest.mark.parametrize("where", [0.3, 0.5, 0.8, 0.95])
def test_corrupt_file_is_refused(saved, where):
    data = bytearray(saved.read_bytes())
    position = int(where * len(data))
    data[position:position + 16] = bytes(b ^ 0xA5 for b in data[position:position + 16])
    saved.write_bytes(bytes(data))
    with pytest.raises(ValueError, match="model.npz"):
        load(saved)


def test_foreign_npz_files_are_refused(tmp_path):
    np.savez(tmp_path / "weights.npz", w=np.zeros((3, 3)))
    with pytest.raises(ValueError, match="weights.npz is not a spikingnn model file.*header"):
        load(tmp_path / "weights.npz")
    header = np.frombuffer(json.dumps({"format": "something.else", "version": 1}).encode(), np.uint8)
    np.savez(tmp_path / "other.npz", **{HEADER_KEY: header})
    with pytest.raises(ValueError, match="'something.else'"):
        load(tmp_path / "other.npz")


def rewrite_header(path, **changes):
    with np.load(path) as archive:
        arrays = dict(archive)
    header = json.loads(arrays[HEADER_KEY].tobytes())
    header.update(changes)
    arrays[HEADER_KEY] = np.frombuffer(json.dumps(header).encode(), np.uint8)
    np.savez(path, **arrays)


def test_newer_format_version_is_refused_with_upgrade_hint(saved):
    rewrite_header(saved, version=FORMAT_VERSION + 1)
    with pytest.raises(ValueError, match=f"model.npz was written by a newer spikingnn.*version {FORMAT_VERSION + 1}"):
        load(saved)


def test_serialization_imports_no_model_and_still_loads_one(saved):
    """The import is one way: the model imports serialization; a file's format names its class in a registry."""
    script = (f"import sys, spikingnn.serialization as s\n"
              f"print(sorted(m for m in sys.modules if m.startswith('spikingnn.training')))\n"
              f"print(type(s.load({str(saved)!r})).__name__)")
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines() == ["[]", "SNNClassifier"]


def test_only_registered_model_classes_are_saved(tmp_path):
    class Impostor(SNNClassifier):
        pass

    with pytest.raises(ValueError, match="model must be an instance of a registered model class"):
        save(Impostor(), tmp_path / "model.npz")
    assert not (tmp_path / "model.npz").exists()


def test_read_state_gives_back_what_get_state_gave(saved):
    model = load(saved)
    config, arrays = read_state(saved)
    expected_config, expected_arrays = model.get_state()
    assert config == json.loads(json.dumps(expected_config)) and sorted(arrays) == sorted(expected_arrays)
    for name, array in arrays.items():
        np.testing.assert_array_equal(array, expected_arrays[name])
        assert array.flags.writeable and array.dtype == expected_arrays[name].dtype


def test_failed_write_leaves_no_partial_file_and_keeps_the_old_one(saved, monkeypatch):
    before = saved.read_bytes()
    X, y = tiny_data(seed=1)
    model = tiny_model().fit(X, y, progress=False)

    def savez_then_fail(handle, **arrays):
        handle.write(b"PK\x03\x04 half a zip")
        raise OSError("disk full")

    monkeypatch.setattr(serialization.np, "savez", savez_then_fail)
    with pytest.raises(OSError, match="disk full"):
        save(model, saved)
    with pytest.raises(OSError):
        save(model, saved.parent / "new.npz")
    assert saved.read_bytes() == before
    assert sorted(p.name for p in saved.parent.iterdir()) == ["model.npz"]
