"""SNNClassifier: learns, reproduces itself, saves and resumes its training state bit for bit."""
import json
import os
import signal

import numpy as np
import pytest

from spikingnn.training.model import SNNClassifier

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


def test_callbacks_get_the_documented_metrics():
    X, y = _blocks(100, 0)
    seen = []
    SNNClassifier(**SMALL).fit(X, y, validation_data=_blocks(50, 1), callbacks=[lambda m, met: seen.append(met)],
                               progress=False)
    assert [m["epoch"] for m in seen] == [1, 2]
    assert set(seen[0]) == {"epoch", "train_loss", "train_accuracy", "val_accuracy", "seconds",
                            "images_per_second", "lr", "spike_rates"}
    assert 0 <= seen[0]["val_accuracy"] <= 1 and len(seen[0]["spike_rates"]) == 2


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


def test_membrane_loss_reads_a_non_spiking_output_layer():
    """With ce_mem_mean the output neurons integrate without firing; the prediction is the largest mean membrane."""
    X, y = _blocks(100, 0)
    model = SNNClassifier(**SMALL, loss="ce_mem_mean").fit(X, y, progress=False)
    rec = model.record(X[:5])
    assert not rec.spikes[-1].any() and rec.spikes[0].any()
    np.testing.assert_array_equal(model.predict(X[:5]), model.classes_[np.argmax(rec.v[-1].mean(axis=0), axis=1)])


def test_uint8_images_are_accepted():
    X, y = _blocks(100, 0)
    model = SNNClassifier(**SMALL).fit((X * 255).astype(np.uint8).reshape(100, 4, 6), y, progress=False)
    assert model.n_features_in_ == 24


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
        X, y = datasets.load_mnist("train")
    except (FileNotFoundError, OSError, ValueError) as error:
        pytest.skip(f"MNIST not available: {error}")
    model = SNNClassifier(epochs=1, random_state=0).fit(X[:6000], y[:6000], progress=False)
    assert model.score(X[50000:52000], y[50000:52000]) > 0.85
