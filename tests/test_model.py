"""SNNClassifier: learns, reproduces itself, saves and resumes its training state bit for bit."""
import json
import os
import re
import signal
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from spikingnn import progress
from spikingnn.training import hyperparams
from spikingnn.training import model as model_module
from spikingnn.training.callbacks import Callback
from spikingnn.training.losses import SPIKE_LOSSES
from spikingnn.training.model import METRICS, SNNClassifier

SMALL = dict(hidden=(16,), num_steps=8, batch_size=32, epochs=2, lr=2e-2, random_state=3)


def _blocks(n, seed, n_classes=3, width=8):
    """Images of n_classes * width pixels: class c lights block c (0.9), the rest is dim noise (< 0.15)."""
    rng = np.random.default_rng(seed)
    y = rng.integers(0, n_classes, n)
    X = rng.uniform(0.0, 0.15, (n, n_classes * width))
    for c in range(n_classes):
        X[y == c, c * width:(c + 1) * width] = 0.9
    return X, y + 5          # labels 5, 6, 7: classes_ need not start at 0


def _same_weights(a, b):
    for wa, wb in zip(a.weights_ + a.biases_, b.weights_ + b.biases_):
        np.testing.assert_array_equal(wa, wb)


def _strip_times(history):
    return [{k: v for k, v in h.items() if k not in ("seconds", "images_per_second")} for h in history]


def test_learns_a_separable_task():
    X, y = _blocks(300, 0)
    X_test, y_test = _blocks(150, 1)
    model = SNNClassifier(**SMALL).fit(X, y, progress=False)
    assert model.score(X_test, y_test) > 0.9
    assert model.classes_.tolist() == [5, 6, 7] and model.layer_sizes_ == [24, 16, 3]
    assert len(model.history_) == 2 and model.epoch_ == 2 and model.batch_in_epoch_ == 0
    assert model.history_[-1]["train_loss"] < model.history_[0]["train_loss"]


@pytest.mark.parametrize("options", [dict(encoding="latency", loss="ce_mem_max"),
                                     dict(encoding="current", loss="mse_count", neuron="alif", optimizer="sgd",
                                          lr=0.05),
                                     dict(hidden=(16, 16), residual=True, recurrent=True, learn_beta=True,
                                          learn_threshold=True, loss="ce_mem_mean", lr_schedule="cosine",
                                          reset="zero", rate_reg=0.1, grad_clip=1.0)])
def test_every_option_trains(options):
    X, y = _blocks(300, 0)
    model = SNNClassifier(**{**SMALL, "epochs": 3, **options}).fit(X, y, progress=False)
    assert model.score(*_blocks(150, 1)) > 0.8


def test_same_seed_same_model_other_seed_other_model():
    X, y = _blocks(200, 0)
    a, b = (SNNClassifier(**SMALL).fit(X, y, progress=False) for _ in range(2))
    _same_weights(a, b)
    c = SNNClassifier(**{**SMALL, "random_state": 4}).fit(X, y, progress=False)
    assert not np.array_equal(a.weights_[0], c.weights_[0])


def test_state_round_trip_continues_bit_exactly():
    """get_state -> JSON -> from_state after epoch 1, then epoch 2: identical to never stopping."""
    X, y = _blocks(200, 0)
    straight = SNNClassifier(**SMALL).fit(X, y, progress=False)
    first = SNNClassifier(**SMALL).fit(X, y, epochs=1, progress=False)
    config, arrays = first.get_state()
    resumed = SNNClassifier.from_state(json.loads(json.dumps(config)), {k: v.copy() for k, v in arrays.items()})
    resumed.fit(X, y, progress=False)
    _same_weights(straight, resumed)
    assert _strip_times(straight.history_) == _strip_times(resumed.history_)


def test_sigint_mid_epoch_then_resume_reproduces_the_uninterrupted_run(monkeypatch):
    """Ctrl-C during batch 3: the batch finishes, KeyboardInterrupt, a consistent state; resuming = never stopping."""
    X, y = _blocks(200, 0)
    straight = SNNClassifier(**SMALL).fit(X, y, progress=False)
    model = SNNClassifier(**SMALL)
    original, calls = SNNClassifier._train_step, []

    def step_with_ctrl_c(self, *args):
        calls.append(1)
        if len(calls) == 3:
            os.kill(os.getpid(), signal.SIGINT)       # arrives during the batch
        return original(self, *args)

    monkeypatch.setattr(SNNClassifier, "_train_step", step_with_ctrl_c)
    handler_before = signal.getsignal(signal.SIGINT)
    with pytest.raises(KeyboardInterrupt):
        model.fit(X, y, progress=False)
    assert signal.getsignal(signal.SIGINT) is handler_before
    assert (model.epoch_, model.batch_in_epoch_, int(model.optimizer_state_["step"])) == (0, 3, 3)
    monkeypatch.setattr(SNNClassifier, "_train_step", original)
    resumed = SNNClassifier.from_state(*model.get_state())
    resumed.fit(X, y, progress=False)
    _same_weights(straight, resumed)
    assert _strip_times(straight.history_) == _strip_times(resumed.history_)


class Recorder(Callback):
    """Logs every hook call with its arguments."""

    def __init__(self):
        self.calls = []

    def on_fit_begin(self, model, epochs):
        self.calls.append(("fit_begin", epochs))

    def on_epoch_begin(self, model, epoch, n_batches):
        self.calls.append(("epoch_begin", epoch, n_batches, model.batch_in_epoch_))

    def on_batch_end(self, model, batch, stats):
        self.calls.append(("batch_end", batch, dict(stats), model.batch_in_epoch_))

    def on_epoch_end(self, model, metrics):
        self.calls.append(("epoch_end", metrics))

    def on_fit_end(self, model):
        self.calls.append(("fit_end",))


def test_callbacks_are_called_in_order_with_the_documented_arguments():
    X, y = _blocks(100, 0)           # batch 32: batches of 32, 32, 32, 4
    recorder, seen = Recorder(), []
    model = SNNClassifier(**SMALL).fit(X, y, validation_data=_blocks(50, 1), progress=False,
                                       callbacks=[recorder, lambda m, met: seen.append(met)])
    kinds = [c[0] for c in recorder.calls]
    assert kinds == ["fit_begin"] + (["epoch_begin"] + ["batch_end"] * 4 + ["epoch_end"]) * 2 + ["fit_end"]
    assert recorder.calls[0] == ("fit_begin", 2) and recorder.calls[1] == ("epoch_begin", 0, 4, 0)
    batches = [c for c in recorder.calls if c[0] == "batch_end"]
    assert [(c[1], c[3]) for c in batches[:4]] == [(0, 1), (1, 2), (2, 3), (3, 4)]
    assert [c[2]["seen"] for c in batches[:4]] == [32, 64, 96, 100]
    assert set(batches[0][2]) == {"loss", "accuracy", "images_per_second", "seen", "lr"}
    # the running means at the epoch's last batch are the epoch's metrics; the plain function sees the same record
    last, metrics = batches[3][2], recorder.calls[6][1]
    assert last["loss"] == pytest.approx(metrics["train_loss"]) and last["accuracy"] == metrics["train_accuracy"]
    assert seen == model.history_ == [c[1] for c in recorder.calls if c[0] == "epoch_end"]
    assert [m["epoch"] for m in seen] == [1, 2] and set(seen[0]) == set(METRICS)
    assert 0 <= seen[0]["val_accuracy"] <= 1 and len(seen[0]["spike_rates"]) == 2
    assert recorder.calls[1 + 6][:3] == ("epoch_begin", 1, 4)


def test_fit_end_is_called_when_training_stops_early():
    X, y = _blocks(100, 0)

    class StopAtSecondBatch(Recorder):
        def on_batch_end(self, model, batch, stats):
            if batch == 1:
                raise KeyboardInterrupt

    stopper = StopAtSecondBatch()
    model = SNNClassifier(**SMALL)
    with pytest.raises(KeyboardInterrupt):
        model.fit(X, y, callbacks=[stopper], progress=False)
    assert stopper.calls[-1] == ("fit_end",) and (model.epoch_, model.batch_in_epoch_) == (0, 2)


@pytest.mark.parametrize("callbacks", [[3], lambda m, met: None, Callback()])
def test_bad_callbacks_are_refused(callbacks):
    X, y = _blocks(40, 0)
    with pytest.raises(ValueError, match="callbacks must"):
        SNNClassifier(**SMALL).fit(X, y, callbacks=callbacks, progress=False)


@pytest.mark.parametrize("compiling", [False, True])
def test_progress_bar_and_epoch_summaries(monkeypatch, capsys, compiling):
    """progress=True: a bar per epoch on stderr, one summary line per epoch on stdout; when the kernels are still
    to be compiled it says so first, and the bar starts after the first batch (no ETA while compiling)."""
    monkeypatch.setattr(progress, "kernels_need_compiling", lambda convolutions: compiling)
    X, y = _blocks(100, 0)
    model = SNNClassifier(**SMALL).fit(X, y)
    out, err = capsys.readouterr()
    assert out.splitlines() == [progress.epoch_summary(m, model.loss in SPIKE_LOSSES) for m in model.history_]
    assert out.startswith(f"epoch 1: loss {model.history_[0]['train_loss']:.4f}  train acc ")
    hidden_rate = model.history_[0]["spike_rates"][0]         # the default loss reads out a non-spiking membrane
    assert out.splitlines()[0].endswith(f"spike rates {hidden_rate:.3f} (output: non-spiking read-out)")
    frames = [frame for frame in re.split(r"[\r\n]", err) if "batch/s" in frame]
    assert frames and all(frame.startswith(("epoch 1/2:", "epoch 2/2:")) for frame in frames)
    if compiling:
        assert err.startswith(progress.COMPILING)
        assert err.count(progress.COMPILING) == 1         # the first epoch only
        assert " 1/4 [00:00<?" in frames[0]
        assert not any(" 0/4 " in frame for frame in frames if frame.startswith("epoch 1/2"))
    else:
        assert progress.COMPILING not in err and " 0/4 " in frames[0]


@pytest.mark.slow          # compiles every training kernel into an empty cache: about a minute
def test_first_run_says_it_is_compiling_and_later_runs_do_not(tmp_path):
    """With an empty Numba cache (NUMBA_CACHE_DIR) the kernels compile: the bar says so and shows no ETA for the
    first batch; a second process finds them in the cache and says nothing."""
    script = ("import numpy as np\nfrom spikingnn.training.model import SNNClassifier\n"
              "from spikingnn.progress import kernels_need_compiling\n"
              "print(kernels_need_compiling(convolutions=False), flush=True)\n"
              "rng = np.random.default_rng(0)\n"
              "X, y = rng.uniform(0, 1, (60, 24)), np.arange(60) % 3\n"
              "SNNClassifier(hidden=(40,), num_steps=4, batch_size=20, epochs=1).fit(X, y)\n"
              "print(kernels_need_compiling(convolutions=False))\n")
    env = {**os.environ, "NUMBA_CACHE_DIR": str(tmp_path)}
    runs = [subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, env=env, timeout=900)
            for _ in range(2)]
    for run in runs:
        assert run.returncode == 0, run.stderr
    first, second = runs
    assert first.stdout.splitlines()[0] == "True" and first.stdout.splitlines()[-1] == "False"
    assert first.stderr.startswith(progress.COMPILING) and " 0/3 " not in first.stderr
    assert second.stdout.splitlines()[0] == "False" and progress.COMPILING not in second.stderr
    assert " 0/3 " in second.stderr


def test_hyper_parameters_are_built_once_per_call(monkeypatch):
    calls = []
    original = hyperparams.build
    monkeypatch.setattr(hyperparams, "build", lambda *args: calls.append(1) or original(*args))
    X, y = _blocks(100, 0)
    model = SNNClassifier(**{**SMALL, "epochs": 3}).fit(X, y, validation_data=_blocks(30, 1), progress=False)
    assert len(calls) == 1
    model.fit(X, y, epochs=4, validation_data=_blocks(30, 1), progress=False)
    model.predict(X)
    model.record(X[:3])
    assert len(calls) == 4


def test_the_training_package_prints_nothing(capfd):
    X, y = _blocks(100, 0)
    SNNClassifier(**SMALL).fit(X, y, validation_data=_blocks(30, 1), progress=False).predict(X)
    assert capfd.readouterr() == ("", "")
    package = Path(model_module.__file__).parent
    offenders = [f"{path.name}:{number}" for path in sorted(package.glob("*.py"))
                 for number, line in enumerate(path.read_text().splitlines(), 1)
                 if "print(" in line or "tqdm" in line]
    assert offenders == []


def test_from_state_refuses_arrays_that_do_not_fit_the_architecture():
    X, y = _blocks(100, 0)
    config, arrays = SNNClassifier(**SMALL).fit(X, y, epochs=1, progress=False).get_state()
    bad = {**arrays, "param/weights0": np.zeros((25, 16), np.float32)}
    with pytest.raises(ValueError, match=r"'param/weights0' must be float32 of shape \(24, 16\)"):
        SNNClassifier.from_state(config, bad)
    with pytest.raises(ValueError, match=r"'param/w_rec0' is missing"):
        SNNClassifier.from_state({**config, "params": {**config["params"], "recurrent": True}}, arrays)


def test_resuming_with_other_data_is_refused():
    """A state interrupted at batch 3 of 4 cannot resume on data that makes fewer batches per epoch."""
    X, y = _blocks(100, 0)
    config, arrays = SNNClassifier(**SMALL).fit(X, y, epochs=1, progress=False).get_state()
    model = SNNClassifier.from_state(config, arrays)
    model.batch_in_epoch_ = 3
    with pytest.raises(ValueError, match="batch_in_epoch_ is 3, beyond the 2 batches"):
        model.fit(X[:50], y[:50], progress=False)


def test_inference_outputs():
    X, y = _blocks(100, 0)
    model = SNNClassifier(**SMALL, loss="ce_count").fit(X, y, progress=False)
    counts = model.output_counts(X[:7])
    assert counts.shape == (7, 3) and counts.min() >= 0 and counts.max() <= SMALL["num_steps"]
    np.testing.assert_array_equal(model.predict(X[:7]), model.classes_[np.argmax(counts, axis=1)])
    rec = model.record(X[:4])
    assert rec.input_spikes.shape == (8, 4, 24) and rec.input_spikes.dtype == bool
    assert [s.shape for s in rec.spikes] == [(8, 4, 16), (8, 4, 3)] and [v.shape for v in rec.v] == [(8, 4, 16),
                                                                                                      (8, 4, 3)]
    np.testing.assert_array_equal(rec.spikes[-1].sum(axis=0), counts[:4])


@pytest.mark.parametrize("encoding", ["rate", "latency", "current"])
def test_inference_runs_the_same_spikes_whatever_the_run_batch(monkeypatch, encoding):
    """Inference encodes EVAL_BATCH pictures at once and runs RUN_BATCH of them at a time: the runs see the input
    of the whole encoded batch. Rate-coded input goes through the event kernels, which treat each sample alone:
    every spike and membrane is the same. Dense input goes through BLAS, whose sums may round differently for
    another number of rows: the membranes agree to float32 rounding."""
    X, y = _blocks(120, 0)
    model = SNNClassifier(**SMALL, encoding=encoding, loss="ce_count").fit(X, y, progress=False)
    monkeypatch.setattr(model_module, "EVAL_BATCH", 50)
    records = {}
    for run_batch in (50, 7):
        monkeypatch.setattr(model_module, "RUN_BATCH", run_batch)
        records[run_batch] = model.record(X)
    whole, parts = records[50], records[7]
    np.testing.assert_array_equal(parts.input_spikes, whole.input_spikes)
    for a, b in zip(whole.v, parts.v):
        if encoding == "rate":
            np.testing.assert_array_equal(b, a)
        else:
            np.testing.assert_allclose(b, a, rtol=1e-5, atol=1e-5)
    if encoding == "rate":
        for a, b in zip(whole.spikes, parts.spikes):
            np.testing.assert_array_equal(b, a)
        assert whole.spikes[-1].any()


def test_membrane_loss_reads_a_non_spiking_output_layer():
    """With ce_mem_mean the output neurons integrate without firing; the prediction is the largest mean membrane."""
    X, y = _blocks(100, 0)
    model = SNNClassifier(**SMALL, loss="ce_mem_mean").fit(X, y, progress=False)
    rec = model.record(X[:5])
    assert not rec.spikes[-1].any() and rec.spikes[0].any()
    np.testing.assert_array_equal(model.predict(X[:5]), model.classes_[np.argmax(rec.v[-1].mean(axis=0), axis=1)])


def test_uint8_images_train_exactly_as_their_float_values():
    """uint8 pixel p and the float p / 255 are the same level (round(256 p / 255)), so the same model."""
    X, y = _blocks(100, 0)
    pixels = (X * 255).astype(np.uint8)
    from_pixels = SNNClassifier(**SMALL).fit(pixels.reshape(100, 4, 6), y, progress=False)
    from_floats = SNNClassifier(**SMALL).fit(pixels / 255.0, y, progress=False)
    assert from_pixels.n_features_in_ == 24
    _same_weights(from_pixels, from_floats)


@pytest.mark.parametrize("bad,match", [(dict(encoding="morse"), "encoding must be one of"),
                                       (dict(beta=1.5), "beta must be in"),
                                       (dict(hidden=(0,)), "hidden must be an integer"),
                                       (dict(batch_size=0), "batch_size must be an integer")])
def test_bad_hyper_parameters_are_refused_at_fit(bad, match):
    X, y = _blocks(40, 0)
    model = SNNClassifier(**{**SMALL, **bad})          # __init__ only stores
    with pytest.raises(ValueError, match=match):
        model.fit(X, y, progress=False)


def test_bad_data_is_refused():
    X, y = _blocks(40, 0)
    with pytest.raises(ValueError, match="y must have shape"):
        SNNClassifier(**SMALL).fit(X, y[:-1], progress=False)
    with pytest.raises(ValueError, match=r"X must be in \[0.0, 1.0\]"):
        SNNClassifier(**SMALL).fit(X * 2, y, progress=False)
    with pytest.raises(ValueError, match="not fitted"):
        SNNClassifier().predict(X)


def test_mnist_subset_learns_quickly():
    datasets = pytest.importorskip("spikingnn.datasets")
    try:
        X, y = datasets.load_mnist("train", download=False)
    except (FileNotFoundError, OSError, ValueError) as error:
        pytest.skip(f"MNIST not available: {error}")
    model = SNNClassifier(epochs=1, random_state=0).fit(X[:6000], y[:6000], progress=False)
    assert model.score(X[50000:52000], y[50000:52000]) > 0.85
