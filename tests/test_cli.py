"""The spikingnn command end to end on a tiny synthetic dataset written as IDX files (no MNIST needed):
train -> run folder, resume, Ctrl-C, TOML config, evaluate, predict, and one-line errors for bad input."""
import csv
import json
import os
import signal
import subprocess
import sys
import time

import numpy as np
import pytest
from PIL import Image, ImageDraw

import spikingnn
from spikingnn import cli
from spikingnn.datasets import read_idx, write_idx
from spikingnn.serialization import load
from spikingnn.training.model import SNNClassifier

# End-to-end runs of whole commands and scripts: on the main Python of .ci/run only (see setup.cfg).
pytestmark = pytest.mark.slow

TINY = ["--hidden", "32", "--steps", "8", "--batch-size", "50", "--lr", "1e-2"]


def synthetic_digits(rng, n):
    """Class k is a bright 7x7 square in cell k of a 3x4 grid, jittered by a pixel, on faint noise."""
    labels = rng.integers(0, 10, n).astype(np.uint8)
    images = (rng.random((n, 28, 28)) * 40).astype(np.uint8)
    for image, label in zip(images, labels):
        row, col = 2 + 8 * (label // 4) + rng.integers(-1, 2), 1 + 7 * (label % 4) + rng.integers(-1, 2)
        image[max(row, 0):row + 7, max(col, 0):col + 7] = 255
    return images, labels


@pytest.fixture
def data_dir(tmp_path):
    """A fresh folder per test holding a 300-image train split and a 100-image test split."""
    rng = np.random.default_rng(0)
    folder = tmp_path / "data" / "mnist"
    for split, n in (("train", 300), ("t10k", 100)):
        images, labels = synthetic_digits(rng, n)
        write_idx(folder / f"{split}-images-idx3-ubyte.gz", images)
        write_idx(folder / f"{split}-labels-idx1-ubyte.gz", labels)
    return folder.parent


def run(capsys, *argv):
    """Run the command in-process; return (exit status, stdout, stderr)."""
    status = cli.main([str(a) for a in argv])
    captured = capsys.readouterr()
    return status, captured.out, captured.err


def train(capsys, data_dir, out, *extra):
    return run(capsys, "train", "--data-dir", data_dir, "--out", out, *TINY, *extra)


def read_rows(path):
    with open(path, newline="") as handle:
        return list(csv.DictReader(handle))


def assert_one_line_error(status, err, *fragments):
    assert status == 2
    lines = err.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in err, err
    for fragment in fragments:
        assert fragment in lines[0], lines[0]


def test_train_writes_metrics_curves_checkpoint_and_config(capsys, data_dir, tmp_path):
    out = tmp_path / "runs" / "tiny"
    status, stdout, _ = train(capsys, data_dir, out, "--epochs", "2")
    assert status == 0
    rows = read_rows(out / "metrics.csv")
    assert [int(row["epoch"]) for row in rows] == [1, 2]
    assert {"train_loss", "train_accuracy", "val_accuracy", "spike_rate_1", "spike_rate_2"} <= set(rows[0])
    assert (out / "training_curves.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    model = load(out / "model.npz")
    assert model.epoch_ == 2 and model.layer_sizes_ == [784, 32, 10] and model.num_steps == 8
    assert json.loads((out / "config.json").read_text())["options"]["hidden"] == [32]
    history = cli.read_metrics(out / "metrics.csv")
    assert history[1]["train_loss"] == pytest.approx(model.history_[1]["train_loss"])
    assert history[1]["spike_rates"] == pytest.approx(model.history_[1]["spike_rates"])
    assert "test accuracy" in stdout


def test_resume_continues_the_epoch_count_as_if_never_stopped(capsys, data_dir, tmp_path):
    """Extending a finished run with --resume --epochs continues it exactly (with a constant learning rate: a
    cosine schedule is stretched to the new length, so its first epochs would differ)."""
    constant = ("--lr-schedule", "constant")
    assert train(capsys, data_dir, tmp_path / "straight", "--epochs", "2", *constant)[0] == 0
    assert train(capsys, data_dir, tmp_path / "resumed", "--epochs", "1", *constant)[0] == 0
    status, stdout, _ = run(capsys, "train", "--out", tmp_path / "resumed", "--resume", "--epochs", "2")
    assert status == 0 and "resuming" in stdout
    straight = read_rows(tmp_path / "straight" / "metrics.csv")
    resumed = read_rows(tmp_path / "resumed" / "metrics.csv")
    assert [r["epoch"] for r in resumed] == ["1", "2"]
    for a, b in zip(straight, resumed):
        assert a["train_loss"] == b["train_loss"] and a["val_accuracy"] == b["val_accuracy"]


def test_ctrl_c_saves_a_checkpoint_and_says_how_to_resume(capsys, data_dir, tmp_path, monkeypatch):
    """Ctrl-C arriving after the first epoch: exit 130, a loadable checkpoint, a hint naming --resume."""
    original_fit = SNNClassifier.fit

    def fit_then_ctrl_c(self, *args, callbacks=(), **kwargs):
        def press_ctrl_c(model, metrics):
            raise KeyboardInterrupt
        return original_fit(self, *args, callbacks=[*callbacks, press_ctrl_c], **kwargs)

    monkeypatch.setattr(SNNClassifier, "fit", fit_then_ctrl_c)
    out = tmp_path / "run"
    status, _, err = train(capsys, data_dir, out, "--epochs", "3")
    assert status == 130 and "--resume" in err
    assert load(out / "model.npz").epoch_ == 1
    monkeypatch.setattr(SNNClassifier, "fit", original_fit)
    assert run(capsys, "train", "--out", out, "--resume")[0] == 0
    assert load(out / "model.npz").epoch_ == 3


def python_m_spikingnn(*argv, **popen_options):
    """Start ``python -m spikingnn ARGV`` in a child process that imports this checkout."""
    repo = os.path.dirname(os.path.dirname(spikingnn.__file__))
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([repo, os.environ.get("PYTHONPATH", "")])}
    return subprocess.Popen([sys.executable, "-m", "spikingnn", *map(str, argv)], env=env, text=True,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, **popen_options)


def test_real_sigint_mid_run_saves_a_resumable_checkpoint(data_dir, tmp_path):
    """A real SIGINT (what Ctrl-C sends) once the first epoch is on disk: exit 130 and a checkpoint saying
    where training stopped; --resume then finishes the run."""
    out = tmp_path / "run"
    child = python_m_spikingnn("train", "--data-dir", data_dir, "--out", out, *TINY, "--epochs", "200")
    deadline = time.monotonic() + 300
    while not (out / "metrics.csv").exists() and child.poll() is None and time.monotonic() < deadline:
        time.sleep(0.02)
    child.send_signal(signal.SIGINT)
    _, err = child.communicate(timeout=300)
    assert child.returncode == 130, err
    assert "spikingnn train --out" in err and "--resume" in err and "Traceback" not in err
    stopped = load(out / "model.npz")
    assert 1 <= stopped.epoch_ < 200
    resumed = python_m_spikingnn("train", "--out", out, "--resume", "--epochs", str(stopped.epoch_ + 1))
    _, err = resumed.communicate(timeout=300)
    assert resumed.returncode == 0, err
    assert load(out / "model.npz").epoch_ == stopped.epoch_ + 1


def test_existing_run_is_not_overwritten_without_resume(capsys, data_dir, tmp_path):
    out = tmp_path / "run"
    assert train(capsys, data_dir, out, "--epochs", "1")[0] == 0
    before = (out / "model.npz").read_bytes()
    assert_one_line_error(*train(capsys, data_dir, out, "--epochs", "1")[::2], "--resume")
    assert (out / "model.npz").read_bytes() == before
    assert_one_line_error(*run(capsys, "train", "--out", out, "--resume", "--hidden", "8")[::2], "hidden")


def test_toml_config_sets_options_and_flags_override_it(capsys, data_dir, tmp_path):
    config = tmp_path / "run.toml"
    config.write_text('hidden = [12, 8]\nsteps = 5\nepochs = 1\nbatch-size = 60\nlr = 2e-3\n'
                      '[model]\nbeta = 0.9\n')
    out = tmp_path / "run"
    status, _, err = run(capsys, "train", "--config", config, "--data-dir", data_dir, "--out", out, "--steps", "4")
    assert status == 0, err
    model = load(out / "model.npz")
    assert model.layer_sizes_ == [784, 12, 8, 10]
    assert (model.num_steps, model.batch_size, model.lr, model.beta) == (4, 60, 2e-3, 0.9)


def test_evaluate_accuracy_matches_the_model_score_computed_here(capsys, data_dir, tmp_path):
    """The printed and saved accuracy equal SNNClassifier.score on the same test images, read here from the IDX
    files; the confusion matrix's rows count the labels and its diagonal the correct predictions. --model
    takes the run folder."""
    out = tmp_path / "run"
    assert train(capsys, data_dir, out, "--epochs", "2")[0] == 0
    status, stdout, _ = run(capsys, "evaluate", "--model", out, "--out", tmp_path / "eval")
    assert status == 0
    images = read_idx(data_dir / "mnist" / "t10k-images-idx3-ubyte.gz")
    labels = read_idx(data_dir / "mnist" / "t10k-labels-idx1-ubyte.gz")
    model = load(out / "model.npz")
    expected = model.score(images, labels)
    assert f"100 images: accuracy {expected:.2%}" in stdout
    assert "SynOps" in stdout and "Horowitz" in stdout and "MACs" in stdout
    assert (tmp_path / "eval" / "confusion_matrix.png").read_bytes()[:4] == b"\x89PNG"
    report = json.loads((tmp_path / "eval" / "evaluation.json").read_text())
    assert report["images"] == 100 and report["accuracy"] == pytest.approx(expected)
    assert expected > 0.5, "the tiny network should learn the ten squares"
    cm = np.array(report["confusion_matrix"])
    predictions = model.predict(images)
    assert cm.sum(axis=1).tolist() == np.bincount(labels, minlength=10).tolist()
    assert np.diag(cm).tolist() == np.bincount(labels[predictions == labels], minlength=10).tolist()
    assert report["ann_macs_per_image"] == [784 * 32, 32 * 10]


def test_limit_cuts_the_training_images_only_and_val_limit_the_test_images(capsys, data_dir, tmp_path,
                                                                           monkeypatch):
    seen = []
    original_fit = SNNClassifier.fit

    def fit_and_record(self, X, y, *, validation_data, **kwargs):
        seen.append((len(X), len(validation_data[0])))
        return original_fit(self, X, y, validation_data=validation_data, **kwargs)

    monkeypatch.setattr(SNNClassifier, "fit", fit_and_record)
    assert train(capsys, data_dir, tmp_path / "a", "--epochs", "1", "--limit", "120")[0] == 0
    assert train(capsys, data_dir, tmp_path / "b", "--epochs", "1", "--limit", "120", "--val-limit", "40")[0] == 0
    status, stdout, _ = run(capsys, "train", "--out", tmp_path / "b", "--resume", "--epochs", "2",
                            "--val-limit", "60")
    assert status == 0 and "(60 images)" in stdout
    assert seen == [(120, 100), (120, 40), (120, 60)]


def test_holdout_validates_on_the_last_training_images_and_never_trains_on_them(capsys, data_dir, tmp_path,
                                                                              monkeypatch):
    images, labels = read_idx(data_dir / "mnist" / "train-images-idx3-ubyte.gz"), \
        read_idx(data_dir / "mnist" / "train-labels-idx1-ubyte.gz")
    seen = []
    original_fit = SNNClassifier.fit

    def fit_and_record(self, X, y, *, validation_data, **kwargs):
        seen.append((X.copy(), y.copy(), *validation_data))
        return original_fit(self, X, y, validation_data=validation_data, **kwargs)

    monkeypatch.setattr(SNNClassifier, "fit", fit_and_record)
    status, stdout, _ = train(capsys, data_dir, tmp_path / "a", "--epochs", "1", "--holdout", "80")
    assert status == 0 and "held-out accuracy" in stdout and "(80 images)" in stdout
    X, y, X_val, y_val = seen[0]
    np.testing.assert_array_equal(X, images[:220])
    np.testing.assert_array_equal(y, labels[:220])
    np.testing.assert_array_equal(X_val, images[220:])
    np.testing.assert_array_equal(y_val, labels[220:])
    assert json.loads((tmp_path / "a" / "config.json").read_text())["options"]["holdout"] == 80
    assert train(capsys, data_dir, tmp_path / "b", "--epochs", "1", "--holdout", "80", "--limit", "50",
                 "--val-limit", "30")[0] == 0
    assert [(len(r[0]), len(r[2])) for r in seen[1:]] == [(50, 30)]
    np.testing.assert_array_equal(seen[1][2], images[220:250])
    status, _, err = train(capsys, data_dir, tmp_path / "c", "--holdout", "300")
    assert status == 2 and "--holdout must be below the 300 training images; got 300" in err
    assert not (tmp_path / "c").exists()


def test_train_defaults_are_the_classifier_defaults(capsys, data_dir, tmp_path, monkeypatch):
    """`spikingnn train` with no model option builds exactly SNNClassifier() (the fit is stopped at once)."""
    built = []

    def record_and_stop(self, *args, **kwargs):
        built.append(self.get_params())
        raise KeyboardInterrupt

    monkeypatch.setattr(SNNClassifier, "fit", record_and_stop)
    status, _, err = run(capsys, "train", "--data-dir", data_dir, "--out", tmp_path / "run")
    assert status == 130 and "nothing to save" in err
    assert built == [SNNClassifier().get_params()]


def test_version_and_every_command_has_a_description_and_examples(capsys):
    with pytest.raises(SystemExit) as exit_:
        cli.main(["--version"])
    assert exit_.value.code == 0 and capsys.readouterr().out.strip() == f"spikingnn {spikingnn.__version__}"
    for command in ("train", "evaluate", "predict"):
        with pytest.raises(SystemExit):
            cli.main([command, "--help"])
        text = capsys.readouterr().out
        assert "examples:" in text and f"  spikingnn {command} --" in text


def draw_seven(path, ink, paper):
    image = Image.new("L", (120, 160), paper)
    ImageDraw.Draw(image).line([(20, 25), (95, 25), (50, 140)], fill=ink, width=10)
    image.save(path)
    return path


@pytest.mark.parametrize("ink, paper, loss", [(0, 255, "ce_count"), (255, 0, "ce_count"), (0, 255, "ce_mem_mean")])
def test_predict_prints_the_class_and_every_output_score(capsys, data_dir, tmp_path, ink, paper, loss):
    """The predicted class has the most output spikes (count loss) or the highest read-out membrane score
    (membrane loss, whose output layer does not fire); both polarities of a picture work."""
    out = tmp_path / "run"
    assert train(capsys, data_dir, out, "--epochs", "1", "--loss", loss)[0] == 0
    picture = draw_seven(tmp_path / "seven.png", ink, paper)
    model = out if loss == "ce_mem_mean" else out / "model.npz"           # a run folder or its model file
    status, stdout, _ = run(capsys, "predict", "--model", model, "--image", picture,
                            "--raster", tmp_path / "raster.png")
    assert status == 0
    lines = stdout.splitlines()
    predicted = int(lines[0].split(":")[1])
    scores = {int(line.split(":")[0]): float(line.split(":")[1].split()[0]) for line in lines[2:12]}
    assert sorted(scores) == list(range(10)) and scores[predicted] == max(scores.values())
    if loss == "ce_count":
        assert "spike counts" in lines[1] and max(scores.values()) > 0
    else:                                   # named as what it is, not as ten zero spike counts
        assert "non-spiking read-out" in lines[1] and "membrane" in lines[1]
    assert (tmp_path / "raster.png").read_bytes()[:4] == b"\x89PNG"


def test_predict_on_a_non_image_exits_2_with_one_line(capsys, data_dir, tmp_path):
    out = tmp_path / "run"
    assert train(capsys, data_dir, out, "--epochs", "1")[0] == 0
    (tmp_path / "notes.txt").write_text("hello")
    assert_one_line_error(*run(capsys, "predict", "--model", out / "model.npz", "--image",
                               tmp_path / "notes.txt")[::2], "notes.txt")
    picture = draw_seven(tmp_path / "seven.png", 0, 255)
    assert_one_line_error(*run(capsys, "predict", "--model", tmp_path / "missing.npz", "--image",
                               picture)[::2], "missing.npz")


def test_python_dash_m_spikingnn_runs_and_errors_have_no_traceback(tmp_path):
    (tmp_path / "model.npz").write_text("not a model")
    child = python_m_spikingnn("evaluate", "--model", tmp_path / "model.npz")
    _, err = child.communicate(timeout=120)
    assert child.returncode == 2
    assert "Traceback" not in err and "not a spikingnn model" in err


def test_export_then_evaluate_and_predict_a_nir_model_like_its_npz(capsys, data_dir, tmp_path):
    """spikingnn export writes the model as NIR; evaluate and predict on the .nir print what they print for the
    .npz (the same network: the same accuracy, the same class and scores)."""
    out = tmp_path / "run"
    assert train(capsys, data_dir, out, "--epochs", "1")[0] == 0
    status, stdout, _ = run(capsys, "export", "--model", out, "--out", tmp_path / "model.nir")
    assert status == 0 and "784-32-10" in stdout and "exact" in stdout
    reports = []
    for model in (out / "model.npz", tmp_path / "model.nir"):
        status, stdout, _ = run(capsys, "evaluate", "--model", model, "--data-dir", data_dir, "--out", tmp_path)
        assert status == 0
        reports.append(stdout.splitlines()[0])
        status, stdout, _ = run(capsys, "predict", "--model", model, "--image",
                                draw_seven(tmp_path / "seven.png", 0, 255))
        assert status == 0
        reports.append(stdout)
    assert reports[0] == reports[2] and reports[1] == reports[3]


def test_export_refuses_an_alif_model_and_bad_nir_files_in_one_line(capsys, data_dir, tmp_path):
    out = tmp_path / "run"
    assert train(capsys, data_dir, out, "--epochs", "1", "--neuron", "alif")[0] == 0
    assert_one_line_error(*run(capsys, "export", "--model", out, "--out", tmp_path / "m.nir")[::2], "ALIF")
    assert not (tmp_path / "m.nir").exists()
    (tmp_path / "broken.nir").write_bytes(b"\x89HDF\r\n\x1a\n" + bytes(100))
    assert_one_line_error(*run(capsys, "evaluate", "--model", tmp_path / "broken.nir", "--data-dir", data_dir)[::2],
                          "--model", "broken.nir", "truncated or corrupt")
    assert_one_line_error(*run(capsys, "export", "--model", out, "--out", tmp_path / "m.nir", "--dt", "0")[::2],
                          "--dt must be")


def test_train_with_report_writes_the_html_report_of_the_run(capsys, data_dir, tmp_path):
    """``train --report`` ends by writing OUT/report.html, the same file ``spikingnn report OUT`` writes."""
    pytest.importorskip("plotly")
    out = tmp_path / "run"
    status, stdout, _ = train(capsys, data_dir, out, "--epochs", "1", "--report")
    assert status == 0 and f"wrote {out / 'report.html'}" in stdout
    html = (out / "report.html").read_text()
    assert "<html" in html[:500].lower() and "plotly" in html.lower() and "confusion" in html.lower()
