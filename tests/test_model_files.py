"""Hostile model files: every file here is crafted by hand (zipfile + numpy.lib.format), and each must end in one
ValueError line naming the member or key at fault, before any array is read, never a crash, a MemoryError or a
silent wrong prediction. A valid file still loads and predicts the same."""
import io
import json
import pathlib
import subprocess
import sys
import textwrap
import tracemalloc
import zipfile

import numpy as np
import pytest

import spikingnn
from spikingnn.serialization import HEADER_KEY
from spikingnn.training.model import MAX_STEPS, SNNClassifier

N_FEATURES, HIDDEN, N_CLASSES = 24, 16, 3


def blocks(n, seed):
    """Images of 24 pixels: class c lights pixels 8c..8c+7 (0.9), the rest is dim noise."""
    rng = np.random.default_rng(seed)
    y = rng.integers(0, N_CLASSES, n)
    X = rng.uniform(0.0, 0.15, (n, N_FEATURES))
    for c in range(N_CLASSES):
        X[y == c, 8 * c:8 * (c + 1)] = 0.9
    return X, y


@pytest.fixture(scope="module")
def valid(tmp_path_factory):
    """A small trained model saved by spikingnn: its path, the header and the arrays as NumPy reads them."""
    X, y = blocks(240, 0)
    model = SNNClassifier(hidden=(HIDDEN,), num_steps=6, batch_size=40, epochs=2, lr=2e-2, random_state=1)
    path = model.fit(X, y, progress=False).save(tmp_path_factory.mktemp("valid") / "model.npz")
    with np.load(path, allow_pickle=False) as archive:
        arrays = {name: archive[name] for name in archive.files}
    header = json.loads(arrays.pop(HEADER_KEY).tobytes())
    return path, header, arrays


def npy(array) -> bytes:
    buffer = io.BytesIO()
    np.lib.format.write_array(buffer, np.asarray(array), allow_pickle=False)
    return buffer.getvalue()


def npy_header(shape, descr="<f4") -> bytes:
    """An .npy header alone, declaring ``shape`` and ``descr`` (no data follows unless appended)."""
    buffer = io.BytesIO()
    np.lib.format.write_array_header_1_0(buffer, {"descr": descr, "fortran_order": False, "shape": tuple(shape)})
    return buffer.getvalue()


def header_bytes(header) -> bytes:
    return npy(np.frombuffer(json.dumps(header).encode(), np.uint8))


def write_zip(path, members, compression=zipfile.ZIP_STORED):
    """A zip of ``name.npy`` members from {name: bytes}, written without numpy.savez."""
    with zipfile.ZipFile(path, "w", compression=compression) as archive:
        for name, data in members.items():
            archive.writestr(f"{name}.npy", data)
    return path


def craft(tmp_path, valid, *, config=None, arrays=None, raw=None, drop=()):
    """The valid model's file with ``config`` (dict updates of header['config']['params'] under 'params', others
    top-level), ``arrays`` replaced, ``raw`` members (bytes) replaced and ``drop`` members left out."""
    _, header, original = valid
    header = json.loads(json.dumps(header))
    for key, value in (config or {}).items():
        if key == "params":
            header["config"]["params"].update(value)
        else:
            header["config"][key] = value
    members = {HEADER_KEY: header_bytes(header)}
    members.update({name: npy(array) for name, array in {**original, **(arrays or {})}.items() if name not in drop})
    members.update(raw or {})
    return write_zip(tmp_path / "crafted.npz", members)


def refused(path, match):
    with pytest.raises(ValueError, match=match) as info:
        spikingnn.load(path)
    message = str(info.value)
    assert "\n" not in message and str(path) in message and len(message) < 400
    return message


def test_a_valid_file_round_trips_and_predicts_the_same(tmp_path, valid):
    path, _, arrays = valid
    model = spikingnn.load(path)
    X, y = blocks(60, 1)
    resaved = spikingnn.load(model.save(tmp_path / "again.npz"))
    np.testing.assert_array_equal(resaved.predict(X), model.predict(X))
    assert model.score(X, y) > 0.8
    np.testing.assert_array_equal(model.weights_[0], arrays["param/weights0"])
    # a file written without numpy.savez, member by member, deflated, is read the same
    _, header, _ = valid
    rewritten = write_zip(tmp_path / "deflated.npz", {HEADER_KEY: header_bytes(header),
                                                      **{name: npy(a) for name, a in arrays.items()}},
                          compression=zipfile.ZIP_DEFLATED)
    np.testing.assert_array_equal(spikingnn.load(rewritten).predict(X), model.predict(X))
    # a Fortran-ordered member (numpy.save writes one for a transposed array) holds the same numbers
    fortran = craft(tmp_path, valid, arrays={"param/weights0": np.asfortranarray(arrays["param/weights0"])})
    assert b"'fortran_order': True" in fortran.read_bytes()
    np.testing.assert_array_equal(spikingnn.load(fortran).weights_[0], arrays["param/weights0"])


def test_first_weight_of_other_dimensions_is_refused(tmp_path, valid):
    path = craft(tmp_path, valid, arrays={"param/weights0": np.zeros((N_FEATURES + 40, HIDDEN), np.float32)})
    refused(path, rf"'param/weights0' must be float32 of shape \({N_FEATURES}, {HIDDEN}\).*got float32 of shape "
                  rf"\({N_FEATURES + 40}, {HIDDEN}\)")


def test_predict_on_that_file_exits_with_a_value_error_not_a_signal(tmp_path, valid):
    """Before the checks, the kernels read out of bounds and the interpreter died of SIGSEGV."""
    path = craft(tmp_path, valid, arrays={"param/weights0": np.zeros((N_FEATURES + 40, HIDDEN), np.float32)})
    script = f"import numpy as np, spikingnn; spikingnn.load({str(path)!r}).predict(np.zeros((5, {N_FEATURES})))"
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=300)
    assert result.returncode == 1, result.stderr                # a Python exception, not a negative signal number
    assert result.stderr.strip().splitlines()[-1].startswith("ValueError: ") and "param/weights0" in result.stderr


def test_every_entry_point_checks_the_arrays_before_a_kernel_runs(valid):
    """A model whose arrays are changed in memory after loading: predict, score, output_counts, record and fit
    each refuse it with a ValueError (run in a child process, so that a missed check cannot kill the tests)."""
    script = textwrap.dedent(f"""
        import numpy as np, spikingnn
        X, y = np.full((4, {N_FEATURES}), 0.5), np.array([0, 1, 2, 0])
        calls = {{"predict": lambda m: m.predict(X), "score": lambda m: m.score(X, y),
                 "output_counts": lambda m: m.output_counts(X), "record": lambda m: m.record(X),
                 "fit": lambda m: m.fit(X, y, epochs=2, progress=False)}}
        breaks = {{"weights0": np.ones(({N_FEATURES} + 40, {HIDDEN}), np.float32),
                  "bias1": np.ones(1000, np.float32), "beta0": np.ones(2, np.float32),
                  "weights1": np.ones(({HIDDEN}, {N_CLASSES}), np.float64)}}
        for name, call in calls.items():
            for key, array in breaks.items():
                model = spikingnn.load({str(valid[0])!r})
                model.params_[key] = array
                try:
                    call(model)
                except ValueError as error:
                    print(name, key, "refused:", error)
            model = spikingnn.load({str(valid[0])!r})
            model.optimizer_state_["m/weights0"] = np.ones(3, np.float32)
            try:
                call(model)
                print(name, "m/weights0", "ran")
            except ValueError as error:
                print(name, "m/weights0", "refused:", error)
        model = spikingnn.load({str(valid[0])!r})
        try:
            model.predict(np.zeros((2, {N_FEATURES} + 1)))
        except ValueError as error:
            print("features refused:", error)
    """)
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    for name in ("predict", "score", "output_counts", "record", "fit"):
        for key in ("weights0", "bias1", "beta0", "weights1"):
            assert any(line.startswith(f"{name} {key} refused:") and f"param/{key}" in line for line in lines), name
    # inference never touches the optimiser's state; fit does, and refuses a moment of the wrong shape
    assert "predict m/weights0 ran" in lines and any(line.startswith("fit m/weights0 refused:") for line in lines)
    assert any(line.startswith("features refused: X must have 24 features") for line in lines)


def test_header_and_arrays_of_different_architectures_are_refused(tmp_path, valid):
    """The header says 64 hidden units, the arrays hold 16: it used to predict anyway."""
    path = craft(tmp_path, valid, config={"params": {"hidden": [64]}})
    refused(path, rf"'param/weights0' must be float32 of shape \({N_FEATURES}, 64\)")
    path = craft(tmp_path, valid, config={"n_features_in": 30})
    refused(path, rf"'param/weights0' must be float32 of shape \(30, {HIDDEN}\)")
    path = craft(tmp_path, valid, config={"params": {"recurrent": True}})
    refused(path, r"'param/w_rec0' is missing")
    path = craft(tmp_path, valid, config={"params": {"dtype": "float64"}})
    refused(path, r"must be float64 of shape")


def test_a_missing_or_an_extra_array_is_refused(tmp_path, valid):
    refused(craft(tmp_path, valid, drop=("param/bias1",)), r"array 'param/bias1' is missing")
    refused(craft(tmp_path, valid, drop=("classes",)), r"array 'classes' is missing")
    refused(craft(tmp_path, valid, drop=("optimizer/v/weights0",)), r"'optimizer/v/weights0' is missing")
    refused(craft(tmp_path, valid, arrays={"param/extra": np.zeros(3, np.float32)}),
            r"array 'param/extra' does not belong")


def test_a_class_count_other_than_the_outputs_is_refused(tmp_path, valid):
    """Two class labels for three output neurons: it used to end in an IndexError."""
    refused(craft(tmp_path, valid, arrays={"classes": np.array([4, 7])}),
            rf"'param/weights1' must be float32 of shape \({HIDDEN}, 2\).*got float32 of shape \({HIDDEN}, 3\)")
    refused(craft(tmp_path, valid, arrays={"classes": np.array([7, 5, 6])}), r"'classes' must be sorted and distinct")
    refused(craft(tmp_path, valid, arrays={"classes": np.zeros((3, 1))}), r"'classes' must be a 1-D array")


@pytest.mark.parametrize("member,shape", [("param/weights0", (2 ** 40, 2 ** 40)), ("param/bias0", (2 ** 62,)),
                                          ("classes", (2 ** 50,)), (HEADER_KEY, (2 ** 45,))])
def test_absurd_npy_shapes_are_refused_before_any_allocation(tmp_path, valid, member, shape):
    descr = "|u1" if member == HEADER_KEY else "<i8" if member == "classes" else "<f4"
    path = craft(tmp_path, valid, raw={member: npy_header(shape, descr) + b"\0" * 64})
    message = refused(path, "shape")
    assert f"shape {shape}" in message


def test_a_zip_bomb_is_refused_without_inflating_it(tmp_path, valid):
    """A 300 MiB member of zeros deflates to ~300 kB; loading must not inflate it (it used to peak above 1 GiB)."""
    _, header, arrays = valid
    path = tmp_path / "bomb.npz"
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        archive.writestr(f"{HEADER_KEY}.npy", header_bytes(header))
        for name, array in arrays.items():
            if name != "param/weights0":
                archive.writestr(f"{name}.npy", npy(array))
        with archive.open("param/weights0.npy", "w", force_zip64=True) as member:
            member.write(npy_header((N_FEATURES, HIDDEN)))
            zeros = bytes(1 << 20)
            for _ in range(300):
                member.write(zeros)
    assert path.stat().st_size < 2 << 20
    declared_need = sum(a.nbytes for a in arrays.values())          # what the header's architecture needs
    tracemalloc.start()
    try:
        message = refused(path, r"member 'param/weights0.npy' declares \d+ bytes; its .npy header describes")
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert f"declares {len(npy_header((N_FEATURES, HIDDEN))) + (300 << 20)} bytes" in message
    # the architecture needs ~6 kB; the zip directory and the JSON header cost ~0.1 MiB whatever the member holds
    assert peak < declared_need + (1 << 20), f"peak {peak / 2**20:.1f} MiB"


def test_a_member_shorter_than_its_npy_header_says_is_refused(tmp_path, valid):
    _, _, arrays = valid
    data = npy(arrays["param/bias0"])
    refused(craft(tmp_path, valid, raw={"param/bias0": data[:-8]}), r"'param/bias0.npy' declares \d+ bytes")


@pytest.mark.parametrize("name,value", [("weights0", np.nan), ("bias1", np.inf), ("v_threshold0", -np.inf)])
def test_nan_and_infinite_weights_are_refused(tmp_path, valid, name, value):
    """NaN weights used to give every image the same confident class."""
    array = valid[2][f"param/{name}"].copy()
    array.flat[1] = value
    refused(craft(tmp_path, valid, arrays={f"param/{name}": array}), rf"'param/{name}' must hold finite numbers")


@pytest.mark.parametrize("params,match", [
    ({"beta": [0.9, 0.8]}, r"beta must be a finite number; got \[0.9, 0.8\]"),
    ({"random_state": 1.5}, r"random_state must be an integer in \[0, "),
    ({"num_steps": 2 ** 50}, rf"num_steps must be an integer in \[1, {MAX_STEPS}\]; got 1125899906842624"),
    ({"num_steps": 6.0}, r"num_steps must be an integer"),
    ({"num_steps": True}, r"num_steps must be an integer"),
    ({"hidden": [2 ** 40]}, r"hidden must be an integer or a list of at most"),
    ({"hidden": "16"}, r"hidden must be an integer or a list"),
    ({"hidden": list(range(1, 40))}, r"hidden must be an integer or a list of at most 16"),
    ({"lr": "0.01"}, r"lr must be a finite number; got '0.01'"),
    ({"lr": float("nan")}, r"lr must be a finite number; got nan"),
    ({"lr": 10 ** 400}, r"lr must be a finite number"),
    ({"tau_mem": float("inf")}, r"tau_mem must be None \(null\) or a finite number"),
    ({"detach_reset": "yes"}, r"detach_reset must be True or False"),
    ({"encoding": ["rate"]}, r"encoding must be a string"),
    ({"encoding": "morse"}, r"encoding must be one of"),
    ({"optimizer": "rmsprop"}, r"optimizer must be one of"),
    ({"lr": -1.0}, r"lr must be > 0"),
    ({"batch_size": 2 ** 40}, r"batch_size must be an integer in \[1, "),
    ({"nonsense": 1}, r"config.params must be SNNClassifier parameters only"),
])
def test_header_fields_of_the_wrong_type_or_size_are_refused(tmp_path, valid, params, match):
    refused(craft(tmp_path, valid, config={"params": params}), match)


@pytest.mark.parametrize("config,match", [
    ({"n_features_in": 2 ** 40}, r"n_features_in must be an integer in \[1, "),
    ({"n_features_in": "24"}, r"n_features_in must be an integer"),
    ({"epoch": -1}, r"config.epoch must be an integer in \[0, "),
    ({"epoch": 3}, r"config.history must be a list of 3 epoch records"),
    ({"batch_in_epoch": 1.5}, r"config.batch_in_epoch must be an integer"),
    ({"batch_in_epoch": 2}, r"config.epoch_stats.seen must be an integer >= 0, 0 exactly when batch_in_epoch is 0"),
    ({"history": [{"epoch": 1}, {}]}, r"config.history\[0\] must be a dict with the keys"),
    ({"epoch_stats": {"loss_sum": 0.0}}, r"config.epoch_stats must be a dict with the keys"),
    ({"format": 7}, r"config.format must be 1"),
])
def test_other_config_fields_are_checked(tmp_path, valid, config, match):
    refused(craft(tmp_path, valid, config=config), match)


def test_a_missing_hyper_parameter_is_refused(tmp_path, valid):
    _, header, arrays = valid
    header = json.loads(json.dumps(header))
    del header["config"]["params"]["lr"]
    path = write_zip(tmp_path / "m.npz", {HEADER_KEY: header_bytes(header), **{n: npy(a) for n, a in arrays.items()}})
    refused(path, r"config.params must be every SNNClassifier parameter; got \"none for \['lr'\]\"")


def test_sizes_are_bounded_by_the_constructor_too():
    X, y = blocks(20, 0)
    for options, match in (({"num_steps": 2 ** 50}, "num_steps must be an integer in"),
                           ({"hidden": (60_000, 60_000, 60_000)}, "need .* parameters; at most"),
                           ({"random_state": 2.5}, "random_state must be an integer")):
        with pytest.raises(ValueError, match=match):
            SNNClassifier(**options).fit(X, y, progress=False)


@pytest.mark.parametrize("keep", [0.05, 0.3, 0.6, 0.9, 0.999])
def test_truncated_files_are_refused(tmp_path, valid, keep):
    data = valid[0].read_bytes()
    path = tmp_path / "model.npz"
    path.write_bytes(data[:max(int(keep * len(data)), 5)])
    refused(path, "model.npz")


def test_files_that_are_not_zips_are_refused(tmp_path):
    (tmp_path / "notes.npz").write_text("hello")
    refused(tmp_path / "notes.npz", r"is not a spikingnn model file: not an .npz \(zip\) archive")
    np.save(tmp_path / "array.npy", np.zeros(3))
    refused(tmp_path / "array.npy", r"not an .npz \(zip\) archive")
    with pytest.raises(OSError):
        spikingnn.load(tmp_path / "absent.npz")


def test_members_that_are_not_npy_arrays_are_refused(tmp_path, valid):
    _, header, _ = valid
    members = {HEADER_KEY: header_bytes(header)}
    refused(write_zip(tmp_path / "a.npz", {**members, "param/weights0": b"\x93NUMPY junk"}),
            r"member 'param/weights0.npy' is not a valid .npy array")
    with zipfile.ZipFile(tmp_path / "b.npz", "w") as archive:
        archive.writestr(f"{HEADER_KEY}.npy", members[HEADER_KEY])
        archive.writestr("readme.txt", b"hello")
    refused(tmp_path / "b.npz", r"member 'readme.txt' is not an .npy array")


class _Trap:
    """Unpickling this object creates the file ``marker``: a stand-in for code a hostile file would run."""

    def __init__(self, marker):
        self.marker = marker

    def __reduce__(self):
        return pathlib.Path.touch, (pathlib.Path(self.marker),)


def test_a_pickled_object_member_is_refused_and_never_unpickled(tmp_path, valid):
    marker = tmp_path / "pwned"
    buffer = io.BytesIO()
    np.lib.format.write_array(buffer, np.array([_Trap(marker)], dtype=object), allow_pickle=True)
    for member in ("classes", "param/weights0", "evil"):
        path = craft(tmp_path, valid, raw={member: buffer.getvalue()})
        refused(path, rf"member '{member}.npy' holds Python objects, which only pickle could load")
    assert not marker.exists()
