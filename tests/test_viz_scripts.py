"""The scripts that look inside a trained network run headless on a tiny saved model and write their files,
drawing its output layer as it works; the demo model uses SNNClassifier's recipe; the demo digits and the
recovered initial weights are what they claim to be; every script's --help describes it in whole sentences."""
import importlib.util
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

import spikingnn.plotting
from spikingnn.cli import write_metrics
from spikingnn.serialization import save
from spikingnn.training.model import SNNClassifier
from spikingnn.viz.demo import demo_model, initial_weights, pick_test_digit, synthetic_digits

# End-to-end runs of whole commands and scripts: on the main Python of .ci/run only (see setup.cfg).
pytestmark = pytest.mark.slow

SCRIPTS = Path(__file__).resolve().parents[1] / "visualizations"
STEPS = 5


def _script(name):
    spec = importlib.util.spec_from_file_location(f"viz_script_{name}", SCRIPTS / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _tiny_model(tmp_path, seed=0, lr=3e-3, loss="ce_mem_mean"):
    """784-8-10, T = 5, one epoch on 100 synthetic digits, saved to tmp_path: a second of training."""
    images, labels = synthetic_digits(100, np.random.default_rng(seed))
    model = SNNClassifier(hidden=(8,), num_steps=STEPS, epochs=1, batch_size=25, lr=lr, loss=loss, random_state=seed)
    model.fit(images, labels, progress=False)
    return model, save(model, tmp_path / f"tiny_{loss}.npz")


def _figure_of(module, monkeypatch):
    """Run ``module.main`` with ``save_figure`` recording the figures it saves; returns them in order."""
    figures = []
    monkeypatch.setattr(module, "save_figure", lambda fig, out, name: figures.append(fig))
    return figures


def _nonempty_png(path):
    assert path.stat().st_size > 0
    with Image.open(path) as image:
        assert image.format == "PNG" and min(image.size) > 100


def test_network_animation_writes_one_gif_frame_per_time_step(tmp_path):
    _, model_path = _tiny_model(tmp_path)
    _script("network_animation").main(["--model", str(model_path), "--out", str(tmp_path), "--digit", "3"])
    with Image.open(tmp_path / "network_animation.gif") as gif:
        sizes = set()
        for k in range(gif.n_frames):
            gif.seek(k)
            sizes.add(gif.size)
        assert gif.n_frames == STEPS and len(sizes) == 1
    (width, height), = sizes                  # figsize (8.0, 4.6) in at dpi 90; backends round differently
    assert abs(width - 720) <= 1 and abs(height - 414) <= 1


def test_output_activity_draws_a_membrane_read_out_without_threshold_or_raster(tmp_path, monkeypatch):
    _, model_path = _tiny_model(tmp_path, loss="ce_mem_mean")
    script = _script("output_activity")
    figures = _figure_of(script, monkeypatch)
    script.main(["--model", str(model_path), "--out", str(tmp_path)])
    labels = [ax.get_ylabel() for ax in figures[0].axes]
    assert "read-out membrane (time-averaged)" in labels and "cumulative spike count" not in labels
    for ax in figures[0].axes:
        assert not any(c.get_offsets().size for c in ax.collections)                    # no raster ticks
        assert not any(line.get_linestyle() == "--" for line in ax.lines)              # no threshold line


def test_output_activity_draws_the_spikes_a_spiking_read_out_recorded(tmp_path, monkeypatch):
    model, model_path = _tiny_model(tmp_path, loss="ce_count")
    script = _script("output_activity")
    figures = _figure_of(script, monkeypatch)
    script.main(["--model", str(model_path), "--out", str(tmp_path), "--digit", "3"])
    image, _ = pick_test_digit(3, 0)
    recorded = model.record(image[None]).spikes[-1][:, 0]
    raster = next(ax for ax in figures[0].axes if ax.get_title() == "output spikes")
    assert sum(len(c.get_offsets()) for c in raster.collections) == recorded.sum()
    counts = next(ax for ax in figures[0].axes if ax.get_ylabel() == "cumulative spike count")
    np.testing.assert_array_equal([line.get_ydata()[-1] for line in counts.lines], recorded.sum(axis=0))


def test_output_activity_and_weights_scripts_write_their_pictures(tmp_path):
    _, model_path = _tiny_model(tmp_path)
    _script("output_activity").main(["--model", str(model_path), "--out", str(tmp_path)])
    _script("weights_viz").main(["--model", str(model_path), "--out", str(tmp_path), "--fields", "4"])
    for name in ("output_activity.png", "weight_histograms.png", "receptive_fields.png"):
        _nonempty_png(tmp_path / name)


def test_energy_vs_steps_prints_one_line_per_t(tmp_path, capsys):
    _, model_path = _tiny_model(tmp_path)
    _script("energy_vs_steps").main(["--model", str(model_path), "--out", str(tmp_path), "--steps", "2", "4",
                                     "--images", "20"])
    _nonempty_png(tmp_path / "energy_vs_steps.png")
    printed = capsys.readouterr().out
    assert "T =   2:" in printed and "T =   4:" in printed and "ANN of the same architecture" in printed


def test_training_curves_reads_a_runs_metrics_csv(tmp_path):
    history = [dict(epoch=e, train_loss=1.0 / e, train_accuracy=0.8, val_accuracy=0.75, spike_rates=[0.1, 0.02])
               for e in (1, 2)]
    write_metrics(tmp_path / "run" / "metrics.csv", history)
    _script("training_curves").main(["--run", str(tmp_path / "run"), "--out", str(tmp_path)])
    _nonempty_png(tmp_path / "training_curves.png")


def test_training_curves_of_a_run_with_a_membrane_read_out_draw_no_output_rate(tmp_path, monkeypatch):
    model, _ = _tiny_model(tmp_path, loss="ce_mem_mean")
    save(model, tmp_path / "run" / "model.npz")
    write_metrics(tmp_path / "run" / "metrics.csv", model.history_)
    script = _script("training_curves")
    figures = _figure_of(script, monkeypatch)
    script.main(["--run", str(tmp_path / "run"), "--out", str(tmp_path)])
    rate_ax = figures[0].axes[-1]
    assert [line.get_label() for line in rate_ax.lines] == ["hidden 1"]
    assert "non-spiking read-out" in " ".join(text.get_text() for text in rate_ax.texts)


def test_synthetic_digits_are_mnist_like():
    images, labels = synthetic_digits(50, np.random.default_rng(0))
    assert images.shape == (50, 28, 28) and images.dtype == np.uint8
    assert set(labels) <= set(range(10))
    rows, cols = np.indices((28, 28))
    for image in images:                      # ink bright, centre of mass near MNIST's (14, 14)
        mass = image.astype(float) / image.sum()
        assert image.max() > 200
        assert abs((mass * rows).sum() - 14) < 3.5 and abs((mass * cols).sum() - 14) < 3.5
    again, _ = synthetic_digits(50, np.random.default_rng(0))
    np.testing.assert_array_equal(images, again)


def test_initial_weights_are_the_weights_training_started_from(tmp_path):
    """A learning rate far below float32 resolution leaves the weights where they started."""
    frozen, _ = _tiny_model(tmp_path, lr=1e-30)
    for before, after in zip(initial_weights(frozen), frozen.weights_):
        np.testing.assert_array_equal(before, after)
    trained, _ = _tiny_model(tmp_path, lr=3e-3)
    assert not np.array_equal(initial_weights(trained)[0], trained.weights_[0])
    np.testing.assert_array_equal(initial_weights(trained)[0], initial_weights(frozen)[0])   # same random_state


def test_demo_model_is_snnclassifiers_recipe_on_less_data():
    model = demo_model(hidden=8, n_train=60, seed=1)
    assert model.layer_sizes_ == [784, 8, 10] and model.epoch_ == 1
    defaults = SNNClassifier().get_params()
    changed = {k for k, v in model.get_params().items() if v != defaults[k]}
    assert changed <= {"hidden", "epochs", "random_state"}


def test_memory_viz_trains_both_networks_once_and_draws_what_they_remember(tmp_path, capsys):
    """memory_viz.py trains the ALIF and the LIF network (checkpoints in --runs), writes its PNG; a second call
    resumes from the checkpoints instead of training again. Panel (c): a read-out of the ALIF thresholds tells the
    side during the delay far better than chance even after one batch (the memory is in the neuron), the LIF
    membranes do not."""
    module = _script("memory_viz")
    args = ["--iterations", "1", "--hidden", "16", "--runs", str(tmp_path / "runs"), "--out", str(tmp_path)]
    module.main(args)
    _nonempty_png(tmp_path / "adaptation_memory.png")
    assert (tmp_path / "runs" / "alif" / "checkpoint.npz").exists() and (tmp_path / "runs" / "lif").is_dir()
    capsys.readouterr()
    module.main(args)
    out = capsys.readouterr().out
    assert "resuming from" in out and "loss" not in out
    net = module.trained("alif", module._parse(args))
    batch = module.cue_accumulation(module.HELD_OUT, rng=np.random.default_rng([0, 3]))
    thr, v_lif = net.record(batch.x).thr, module.trained("lif", module._parse(args)).record(batch.x).v
    delay = slice(int(np.flatnonzero(batch.loss_steps)[0]) - 300, int(np.flatnonzero(batch.loss_steps)[0]))
    alif_memory = module.decodability(thr[delay], batch.labels)[1].mean()
    lif_memory = module.decodability(v_lif[delay], batch.labels)[1].mean()
    assert alif_memory > 0.75 and lif_memory < 0.65, (alif_memory, lif_memory)


@pytest.mark.parametrize("name", sorted(path.stem for path in SCRIPTS.glob("*.py")))
def test_help_describes_the_script_in_whole_sentences(name, capsys):
    module = _script(name)
    with pytest.raises(SystemExit) as exit_info:
        module.main(["--help"])
    assert exit_info.value.code == 0
    printed = " ".join(capsys.readouterr().out.split())
    first_paragraph = " ".join(module.__doc__.strip().split("\n\n")[0].split())
    assert first_paragraph.endswith(".") and first_paragraph in printed


def test_a_script_ends_bad_input_with_one_line_and_status_2(capsys, monkeypatch):
    monkeypatch.setattr("sys.argv", ["output_activity.py"])
    with pytest.raises(SystemExit) as exit_info:
        spikingnn.plotting.run_script(lambda: _script("output_activity").main(["--model", "/nonexistent/m.npz"]))
    assert exit_info.value.code == 2
    error = capsys.readouterr().err
    assert error.count("\n") == 1 and error.startswith("output_activity.py: error:") and "/nonexistent/m.npz" in error


def test_a_missing_model_file_is_reported():
    with pytest.raises(FileNotFoundError):
        _script("output_activity").main(["--model", "/nonexistent/model.npz", "--out", "unused"])
