"""Hand-written BPTT against central finite differences, for every parameter of a small float64 network.

The Heaviside is swapped for the surrogate's smooth function in the forward pass, so the network is an
ordinary differentiable function whose exact gradient is what the backward pass computes with that
surrogate's derivative. With ``detach_reset=True`` the backward pass treats the reset spikes as constants;
the check then holds them fixed in the forward pass too (``reset_spikes``), which makes the detached gradient
an exact one.
"""
import numpy as np
import pytest

from spikingnn.training.encoders import ImageLevels, encode, pixel_levels
from spikingnn.training.layers import NeuronSpec
from spikingnn.training.network import NetworkSpec, init_params, network_backward, network_forward
from spikingnn.training.surrogate import make_surrogate

T, BATCH = 5, 3


def _network(reset, detach, surrogate, recurrent=True, residual=True, neuron_alif=True, output_reset=None):
    smooth = make_surrogate(surrogate, 4.0 if surrogate != "triangle" else 0.5)
    hidden = NeuronSpec(reset, detach, 0.8 if neuron_alif else 0.0, 0.4 if neuron_alif else 0.0, smooth)
    spec = NetworkSpec((6, 5, 5, 3), T, hidden, NeuronSpec(output_reset or reset, detach, 0.0, 0.0, smooth),
                       recurrent=recurrent, residual=residual)
    rng = np.random.default_rng(1)
    params = init_params(spec, 0.85, 0.7, rng, np.float64)
    return spec, {k: v + 0.1 * rng.standard_normal(v.shape) for k, v in params.items()}


def _check(spec, params, encoded, detach, rel_tol=1e-4):
    rng = np.random.default_rng(2)
    c_s, c_v = rng.standard_normal((T, BATCH, 3)), rng.standard_normal((T, BATCH, 3))
    base, _ = network_forward(params, spec, encoded, "numpy", smooth=True)
    fixed = [s.copy() for s in base] if detach else None

    def loss(p):
        """L = sum c_s * s_out + sum c_v * v_out: reaches both dL/ds and dL/dv of the output layer."""
        spikes, cache = network_forward(p, spec, encoded, "numpy", smooth=True, reset_spikes=fixed)
        return np.sum(c_s * spikes[-1]) + np.sum(c_v * cache.neurons[-1].v)

    _, cache = network_forward(params, spec, encoded, "numpy", smooth=True, reset_spikes=fixed)
    grads = network_backward([None] * (spec.n_layers - 1) + [c_s], c_v, cache, spec, learn_leak_threshold=True)
    assert set(grads) == set(params)
    eps = 1e-6
    for name, value in params.items():
        numerical = np.zeros_like(value)
        for idx in np.ndindex(value.shape):
            shifted = dict(params)
            shifted[name] = value.copy()
            shifted[name][idx] += eps
            up = loss(shifted)
            shifted[name][idx] -= 2 * eps
            numerical[idx] = (up - loss(shifted)) / (2 * eps)
        error = np.max(np.abs(numerical - grads[name])) / max(np.max(np.abs(numerical)), 1e-6)
        assert error < rel_tol, f"{name}: relative error {error:.2e}"


def _encoded(encoding):
    rng = np.random.default_rng(3)
    levels = pixel_levels(rng.random((BATCH, 6)) * (rng.random((BATCH, 6)) < 0.8))
    return encode(encoding, levels, T, np.random.default_rng(4), np.float64)


@pytest.mark.parametrize("reset", ["subtract", "zero"])
@pytest.mark.parametrize("detach", [False, True])
def test_bptt_matches_finite_differences(reset, detach):
    """Weights, biases, leaks, thresholds, recurrent weights of an ALIF + residual + recurrent network."""
    spec, params = _network(reset, detach, "sigmoid")
    _check(spec, params, _encoded("latency"), detach)


def test_bptt_with_a_readout_output_layer():
    """Membrane losses: output neurons that integrate without firing (reset 'readout')."""
    spec, params = _network("subtract", False, "sigmoid", output_reset="readout")
    _check(spec, params, _encoded("latency"), False)


@pytest.mark.parametrize("encoding", ["rate", "current"])
def test_bptt_through_each_input_encoding(encoding):
    """The first projection's gradient for rate-coded (event kernel path) and analog input."""
    spec, params = _network("subtract", False, "sigmoid")
    _check(spec, params, _encoded(encoding), False)


@pytest.mark.parametrize("surrogate", ["fast_sigmoid", "arctan", "triangle"])
def test_bptt_with_each_surrogate(surrogate):
    """The backward pass uses exactly the derivative of the surrogate whose smooth function ran forward."""
    spec, params = _network("subtract", False, surrogate, recurrent=False, residual=False, neuron_alif=False)
    _check(spec, params, _encoded("latency"), False)


def test_pixel_levels_round_256_p_over_255_for_every_uint8_pixel_and_match_floats():
    """Level of pixel p: round(256 p / 255) (halves cannot occur: 256 p / 255 is never k + 1/2), from uint8 pixels
    and from the floats p / 255 alike."""
    pixels = np.arange(256, dtype=np.uint8).reshape(2, 128)
    expected = np.floor(256 * pixels.astype(float) / 255 + 0.5)
    levels = pixel_levels(pixels)
    assert levels.dtype == np.uint16
    np.testing.assert_array_equal(levels, expected)
    np.testing.assert_array_equal(pixel_levels(pixels / 255.0), expected)


@pytest.mark.parametrize("as_float", [False, True])
def test_image_levels_give_the_levels_of_the_images_taken_by_any_index(as_float):
    """ImageLevels converts batch by batch (uint8) or once (floats); either way levels[index] is pixel_levels of
    the images taken, for index arrays and slices alike."""
    rng = np.random.default_rng(3)
    pixels = rng.integers(0, 256, (40, 7, 4), dtype=np.uint8)
    images = pixels / 255.0 if as_float else pixels
    expected, levels = pixel_levels(pixels), ImageLevels(images)
    assert levels.shape == (40, 28) and len(levels) == 40
    index = rng.permutation(40)[:13]
    np.testing.assert_array_equal(levels[index], expected[index])
    np.testing.assert_array_equal(levels[5:17], expected[5:17])
    assert levels[index].dtype == np.uint16


def test_image_levels_refuse_out_of_range_floats_before_any_batch_is_taken():
    images = np.full((3, 4), 0.5)
    images[2, 1] = 1.5
    with pytest.raises(ValueError, match=r"X.*\[0(\.0)?, 1"):
        ImageLevels(images)
