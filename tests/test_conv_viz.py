"""Pictures of convolutional networks (``spikingnn.viz.conv``, visualizations/conv_viz.py) draw what they claim: the
kernel tiles are the weights, the feature-map tiles are the spike counts ``model.record`` gives, the raster rows are
the recorded spikes in channel-major order; the script writes its three PNGs headless and refuses a dense model."""
import importlib.util
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from spikingnn.serialization import save
from spikingnn.training.model import SNNClassifier
from spikingnn.viz.conv import (
    conv_layers,
    input_picture,
    kernel_mosaic,
    plot_conv_kernels,
    plot_feature_maps,
    plot_feature_raster,
    record_feature_maps,
    tile_grid,
)
from spikingnn.viz.demo import synthetic_digits

SCRIPT = Path(__file__).resolve().parents[1] / "visualizations" / "conv_viz.py"
ARCH, STEPS = "4C5-MP2-8C5-MP2-FC10", 6


@pytest.fixture(scope="module")
def digits():
    return synthetic_digits(150, np.random.default_rng(0))


@pytest.fixture(scope="module")
def model(digits):
    """4C5-MP2-8C5-MP2-FC10 on analog input, T = 6, one epoch on 150 synthetic digits: about a second."""
    images, labels = digits
    return SNNClassifier(arch=ARCH, encoding="current", num_steps=STEPS, epochs=1, batch_size=50, lr=1e-2,
                         random_state=0).fit(images, labels, progress=False)


@pytest.fixture(scope="module")
def dense_model(digits):
    images, labels = digits
    return SNNClassifier(hidden=(8,), num_steps=3, epochs=1, batch_size=50).fit(images[:50], labels[:50],
                                                                               progress=False)


@pytest.fixture(scope="module")
def run_folder(model, tmp_path_factory):
    """A folder holding model.npz, as ``spikingnn train --out`` leaves one."""
    folder = tmp_path_factory.mktemp("convrun")
    save(model, folder / "model.npz")
    return folder


def _tile(mosaic, k, ncols, height, width):
    """Tile ``k`` of a grid of ``ncols`` columns of height x width tiles with a 1-pixel gap, cut out of ``mosaic``."""
    top, left = (index * (size + 1) for index, size in zip(divmod(k, ncols), (height, width)))
    return np.asarray(mosaic)[top:top + height, left:left + width]


def _shown(ax):
    """The array an axes' only image shows (masked gaps as NaN)."""
    return np.ma.filled(ax.images[0].get_array().astype(float), np.nan)


# ------------------------------------------------------------------------------------------------- layers
def test_conv_layers_name_each_convolution_and_its_maps(model):
    layers = conv_layers(model)
    assert [layer.index for layer in layers] == [0, 1]
    assert [layer.output_shape for layer in layers] == [(12, 12, 4), (4, 4, 8)]
    assert layers[1].input_shape == (12, 12, 4)
    assert [layer.name for layer in layers] == ["layer 1: 4C5-MP2 → 4 maps of 12 × 12",
                                                "layer 2: 8C5-MP2 → 8 maps of 4 × 4"]
    assert model.weights_[0].shape == (5, 5, 1, 4)


def test_a_dense_model_is_refused_with_what_is_needed(dense_model):
    with pytest.raises(ValueError, match=r"\(784-8-10\) has no convolutional layers.*arch such as"):
        conv_layers(dense_model)


def test_tile_grid_places_tiles_row_by_row_and_marks_their_owner():
    tiles = np.arange(5 * 2 * 3, dtype=float).reshape(5, 2, 3)
    mosaic, owner = tile_grid(tiles, ncols=2)
    assert mosaic.shape == (3 * 3 - 1, 2 * 4 - 1)
    for k in range(5):
        np.testing.assert_array_equal(_tile(mosaic, k, 2, 2, 3), tiles[k])
        assert np.all(_tile(owner, k, 2, 2, 3) == k)
    assert np.all(np.isnan(mosaic[owner < 0])) and np.sum(owner < 0) == mosaic.size - tiles.size


# ------------------------------------------------------------------------------------------------ kernels
def test_kernel_tiles_are_the_first_layers_weights_on_a_scale_centred_at_zero(model):
    weights = model.weights_[0]
    fig = plot_conv_kernels(weights)
    ax = fig.axes[0]
    shown, ncols = _shown(ax), 2                                          # 4 filters: a 2 x 2 grid
    for f in range(4):
        np.testing.assert_allclose(_tile(shown, f, ncols, 5, 5), weights[:, :, 0, f], rtol=1e-6)
    scale = np.abs(weights).max()
    np.testing.assert_allclose(ax.images[0].get_clim(), (-scale, scale), rtol=1e-6)
    assert ax.images[0].get_cmap().name == "RdBu_r"
    assert [t.get_text() for t in ax.texts] == ["0", "1", "2", "3"]       # each tile's filter number
    assert fig.axes[1].get_ylabel() == "weight"                           # the colour bar
    assert "4 filters of 5 × 5" in ax.get_title()


def test_kernels_of_many_input_channels_are_a_row_per_filter_and_a_column_per_channel():
    weights = np.random.default_rng(1).normal(size=(3, 3, 4, 5))
    ax = plot_conv_kernels(weights).axes[0]
    shown = _shown(ax)
    for f in range(5):
        for c in range(4):
            np.testing.assert_allclose(_tile(shown, f * 4 + c, 4, 3, 3), weights[:, :, c, f])
    assert ax.get_xlabel() == "input channel" and ax.get_ylabel() == "filter (output channel)"
    assert [t.get_text() for t in ax.get_xticklabels()] == ["0", "1", "2", "3"]
    np.testing.assert_array_equal(kernel_mosaic(weights)[0], ax.images[0].get_array().filled(np.nan))


def test_rgb_kernels_are_colour_tiles_grey_at_zero():
    weights = np.random.default_rng(2).normal(size=(3, 3, 3, 4))
    weights[:, :, :, 3] = 0.0
    ax = plot_conv_kernels(weights).axes[0]
    shown = np.asarray(ax.images[0].get_array())
    scale = np.abs(weights).max()
    for f in range(4):
        np.testing.assert_allclose(_tile(shown, f, 2, 3, 3), np.clip(0.5 + 0.5 * weights[..., f] / scale, 0, 1))
    np.testing.assert_allclose(_tile(shown, 3, 2, 3, 3), 0.5)
    assert "RGB" in ax.get_title()


def test_kernels_must_be_a_convolutions():
    with pytest.raises(ValueError, match=r"\(k, k, c_in, c_out\)"):
        plot_conv_kernels(np.zeros((784, 10)))


# ------------------------------------------------------------------------------------------- feature maps
def test_feature_map_tiles_are_the_spike_counts_the_model_records(model, digits):
    image = digits[0][3]
    recording = model.record(image[None])
    maps = record_feature_maps(model, image)
    counts = [spikes.sum(axis=0) for spikes in maps]
    assert sum(c.sum() for c in counts) > 0
    fig = plot_feature_maps(input_picture(model, image), counts, names=[lay.name for lay in conv_layers(model)],
                            num_steps=STEPS)
    np.testing.assert_array_equal(_shown(fig.axes[0]), image)                  # the picture, as given
    for layer, (height, width, channels) in enumerate([(12, 12, 4), (4, 4, 8)]):
        flat = recording.spikes[layer][:, 0].sum(axis=0)                         # (H W C,), channels-last
        shown, ncols = _shown(fig.axes[1 + layer]), int(np.ceil(np.sqrt(channels)))
        for c in range(channels):
            expected = [[flat[(y * width + x) * channels + c] for x in range(width)] for y in range(height)]
            np.testing.assert_array_equal(_tile(shown, c, ncols, height, width), expected)
        assert f"{int(flat.sum())} spikes" in fig.axes[1 + layer].get_title()
    labels = [ax.get_xlabel() for ax in fig.axes]
    assert f"spikes per neuron in {STEPS} steps" in labels and "pixel value" in labels


def test_feature_maps_refuse_a_picture_of_the_wrong_shape(model):
    with pytest.raises(ValueError, match="784 values"):
        input_picture(model, np.zeros((32, 32)))
    with pytest.raises(ValueError, match=r"\(H, W, C\) array per layer"):
        plot_feature_maps(np.zeros((28, 28)), [np.zeros((12, 12))])


def test_feature_raster_draws_each_spike_channel_major(model, digits):
    maps = record_feature_maps(model, digits[0][5])[0]                       # (T, 12, 12, 4)
    fig = plot_feature_raster(maps)
    ax = fig.axes[0]
    drawn = {(float(t), int(round(row))) for t, row in np.concatenate([c.get_offsets() for c in ax.collections])}
    expected = {(float(t), c * 144 + y * 12 + x) for t, y, x, c in np.argwhere(maps)}
    assert drawn == expected and len(expected) > 0
    boundaries = sorted(line.get_ydata()[0] for line in ax.lines)
    assert boundaries == [143.5, 287.5, 431.5]
    assert [t.get_text() for t in ax.get_yticklabels()] == ["0", "1", "2", "3"]
    assert "12 × 12 = 144 neurons" in ax.get_ylabel() and ax.get_xlabel() == "time (ms)"


# ----------------------------------------------------------------------------------------------- the script
def _script():
    spec = importlib.util.spec_from_file_location("viz_script_conv_viz", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _pngs(folder):
    for name in ("conv_kernels.png", "conv_feature_maps.png", "conv_raster.png"):
        with Image.open(folder / name) as image:
            assert image.format == "PNG" and min(image.size) > 100


@pytest.mark.slow
def test_script_draws_a_saved_run_headless(run_folder, tmp_path):
    import matplotlib

    _script().main(["--model", str(run_folder), "--out", str(tmp_path), "--digit", "3", "--layer", "2"])
    assert matplotlib.get_backend().lower() == "agg"
    _pngs(tmp_path)


@pytest.mark.slow
def test_script_without_model_trains_a_quick_one_and_says_so(tmp_path, monkeypatch, capsys):
    script = _script()
    monkeypatch.setattr(script, "QUICK_IMAGES", 100)
    monkeypatch.setattr(script, "demo_digits", lambda n, split, rng: (*synthetic_digits(n, rng), "synthetic digits"))
    script.main(["--out", str(tmp_path)])
    assert "no --model given: training a small 8C5-MP2-16C5-MP2-FC10" in capsys.readouterr().out
    _pngs(tmp_path)


@pytest.mark.slow
def test_script_refuses_a_dense_model_in_one_line(tmp_path, dense_model):
    path = save(dense_model, tmp_path / "dense.npz")
    done = subprocess.run([sys.executable, str(SCRIPT), "--model", str(path), "--out", str(tmp_path)],
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 2
    assert done.stderr.strip().count("\n") == 0
    assert "conv_viz.py: error: the model (784-8-10) has no convolutional layers" in done.stderr
    assert not list(tmp_path.glob("*.png"))


@pytest.mark.slow
def test_script_names_a_bad_layer_or_model_folder(run_folder, tmp_path):
    with pytest.raises(ValueError, match=r"--layer must be in \[1, 2\]"):
        _script().main(["--model", str(run_folder), "--out", str(tmp_path), "--layer", "3"])
    with pytest.raises(ValueError, match="folder without a model.npz"):
        _script().main(["--model", str(tmp_path), "--out", str(tmp_path)])
