"""``spikingnn report``: the HTML window onto a run, checked figure by figure against the model, then in Chromium.

The run folders are made as ``spikingnn train`` makes them (the command itself, on synthetic numerals written as
IDX files) and as examples/stdp_mnist.py does (``DiehlCookNetwork.save``), so no dataset is needed.
"""
import argparse
import functools
import json
import shutil
import tempfile

import numpy as np
import pytest

from spikingnn import cli, report
from spikingnn.datasets import read_idx, write_idx
from spikingnn.serialization import load
from spikingnn.training.losses import output_scores
from spikingnn.viz.demo import synthetic_digits

# End-to-end runs of whole commands and scripts: on the main Python of .ci/run only (see setup.cfg).
pytestmark = pytest.mark.slow

TINY = ["--hidden", "24", "--steps", "10", "--epochs", "2", "--batch-size", "50", "--lr", "1e-2"]


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory):
    folder = tmp_path_factory.mktemp("data") / "mnist"
    for split, n, seed in (("train", 300, 0), ("t10k", 60, 1)):
        images, labels = synthetic_digits(n, seed)
        write_idx(folder / f"{split}-images-idx3-ubyte.gz", images)
        write_idx(folder / f"{split}-labels-idx1-ubyte.gz", labels.astype(np.uint8))
    return folder.parent


def _train(tmp_path_factory, data_dir, loss, *extra):
    out = tmp_path_factory.mktemp(loss)
    assert cli.main(["train", "--data-dir", str(data_dir), "--out", str(out), "--loss", loss, *TINY, *extra]) == 0
    return out


@pytest.fixture(scope="module")
def membrane_run(tmp_path_factory, data_dir):
    """A run whose output layer is a non-spiking read-out (the default loss, ce_mem_mean)."""
    return _train(tmp_path_factory, data_dir, "ce_mem_mean")


@pytest.fixture(scope="module")
def spiking_run(tmp_path_factory, data_dir):
    # a count read-out needs more neurons and steps than the membrane one before its output neurons fire
    return _train(tmp_path_factory, data_dir, "ce_count", "--epochs", "4", "--steps", "20", "--hidden", "64")


def _test_split(data_dir):
    return (read_idx(data_dir / "mnist" / "t10k-images-idx3-ubyte.gz"),
            read_idx(data_dir / "mnist" / "t10k-labels-idx1-ubyte.gz"))


def _figures(run_dir, digits=12):
    return {heading: fig for heading, _, fig in report._classifier_sections(run_dir, digits, None, None)}


def _shown_image(title: str) -> int:
    """The test image a picker title names: "test image K: label L, predicted P"."""
    return int(title.split()[2].rstrip(":"))


def _picker_traces(fig, n_hidden_layers, n_classes):
    """The picker's traces: picture, input raster, hidden rasters, output activity (C), race (C)."""
    data = fig.data
    start = 2 + n_hidden_layers
    return data[1], data[start:start + n_classes], data[start + n_classes:]


def test_confusion_matrix_counts_the_models_own_predictions(membrane_run, data_dir):
    images, labels = _test_split(data_dir)
    model = load(membrane_run / "model.npz")
    cm = np.asarray(_figures(membrane_run)["Confusion matrix"].data[0].z)
    assert cm.sum() == len(labels)
    assert np.trace(cm) == round(model.score(images, labels) * len(labels))
    np.testing.assert_array_equal(cm.sum(axis=1), [np.sum(labels == c) for c in model.classes_])


def test_membrane_readout_shows_membranes_and_their_score_never_spikes(membrane_run, data_dir):
    """A non-spiking read-out: lines of v (no raster, no threshold), a race ending at the model's scores."""
    images, labels = _test_split(data_dir)
    model = load(membrane_run / "model.npz")
    fig = _figures(membrane_run)["Test digits"]
    first = _shown_image(fig.layout.title.text)
    _, activity, race = _picker_traces(fig, 1, len(model.classes_))
    recording = model.record(images[[first]])
    assert all(trace.mode == "lines" for trace in activity)
    np.testing.assert_allclose(np.array([t.y for t in activity]).T, recording.v[-1][:, 0], atol=1e-6)
    scores = output_scores(model.loss, recording.spikes[-1], recording.v[-1])[0]
    np.testing.assert_allclose([t.y[-1] for t in race], scores, rtol=1e-5, atol=1e-6)
    assert f"predicted {model.predict(images[[first]])[0]}" in fig.layout.title.text
    titles = " ".join(a.text for a in fig.layout.annotations)
    assert "non-spiking" in titles and "threshold" not in titles and "output spikes" not in titles


def test_spiking_readout_shows_the_output_raster_and_the_count_race(spiking_run, data_dir):
    """For every digit of the picker: one raster tick per output spike, and a race ending at the spike counts."""
    images, _ = _test_split(data_dir)
    model = load(spiking_run / "model.npz")
    steps = _figures(spiking_run)["Test digits"].layout.sliders[0].steps
    shown = [_shown_image(step.args[1]["title.text"]) for step in steps]
    counts = model.output_counts(images[shown])
    assert counts.sum() > 0
    n_classes = len(model.classes_)
    for step, expected in zip(steps, counts):
        x, y = step.args[0]["x"], step.args[0]["y"]
        assert [len(ticks) for ticks in x[3:3 + n_classes]] == expected.tolist()
        assert [race[-1] for race in y[3 + n_classes:]] == expected.tolist()


def test_each_slider_step_carries_that_digits_own_spikes(spiking_run, data_dir):
    """Step k of the picker holds the input and hidden spikes of its test image and names its label."""
    images, labels = _test_split(data_dir)
    model = load(spiking_run / "model.npz")
    steps = _figures(spiking_run, digits=15)["Test digits"].layout.sliders[0].steps
    assert len(steps) == 15
    shown = [_shown_image(step.args[1]["title.text"]) for step in steps]
    assert len(set(shown)) == 15
    assert {labels[i] for i in shown[:10]} == set(labels.tolist()) & set(range(10))    # every class first
    recording = model.record(images[shown])
    for k, step in enumerate(steps):
        x, y = step.args[0]["x"], step.args[0]["y"]
        assert len(x[1]) == recording.input_spikes[:, k].sum()                 # trace 1: the input raster
        assert len(y[2]) == recording.spikes[0][:, k].sum()                    # trace 2: the hidden raster
        assert step.label == str(labels[shown[k]])


def test_curves_come_from_the_runs_metrics(membrane_run):
    fig = _figures(membrane_run)["Training"]
    rows = cli.read_metrics(membrane_run / "metrics.csv")
    by_name = {trace.name: trace for trace in fig.data}
    np.testing.assert_allclose(by_name["train loss"].y, [r["train_loss"] for r in rows])
    np.testing.assert_allclose(by_name["val accuracy"].y, [100 * r["val_accuracy"] for r in rows])
    assert "rate, output" not in by_name       # a non-spiking read-out has no rate to draw


def test_the_written_file_is_one_self_contained_page(membrane_run, tmp_path):
    path = report.write_report(membrane_run, tmp_path / "r.html", digits=5)
    page = path.read_text()
    assert "<script src" not in page and "<link" not in page and "cdn." not in page.split("</script>", 1)[1]
    assert page.count("Plotly.newPlot(") >= 5          # curves, confusion, picker, weights, fields (+ plotly.js)


def test_the_command_writes_the_report_beside_the_run(membrane_run, capsys):
    parser = argparse.ArgumentParser()
    commands = parser.add_subparsers()
    report.add_command(commands, functools.partial(cli._subcommand, commands))
    args = parser.parse_args(["report", str(membrane_run), "--digits", "3", "--limit", "20"])
    assert args.run(args) == 0
    assert (membrane_run / "report.html").is_file()
    assert str(membrane_run / "report.html") in capsys.readouterr().out


def test_diehl_cook_report_draws_each_neurons_field_and_label(tmp_path):
    from spikingnn.diehl_cook import DiehlCookNetwork

    images, labels = synthetic_digits(20, 0)
    net = DiehlCookNetwork(9, seed=0)
    net.train(images, labels)
    net.label_neurons(images, labels)
    net.save(tmp_path / "network.npz")
    (tmp_path / "results.json").write_text(json.dumps({"test_accuracy": 0.25, "test_images": 20}))
    sections = {heading: (text, fig) for heading, text, fig in report._diehl_cook_sections(tmp_path)}
    fields = sections["Receptive fields"][1]
    expected = [str(a) if a >= 0 else "-" for a in net.assignments]
    assert [a.text for a in fields.layout.annotations if a.text in expected] == expected
    assert np.nanmax(fields.data[0].z) == pytest.approx(net.weights.max(), rel=1e-6)
    assert "25.00%" in sections["Run"][0]
    if "Labels" in sections:
        assert sum(sections["Labels"][1].data[0].y) == np.sum(net.assignments >= 0)
    assert report.write_report(tmp_path).is_file()


@pytest.fixture(scope="module")
def conv_run(tmp_path_factory, data_dir):
    """A convolutional run (4C5-MP2-8C5-MP2-FC10, analog input current, T = 6): a few seconds."""
    out = tmp_path_factory.mktemp("conv")
    assert cli.main(["train", "--data-dir", str(data_dir), "--out", str(out), "--arch", "4C5-MP2-8C5-MP2-FC10",
                     "--encoding", "current", "--steps", "6", "--epochs", "1", "--batch-size", "50", "--lr",
                     "1e-2"]) == 0
    return out


def test_conv_report_shows_the_first_layers_kernels_instead_of_receptive_fields(conv_run, data_dir, tmp_path):
    """The kernels' tiles are the weights (k x k, one per filter), the run and the weights are named as a
    convolutional network's, the picker draws each conv layer's spikes, and the whole page is written."""
    images, _ = _test_split(data_dir)
    model = load(conv_run / "model.npz")
    sections = {heading: (text, fig) for heading, text, fig in report._classifier_sections(conv_run, 4, 30, None)}
    assert "Receptive fields" not in sections
    text, kernels = sections["Kernels"]
    assert "4 kernels of 5 × 5 pixels" in text and "4 filters of 5 × 5" in kernels.layout.title.text
    weights = model.weights_[0]                                                    # (5, 5, 1, 4)
    z = np.array(kernels.data[0].z, dtype=float)
    hover = np.array(kernels.data[0].customdata)
    for f in range(4):                                                             # a 2 x 2 grid, 1-pixel gaps
        row, col = divmod(f, 2)
        np.testing.assert_allclose(z[6 * row:6 * row + 5, 6 * col:6 * col + 5], weights[:, :, 0, f], rtol=1e-6)
        assert set(hover[6 * row:6 * row + 5, 6 * col:6 * col + 5].ravel()) == {f"filter {f}"}
    assert kernels.data[0].zmid == 0 and kernels.data[0].zmin == -kernels.data[0].zmax
    assert "4C5-MP2-8C5-MP2-FC10 convolutional LIF network (784-576-128-10 neurons)" in sections["Run"][0]
    titles = [a.text for a in sections["Weights"][1].layout.annotations]
    assert titles == ["layer 1: 4 kernels 5 × 5 × 1", "layer 2: 8 kernels 5 × 5 × 4", "layer 3: 128 → 10"]
    picker = sections["Test digits"][1]
    assert "layer 1: 12×12×4, layer 2: 4×4×8" in " ".join(a.text for a in picker.layout.annotations)
    steps = picker.layout.sliders[0].steps
    recording = model.record(images[[_shown_image(step.args[1]["title.text"]) for step in steps]])
    for k, step in enumerate(steps):
        y = step.args[0]["y"]
        assert len(y[2]) == recording.spikes[0][:, k].sum() and len(y[3]) == recording.spikes[1][:, k].sum()
    page = report.write_report(conv_run, tmp_path / "conv.html", digits=3, limit=30).read_text()
    assert page.count("Plotly.newPlot(") >= 5 and 'id="kernels"' in page


@pytest.mark.parametrize("keywords, message", [
    ({"digits": 0}, "digits must be an integer in [1, 100]; got 0"),
    ({"limit": 0}, "limit must be an integer >= 1; got 0"),
    ({"out": "."}, "is a folder; give the name of the HTML file"),
])
def test_bad_arguments_are_refused_naming_them(membrane_run, keywords, message):
    with pytest.raises(ValueError, match=None) as error:
        report.write_report(membrane_run, **keywords)
    assert message in str(error.value)


def test_a_folder_that_is_no_run_is_refused(tmp_path):
    with pytest.raises(ValueError, match="holds neither model.npz"):
        report.write_report(tmp_path)
    with pytest.raises(ValueError, match="is not a folder"):
        report.write_report(tmp_path / "missing")


def test_missing_test_data_names_the_flag(membrane_run, tmp_path, monkeypatch):
    """Nowhere to find the run's test split (an empty --data-dir, and no other copy): the error names the flag."""
    from spikingnn import datasets

    monkeypatch.delenv(datasets.ENV_VAR, raising=False)
    monkeypatch.setattr(datasets, "CACHE_ROOT", str(tmp_path / "cache"))
    monkeypatch.setattr(datasets, "DEBIAN_ROOT", str(tmp_path / "debian"))
    with pytest.raises(ValueError, match="--data-dir"):
        report.write_report(membrane_run, tmp_path / "r.html", data_dir=tmp_path)


# ------------------------------------------------------------------------------------------------ Chromium
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]


@pytest.mark.slow
@pytest.mark.skipif(CHROMIUM is None, reason="no chromium on PATH (.ci/run installs Debian's: apt-get install -y "
                                             "chromium)")
def test_report_in_chromium_runs_clean_and_the_picker_changes_the_raster(spiking_run, tmp_path):
    """Open the file from disk: no JavaScript error, no network request, the slider swaps the rasters' spikes
    (data and pixels), and the page's screenshot is a picture, not a blank."""
    sync_playwright = pytest.importorskip("playwright.sync_api").sync_playwright
    from PIL import Image, ImageChops

    path = report.write_report(spiking_run, tmp_path / "report.html", digits=10).resolve()
    problems, requests = [], []
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch_persistent_context(
            tempfile.mkdtemp(dir=tmp_path), executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS,
            viewport={"width": 1300, "height": 900})
        try:
            page = browser.new_page()
            page.on("console", lambda message: problems.append(message.text) if message.type == "error" else None)
            page.on("pageerror", lambda error: problems.append(str(error)))
            page.on("request", lambda request: requests.append(request.url))
            page.goto(path.as_uri())
            page.wait_for_selector("#test-digits .slider-rail-touch-rect")
            picker = page.locator("#test-digits")

            def raster():
                return page.evaluate("document.getElementById('test-digits').data[1].x.length"), \
                    page.evaluate("document.getElementById('test-digits').layout.title.text")

            before, shot_before = raster(), tmp_path / "picker_before.png"
            picker.screenshot(path=str(shot_before))
            rail = page.locator("#test-digits .slider-rail-touch-rect").bounding_box()
            page.mouse.click(rail["x"] + 0.75 * rail["width"], rail["y"] + rail["height"] / 2)
            page.wait_for_function(f"document.getElementById('test-digits').layout.title.text !== {before[1]!r}")
            after, shot_after = raster(), tmp_path / "picker_after.png"
            picker.screenshot(path=str(shot_after))
            page.screenshot(path=str(tmp_path / "report.png"), full_page=True)
        finally:
            browser.close()
    assert problems == []
    assert requests == [path.as_uri()]                             # offline: nothing fetched but the file
    assert after != before
    assert ImageChops.difference(Image.open(shot_before).convert("RGB"),
                                 Image.open(shot_after).convert("RGB")).getbbox() is not None
    screenshot = np.asarray(Image.open(tmp_path / "report.png").convert("L"))
    assert screenshot.shape[0] > 2000                              # every section laid out, not an empty page
    assert np.mean(screenshot < 200) > 0.03 and screenshot.std() > 20
