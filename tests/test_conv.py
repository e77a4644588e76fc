"""Convolutional spiking networks: the conv and pooling kernels against their NumPy references and against the
sums they stand for, the hand-written BPTT of a conv network against finite differences for every parameter, and
the architecture strings."""
import json
import os
import subprocess
import sys

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from test_cli import data_dir, draw_seven, synthetic_digits  # noqa: F401 (data_dir: a fixture)
from test_layers import BATCH, T, _check

import spikingnn
from spikingnn import cli
from spikingnn.kernels import conv as kernels
from spikingnn.serialization import read_state
from spikingnn.training.arch import Stage, arch_shapes, parse_arch
from spikingnn.training.conv import conv_backward, conv_forward, pool_backward, pool_forward
from spikingnn.training.encoders import encode, pixel_levels
from spikingnn.training.layers import NeuronSpec
from spikingnn.training.model import SNNClassifier
from spikingnn.training.network import NetworkSpec, init_params, network_backward, network_forward, param_shapes
from spikingnn.training.surrogate import make_surrogate


def _direct_conv(x, weights, bias, stride, padding):
    """The convolution as its defining sum, one output position at a time (no im2col, no events)."""
    k = weights.shape[0]
    padded = np.pad(x, ((0, 0), (padding, padding), (padding, padding), (0, 0)))
    ho, wo = (kernels.output_size(n, k, stride, padding) for n in x.shape[1:3])
    out = np.empty((x.shape[0], ho, wo, weights.shape[3]))
    for i in range(ho):
        for j in range(wo):
            field = padded[:, stride * i:stride * i + k, stride * j:stride * j + k]
            out[:, i, j] = np.einsum("nabc,abco->no", field, weights) + bias
    return out


@st.composite
def conv_cases(draw):
    size = draw(st.integers(1, 4))
    stride, padding = draw(st.integers(1, 3)), draw(st.integers(0, size - 1))
    height, width = draw(st.integers(size, 9)), draw(st.integers(size, 9))
    c_in, c_out, frames = draw(st.integers(1, 3)), draw(st.integers(1, 4)), draw(st.integers(1, 4))
    density, seed = draw(st.sampled_from([0.0, 0.2, 1.0])), draw(st.integers(0, 2**32 - 1))
    rng = np.random.default_rng(seed)
    x = (rng.random((frames, height, width, c_in)) < density) * rng.integers(1, 3, (frames, height, width, c_in))
    return (x.astype(np.float64), rng.standard_normal((size, size, c_in, c_out)), rng.standard_normal(c_out),
            stride, padding, rng)


@settings(max_examples=60, deadline=None)
@given(conv_cases())
def test_conv_kernels_equal_their_references_and_the_defining_sum(case):
    x, weights, bias, stride, padding, rng = case
    reference = kernels.conv_current_reference(x, weights, bias, stride, padding)
    np.testing.assert_allclose(reference, _direct_conv(x, weights, bias, stride, padding), atol=1e-12)
    np.testing.assert_allclose(kernels.conv_current_kernel(x, weights, bias, stride, padding), reference, atol=1e-12)
    d_current = rng.standard_normal(reference.shape)
    k = weights.shape[0]
    d_w = kernels.conv_weight_grad_reference(x, d_current, k, stride, padding)
    np.testing.assert_allclose(kernels.conv_weight_grad_kernel(x, d_current, k, stride, padding), d_w, atol=1e-12)
    d_x = kernels.conv_input_grad_reference(d_current, weights, x.shape[1:3], stride, padding)
    np.testing.assert_allclose(kernels.conv_input_grad_kernel(d_current, weights, x.shape[1:3], stride, padding), d_x,
                               atol=1e-12)
    # The convolution is linear in x and in W: its gradients are its adjoints, <conv(x) - b, dI> = <x, dx> = <W, dW>.
    linear = np.sum((reference - bias) * d_current)
    np.testing.assert_allclose([np.sum(x * d_x), np.sum(weights * d_w)], [linear, linear], atol=1e-9)


@settings(max_examples=40, deadline=None)
@given(st.integers(1, 3), st.integers(1, 9), st.integers(1, 9), st.integers(1, 3), st.integers(0, 2**32 - 1))
def test_pooling_kernels_equal_their_references_and_route_the_gradient_to_the_maximum(size, height, width, channels,
                                                                                      seed):
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((2, max(height, size), max(width, size), channels))
    x[0, :size, :size] = 0.5                            # a tie: the first entry of the window wins
    pooled, argmax = kernels.max_pool_reference(x, size)
    fast, fast_argmax = kernels.max_pool_kernel(x, size)
    np.testing.assert_array_equal(fast, pooled)
    np.testing.assert_array_equal(fast_argmax, argmax)
    assert np.all(argmax[0, 0, 0] == 0)
    hp, wp = x.shape[1] // size, x.shape[2] // size
    windows = x[:, :hp * size, :wp * size].reshape(2, hp, size, wp, size, channels)
    np.testing.assert_array_equal(pooled, windows.max(axis=(2, 4)))
    np.testing.assert_allclose(kernels.sum_pool(x, size), windows.sum(axis=(2, 4)))
    d_pooled = rng.standard_normal(pooled.shape)
    d_x = kernels.max_pool_backward_reference(d_pooled, argmax, size, x.shape[1:3])
    np.testing.assert_array_equal(kernels.max_pool_backward_kernel(d_pooled, argmax, size, x.shape[1:3]), d_x)
    assert np.count_nonzero(d_x) <= d_pooled.size                    # one entry per window receives it
    np.testing.assert_allclose(np.sum(d_x * x), np.sum(d_pooled * pooled))
    d_sum = kernels.sum_pool_backward(d_pooled, size, x.shape[1:3])
    np.testing.assert_allclose(np.sum(d_sum * x), np.sum(d_pooled * kernels.sum_pool(x, size)))


THREAD_CHECK = """
import numba, numpy as np
from spikingnn.kernels import conv
rng = np.random.default_rng(3)
x = ((rng.random((37, 9, 8, 3)) < 0.2) * rng.integers(1, 3, (37, 9, 8, 3))).astype(np.float32)
weights, bias = rng.standard_normal((3, 3, 3, 4)).astype(np.float32), rng.standard_normal(4).astype(np.float32)
d_current = rng.standard_normal((37, 5, 4, 4)).astype(np.float32)
maps = rng.standard_normal((37, 9, 8, 4)).astype(np.float32)
results = []
for threads in (1, 2, 3):
    numba.set_num_threads(threads)
    pooled, argmax = conv.max_pool_kernel(maps, 2)
    arrays = [conv.conv_current_kernel(x, weights, bias, 2, 1), conv.conv_weight_grad_kernel(x, d_current, 3, 2, 1),
              conv.conv_input_grad_kernel(d_current, weights, (9, 8), 2, 1), pooled, argmax,
              conv.max_pool_backward_kernel(d_current[:, :4], argmax, 2, (9, 8))]
    results.append([a.tobytes() for a in arrays])
print(numba.get_num_threads(), results[0] == results[1] == results[2])
"""


def test_kernels_do_not_depend_on_the_thread_count():
    """Blocks of frames share no sum, the weight gradient is summed over fixed chunks in a fixed order: every conv
    and pooling kernel is bit-identical with 1, 2 and 3 threads (37 frames: two col2im calls of 32 and 5 frames).
    Run in a process of its own with 3 Numba threads, so that the comparison is made on a one-core machine too."""
    env = dict(os.environ, NUMBA_NUM_THREADS="3")
    out = subprocess.run([sys.executable, "-c", THREAD_CHECK], env=env, capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["3", "True"], out.stderr


@pytest.mark.parametrize("kind", ["max", "avg", "sum"])
def test_pool_layers_of_both_backends_agree(kind):
    rng = np.random.default_rng(5)
    x = rng.standard_normal((3, 6, 7, 2)).astype(np.float32)
    out = {}
    for backend in ("numpy", "numba"):
        pooled, cache = pool_forward(x, kind, 2, backend)
        out[backend] = pooled, pool_backward(np.ones_like(pooled), cache)
    for a, b in zip(out["numpy"], out["numba"]):
        np.testing.assert_allclose(a, b, rtol=1e-6)
    expected = {"max": x[:, :6, :6].reshape(3, 3, 2, 3, 2, 2).max(axis=(2, 4)),
                "avg": x[:, :6, :6].reshape(3, 3, 2, 3, 2, 2).mean(axis=(2, 4)),
                "sum": x[:, :6, :6].reshape(3, 3, 2, 3, 2, 2).sum(axis=(2, 4))}[kind]
    np.testing.assert_allclose(out["numba"][0], expected, rtol=1e-6)


def test_the_conv_layer_takes_the_event_path_only_for_sparse_input():
    rng = np.random.default_rng(6)
    weights, bias = rng.standard_normal((3, 3, 2, 4)), rng.standard_normal(4)
    sparse = (rng.random((4, 8, 8, 2)) < 0.1).astype(np.float64)
    for x, expected in ((sparse, "numba"), (rng.random((4, 8, 8, 2)), "numpy")):
        current, cache = conv_forward(x, weights, bias, 1, 1, "numba")
        assert cache.backend == expected
        np.testing.assert_allclose(current, _direct_conv(x, weights, bias, 1, 1), atol=1e-12)
        _, d_w, d_b = conv_backward(np.ones_like(current), cache)
        np.testing.assert_allclose(d_b, np.full(4, current[..., 0].size))


# --------------------------------------------------------------------------------------- whole networks
SIDE, CHANNELS = 7, 2


def _conv_network(arch, reset="subtract", detach=False):
    smooth = make_surrogate("sigmoid", 4.0)
    stages = parse_arch(arch)
    shapes = (SIDE, SIDE, CHANNELS), *arch_shapes(stages, (SIDE, SIDE, CHANNELS))
    spec = NetworkSpec(tuple(int(np.prod(s)) for s in shapes), T, NeuronSpec(reset, detach, 0.8, 0.4, smooth),
                       NeuronSpec(reset, detach, 0.0, 0.0, smooth), stages=stages, map_shapes=shapes)
    rng = np.random.default_rng(1)
    params = init_params(spec, 0.85, 0.7, rng, np.float64)
    return spec, {k: v + 0.3 * rng.standard_normal(v.shape) for k, v in params.items()}


def _pictures(encoding, dtype=np.float64):
    rng = np.random.default_rng(3)
    n = SIDE * SIDE * CHANNELS
    levels = pixel_levels(rng.random((BATCH, n)) * (rng.random((BATCH, n)) < 0.8))
    return encode(encoding, levels, T, np.random.default_rng(4), dtype)


@pytest.mark.parametrize("arch, encoding", [("3C3P1-MP2-4C2-SP2-FC3", "latency"),
                                            ("3C3S2-AP2-FC4-FC3", "current"),
                                            ("2C2-MP3-FC3", "rate")])
@pytest.mark.parametrize("detach", [False, True])
def test_conv_bptt_matches_finite_differences(arch, encoding, detach):
    """Every parameter (kernels, biases, leaks, thresholds) of conv + pooling + dense ALIF networks, with spikes,
    analog pictures and rate-coded pictures as input."""
    spec, params = _conv_network(arch, detach=detach)
    assert params["weights0"].shape == (spec.stages[0].size, spec.stages[0].size, CHANNELS, spec.stages[0].units)
    _check(spec, params, _pictures(encoding), detach)


@pytest.mark.parametrize("encoding", ["latency", "current", "rate"])
def test_conv_network_kernels_equal_the_references(encoding):
    """The whole network with backend 'numba' (event convolutions, pooling kernels) and 'numpy' (im2col)."""
    spec, params = _conv_network("3C3P1-MP2-4C2-SP2-FC3", reset="zero", detach=True)
    spec = NetworkSpec(spec.layer_sizes, T, NeuronSpec("zero", True, 0.8, 0.4), NeuronSpec("zero", True),
                       stages=spec.stages, map_shapes=spec.map_shapes)
    params = {k: v.astype(np.float32) for k, v in params.items()}
    encoded = _pictures(encoding, np.float32)
    results = {}
    for backend in ("numpy", "numba"):
        spikes, cache = network_forward(params, spec, encoded, backend)
        d_spikes = [None] * (spec.n_layers - 1) + [np.ones_like(spikes[-1])]
        results[backend] = spikes, network_backward(d_spikes, None, cache, spec, learn_leak_threshold=True)
    for a, b in zip(results["numpy"][0], results["numba"][0]):
        np.testing.assert_array_equal(a, b)
    assert 0 < results["numba"][0][0].mean() < 1, "the first conv layer should spike"
    for name, grad in results["numpy"][1].items():
        np.testing.assert_allclose(results["numba"][1][name], grad, rtol=2e-4, atol=2e-5, err_msg=name)


# ------------------------------------------------------------------------------------ architecture strings
def test_the_tutorial_architecture_parses_into_its_stages_and_shapes():
    stages = parse_arch("12C5-MP2-64C5-MP2-FC10")
    assert stages == (Stage("conv", 12, 5, 1, 0, "max", 2), Stage("conv", 64, 5, 1, 0, "max", 2), Stage("dense", 10))
    assert arch_shapes(stages, (28, 28, 1)) == [(12, 12, 12), (4, 4, 64), (10,)]
    assert "-".join(stage.code for stage in stages) == "12C5-MP2-64C5-MP2-FC10"
    assert [s.code for s in parse_arch("32c3p1-ap2-16C3S2-sp3-fc10")] == ["32C3P1-AP2", "16C3S2-SP3", "FC10"]
    assert arch_shapes(parse_arch("32c3p1-ap2-16C3S2-fc100-fc10"), (32, 32, 3)) == [(16, 16, 32), (7, 7, 16), (100,),
                                                                                    (10,)]
    spec = NetworkSpec((784, 1728, 1024, 10), 25, stages=stages,
                       map_shapes=((28, 28, 1), (12, 12, 12), (4, 4, 64), (10,)))
    assert param_shapes(spec) == {
        "weights0": (5, 5, 1, 12), "bias0": (12,), "beta0": (1728,), "v_threshold0": (1728,),
        "weights1": (5, 5, 12, 64), "bias1": (64,), "beta1": (1024,), "v_threshold1": (1024,),
        "weights2": (1024, 10), "bias2": (10,), "beta2": (10,), "v_threshold2": (10,)}


@pytest.mark.parametrize("arch, message", [
    ("12C5-MP2-64C5-MP2", "must end with the output layer"),
    ("FC100-12C5-FC10", "comes after a dense layer"),
    ("MP2-FC10", "must come right after a convolution"),
    ("12C5-MP2-MP2-FC10", "must come right after a convolution"),
    ("12X5-FC10", "'12X5' is not a layer"),
    ("12C5P5-FC10", "padding of '12C5P5' must be in [0, 4]"),
    ("0C5-FC10", "number of filters of '0C5' must be in [1, 65536]"),
    ("12C99-FC10", "kernel size of '12C99' must be in [1, 32]"),
    ("", "arch must be a string of 1 to 256 characters"),
    ("FC10-" * 60 + "FC10", "arch must be a string of 1 to 256 characters"),
    ("-".join(["FC10"] * 18), "at most 17 layers"),
])
def test_bad_architecture_strings_are_refused_naming_the_part(arch, message):
    with pytest.raises(ValueError, match=message.replace("[", r"\[").replace("]", r"\]")):
        parse_arch(arch)


def test_maps_that_shrink_to_nothing_or_grow_too_large_are_refused():
    with pytest.raises(ValueError, match=r"layer 2 \(8C5\) leaves no output for a map of 4 x 4"):
        arch_shapes(parse_arch("8C5-MP2-8C5-FC10"), (12, 12, 1))
    with pytest.raises(ValueError, match="layer 1 has 262144 neurons"):
        arch_shapes(parse_arch("64C3P1-FC10"), (64, 64, 1))


# ------------------------------------------------------------------------------------ the classifier, files, CLI
@pytest.fixture(scope="module")
def conv_model(tmp_path_factory):
    """A small conv SNNClassifier trained on synthetic 28x28 digits (a bright square whose place is the class)."""
    rng = np.random.default_rng(0)
    X, y = synthetic_digits(rng, 400)
    model = SNNClassifier(arch="4C5-MP2-6C3P1-AP2-FC10", encoding="current", num_steps=6, batch_size=50, epochs=6,
                          lr=1e-2, random_state=2).fit(X[:300], y[:300], progress=False)
    return model, X[300:], y[300:], model.save(tmp_path_factory.mktemp("conv") / "model.npz")


def test_a_conv_classifier_learns_saves_and_loads(conv_model):
    model, X, y, path = conv_model
    assert model.score(X, y) >= 0.9                      # chance is 0.1
    assert [w.shape for w in model.weights_] == [(5, 5, 1, 4), (3, 3, 4, 6), (6 * 6 * 6, 10)]
    assert model.layer_sizes_ == [784, 12 * 12 * 4, 6 * 6 * 6, 10]
    loaded = spikingnn.load(path)
    assert loaded.arch == "4C5-MP2-6C3P1-AP2-FC10"
    np.testing.assert_array_equal(loaded.predict(X), model.predict(X))
    recording = loaded.record(X[:3])
    assert [s.shape for s in recording.spikes] == [(6, 3, 576), (6, 3, 216), (6, 3, 10)]


def test_conv_model_files_whose_header_and_arrays_disagree_are_refused(conv_model, tmp_path):
    _, _, _, path = conv_model
    config, arrays = read_state(path)
    for params, match in (
            ({"arch": "8C5-MP2-6C3P1-AP2-FC10"}, r"param/weights0' must be float32 of shape \(5, 5, 1, 8\)"),
            ({"arch": "4C5-MP2-6C3P1-AP2-FC7"}, "arch must end with the output layer FC10"),
            ({"arch": "4C5-MP2-6Q3-FC10"}, "'6Q3' is not a layer"),
            ({"input_shape": [14, 56, 1]}, r"param/beta0' must be float32 of shape \(520,\)"),
            ({"input_shape": [28, 28, 3]}, "input_shape must be .height, width, channels. of 784"),
            ({"recurrent": True}, "recurrent must be False for a network with convolutions")):
        crafted = {**config, "params": {**config["params"], **params}}
        with pytest.raises(ValueError, match=match):
            SNNClassifier.from_state(crafted, arrays)
    old = {**config, "params": {k: v for k, v in config["params"].items() if k not in ("arch", "input_shape")}}
    with pytest.raises(ValueError, match="does not belong to the architecture 784-100-10"):
        SNNClassifier.from_state(old, arrays)         # a file from before arch existed is a dense model


def test_nir_export_refuses_a_conv_model_by_name(conv_model):
    pytest.importorskip("nir")
    from spikingnn.nir import to_nir
    with pytest.raises(ValueError, match="model has arch '4C5-MP2-6C3P1-AP2-FC10': only networks of dense layers"):
        to_nir(conv_model[0])


def test_pictures_of_unknown_shape_need_an_input_shape():
    X, y = np.random.default_rng(0).random((20, 50)), np.arange(20) % 2
    with pytest.raises(ValueError, match="input_shape must be given as .height, width, channels. for pictures of 50"):
        SNNClassifier(arch="2C3-FC2", epochs=1).fit(X, y, progress=False)
    model = SNNClassifier(arch="2C3-FC2", input_shape=(5, 10, 1), num_steps=3, epochs=1).fit(X, y, progress=False)
    assert model.weights_[0].shape == (3, 3, 1, 2) and model.layer_sizes_ == [50, 3 * 8 * 2, 2]


def test_the_command_line_trains_and_evaluates_a_conv_network(capsys, data_dir, tmp_path):  # noqa: F811
    config = tmp_path / "conv.toml"
    config.write_text('arch = "4C5-MP2-FC10"\nencoding = "current"\nsteps = 5\nepochs = 1\n')
    out = tmp_path / "run"
    assert cli.main(["train", "--config", str(config), "--data-dir", str(data_dir), "--out", str(out)]) == 0
    model = spikingnn.load(out / "model.npz")
    assert model.arch == "4C5-MP2-FC10" and model.weights_[0].shape == (5, 5, 1, 4)
    assert cli.main(["evaluate", "--model", str(out), "--data-dir", str(data_dir)]) == 0
    evaluation = json.loads((out / "evaluation.json").read_text())
    # the ANN's MACs of the convolution: 24 x 24 outputs x 4 filters x 25 weights (non-zero after training)
    assert evaluation["ann_macs_per_image"][0] == evaluation["snn_macs_per_image"][0] == 24 * 24 * 4 * 25
    picture = draw_seven(tmp_path / "seven.png", 0, 255)
    capsys.readouterr()
    assert cli.main(["predict", "--model", str(out), "--image", str(picture), "--raster", str(tmp_path / "r.png")]) == 0
    printed = capsys.readouterr().out.splitlines()
    scores = [float(line.split(":")[1].split()[0]) for line in printed[2:12]]
    assert int(printed[0].split(":")[1]) == int(np.argmax(scores)) and (tmp_path / "r.png").stat().st_size > 0
    assert cli.main(["train", "--arch", "4C5-FC3", "--data-dir", str(data_dir), "--out", str(tmp_path / "bad")]) == 2
    assert "arch must end with the output layer FC10" in capsys.readouterr().err


def test_conv_inference_runs_in_batches_that_bound_its_memory(conv_model, monkeypatch):
    """Inference batches of a conv network hold at most EVAL_MAP_VALUES values in one map (before pooling) of all T
    steps; the predictions of direct input do not depend on the batch size."""
    model, X, _, _ = conv_model
    spec = model._built().spec
    assert SNNClassifier._eval_batch(spec) == min(1000, (1 << 24) // (6 * 24 * 24 * 4))
    before = model.predict(X)
    monkeypatch.setattr("spikingnn.training.model.EVAL_MAP_VALUES", 6 * 24 * 24 * 4 * 7)
    assert SNNClassifier._eval_batch(spec) == 7
    np.testing.assert_array_equal(model.predict(X), before)
