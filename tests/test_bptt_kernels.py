"""Every training kernel (spikingnn.kernels: neuron_bptt, projection, rate_input) against its NumPy reference, and
the two backends end to end."""
import itertools
import os
import subprocess
import sys

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from spikingnn.kernels import neuron_bptt, projection
from spikingnn.kernels import rate_input as rate_kernels
from spikingnn.training.encoders import encode, pixel_levels, random_bytes, rate_input
from spikingnn.training.layers import NeuronSpec
from spikingnn.training.network import NetworkSpec, init_params, network_backward, network_forward
from spikingnn.training.surrogate import make_surrogate

T, BATCH, N = 7, 5, 6
EMPTY2, EMPTY3 = np.zeros((0, 0)), np.zeros((0, 0, 0))


def _neuron_case(rng, recurrent, alif, fixed_reset, smooth, batch=BATCH):
    current = rng.normal(0.4, 0.8, (T, batch, N))
    beta, v_threshold = rng.uniform(0.7, 0.99, N), rng.uniform(0.5, 1.5, N)
    w_rec = rng.normal(0, 0.5, (N, N)) if recurrent else EMPTY2
    reset_spikes = (rng.random((T, batch, N)) < 0.3).astype(float) if fixed_reset else EMPTY3
    return current, beta, v_threshold, (0.9 if alif else 0.0), (0.3 if alif else 0.0), w_rec, reset_spikes, smooth


GRID = list(itertools.product([0, 1, 2], [False, True], [False, True], [False, True], [False, True], [0, 1, 2, 3]))


# A batch of 5 runs one sample per block; 19 samples (over N_BLOCKS) run the kernels' blocks of 2 and 3 samples.
@pytest.mark.parametrize("batch", [BATCH, 19])
@pytest.mark.parametrize("reset_code,recurrent,alif,fixed_reset,smooth,code", GRID)
def test_neuron_kernels_match_reference(reset_code, recurrent, alif, fixed_reset, smooth, code, batch):
    assert 19 > neuron_bptt.N_BLOCKS
    rng = np.random.default_rng(reset_code + 2 * recurrent + 4 * alif + 8 * fixed_reset + 16 * smooth + 32 * code)
    current, beta, thr, rho, b_adapt, w_rec, reset_spikes, smooth = _neuron_case(rng, recurrent, alif, fixed_reset,
                                                                                 smooth, batch)
    args = (current, beta, thr, rho, b_adapt, w_rec, reset_code, code, 3.0, smooth, reset_spikes)
    ref, fast = neuron_bptt.neuron_forward_reference(*args), neuron_bptt.neuron_forward_kernel(*args)
    for name, a, b in zip(("v", "s", "thr"), ref, fast):
        np.testing.assert_allclose(b, a, rtol=1e-12, atol=1e-12, err_msg=name)
    v, s, thr_t = ref
    assert 0 < s.mean() < 1 or smooth or reset_code == neuron_bptt.READOUT, "the case should make some spikes"
    d_s, d_v_out = rng.standard_normal(v.shape), rng.standard_normal(v.shape)
    for detach in (False, True):
        args = (d_s, d_v_out, v, s, thr_t, beta, rho, b_adapt, w_rec, reset_code, detach, code, 3.0, reset_spikes)
        ref, fast = neuron_bptt.neuron_backward_reference(*args), neuron_bptt.neuron_backward_kernel(*args)
        for name, a, b in zip(("dv", "dthr"), ref, fast):
            np.testing.assert_allclose(b, a, rtol=1e-11, atol=1e-12, err_msg=f"{name} detach={detach}")


def test_neuron_forward_worked_by_hand():
    """v[t] = beta (v[t-1] - thr s[t-1]) + I[t], s[t] = (v[t] > thr), worked out by hand for one neuron."""
    current = np.array([0.6, 0.6, 0.6, 0.0, 1.0, 1.0])[:, None, None]
    v, s, _ = neuron_bptt.neuron_forward_kernel(current, np.array([0.5]), np.array([1.0]), 0.0, 0.0, EMPTY2,
                                                neuron_bptt.RESET_SUBTRACT, 0, 25.0, False, EMPTY3)
    #  0.6;  0.3 + 0.6 = 0.9;  0.45 + 0.6 = 1.05 > 1 fires, keeps 0.05;  0.025;  0.0125 + 1 fires;  0.00625 + 1
    np.testing.assert_allclose(v[:, 0, 0], [0.6, 0.9, 1.05, 0.025, 1.0125, 1.00625])
    np.testing.assert_array_equal(s[:, 0, 0], [0, 0, 1, 0, 1, 1])


def test_threshold_crossing_is_strict():
    """v exactly at the threshold does not fire (snnTorch's Heaviside is x > 0)."""
    v, s, _ = neuron_bptt.neuron_forward_kernel(np.ones((1, 1, 1)), np.array([0.9]), np.array([1.0]), 0.0, 0.0,
                                                EMPTY2, 0, 0, 25.0, False, EMPTY3)
    assert v[0, 0, 0] == 1.0 and s[0, 0, 0] == 0.0


def _rate_case(rng, batch=6, n_in=30, num_steps=T):
    levels = pixel_levels(rng.random((batch, n_in)) * (rng.random((batch, n_in)) < 0.4))
    return rate_input(levels, num_steps, rng), levels


def test_rate_kernels_match_reference():
    rng = np.random.default_rng(0)
    r, _ = _rate_case(rng)
    weights, bias = rng.standard_normal((r.n_inputs, 4)), rng.standard_normal(4)
    np.testing.assert_allclose(rate_kernels.rate_current_kernel(*r[:5], weights, bias),
                               rate_kernels.rate_current_reference(*r[:5], weights, bias), rtol=1e-12, atol=1e-12)
    d_current = rng.standard_normal((T, 6, 4))
    np.testing.assert_allclose(rate_kernels.rate_weight_grad_kernel(*r[:4], d_current, r.n_inputs),
                               rate_kernels.rate_weight_grad_reference(*r[:4], d_current, r.n_inputs),
                               rtol=1e-12, atol=1e-12)


@given(st.integers(1, 9), st.integers(1, 40), st.floats(0.0, 1.0), st.integers(0, 2**32 - 1))
def test_nonzero_levels_kernel_matches_reference(batch, n, density, seed):
    rng = np.random.default_rng(seed)
    levels = (rng.integers(1, 257, (batch, n)) * (rng.random((batch, n)) < density)).astype(np.uint16)
    for fast, slow in zip(rate_kernels.nonzero_levels_kernel(levels), rate_kernels.nonzero_levels_reference(levels)):
        assert fast.dtype == slow.dtype
        np.testing.assert_array_equal(fast, slow)


def test_random_bytes_are_uniform_and_reproducible():
    """Each of the 256 values within 5 standard errors of 1/256; the same Generator state gives the same bytes."""
    values = random_bytes(np.random.default_rng(3), 256_000)
    assert values.dtype == np.uint8 and values.shape == (256_000,)
    frequency = np.bincount(values, minlength=256) / values.size
    np.testing.assert_array_less(np.abs(frequency - 1 / 256), 5 * np.sqrt((1 / 256) * (255 / 256) / values.size))
    np.testing.assert_array_equal(random_bytes(np.random.default_rng(3), 13), values[:13])


def test_rate_spikes_fire_with_probability_level_over_256():
    """Over 4000 steps, each pixel's firing frequency is within 5 standard errors of level / 256."""
    rng = np.random.default_rng(1)
    levels = np.array([[0, 1, 64, 128, 200, 255, 256]], dtype=np.uint16)
    spikes = rate_input(levels, 4000, rng).dense()[:, 0, :]
    p = levels[0] / 256.0
    np.testing.assert_array_less(np.abs(spikes.mean(axis=0) - p), 5 * np.sqrt(p * (1 - p) / 4000) + 1e-12)
    assert spikes[:, 0].sum() == 0 and spikes[:, -1].all()


def test_spike_kernels_match_reference_on_counts():
    """Event-driven projection of inputs that are mostly zero, with counts (residual outputs) besides 0/1."""
    rng = np.random.default_rng(2)
    spikes = rng.integers(0, 3, (T, BATCH, 20)) * (rng.random((T, BATCH, 20)) < 0.2)
    spikes = spikes.astype(float)
    weights, bias, d_current = rng.standard_normal((20, 3)), rng.standard_normal(3), rng.standard_normal((T, BATCH, 3))
    np.testing.assert_allclose(projection.spike_current_kernel(spikes, weights, bias),
                               projection.spike_current_reference(spikes, weights, bias), rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(projection.spike_weight_grad_kernel(spikes, d_current),
                               projection.spike_weight_grad_reference(spikes, d_current), rtol=1e-12, atol=1e-12)


THREAD_CHECK = """
import numba, numpy as np
from spikingnn.kernels import neuron_bptt, projection, rate_input
from spikingnn.training.encoders import pixel_levels, rate_input as encode_rate
rng = np.random.default_rng(3)
r = encode_rate(pixel_levels(rng.random((20, 12))), 7, np.random.default_rng(4))
d_current = rng.standard_normal((7, 20, 8)).astype(np.float32)
spikes = (rng.random((7, 20, 12)) < 0.3).astype(np.float32)
weights, bias = rng.standard_normal((12, 8)).astype(np.float32), rng.standard_normal(8).astype(np.float32)
beta, w_rec, empty = np.full(8, 0.9, np.float32), rng.standard_normal((8, 8)).astype(np.float32), np.zeros((0, 0, 0))
one = np.float32(1)
results = []
for threads in (1, 2, 3):
    numba.set_num_threads(threads)
    v, s, thr = neuron_bptt.neuron_forward_kernel(d_current, beta, beta, one / 2, one, w_rec, 0, 0, 3 * one, False,
                                                  empty)
    grads = neuron_bptt.neuron_backward_kernel(d_current, d_current, v, s, thr, beta, one / 2, one, w_rec, 0, False,
                                               0, 3 * one, empty)
    arrays = [rate_input.rate_weight_grad_kernel(*r[:4], d_current, r.n_inputs),
              rate_input.rate_current_kernel(*r[:5], weights, bias),
              projection.spike_current_kernel(spikes, weights, bias),
              projection.spike_weight_grad_kernel(spikes, d_current[..., :5]), v, s, thr, *grads]
    results.append([a.tobytes() for a in arrays])
print(numba.get_num_threads(), results[0] == results[1] == results[2], float(s.mean()))
"""


def test_kernels_do_not_depend_on_the_thread_count():
    """Blocks of samples share no sum, weight gradients are summed over fixed chunks in a fixed order: every kernel
    of dense training (an ALIF recurrent layer for the neurons) is bit-identical with 1, 2 and 3 threads. Run in a
    process of its own with 3 Numba threads, so that the comparison is made on a one-core machine too."""
    env = dict(os.environ, NUMBA_NUM_THREADS="3")
    out = subprocess.run([sys.executable, "-c", THREAD_CHECK], env=env, capture_output=True, text=True, check=True)
    threads, same, rate = out.stdout.split()
    assert (threads, same) == ("3", "True"), out.stderr
    assert 0 < float(rate) < 1, "the neurons should spike"


def test_event_driven_projection_runs_end_to_end_and_agrees_with_blas():
    """Latency input (one spike per pixel in 30 steps: 3 % density) into a 40-wide layer takes the event-driven
    kernels of dense_forward with backend 'numba'; spikes and gradients equal those of the BLAS path."""
    rng = np.random.default_rng(7)
    surrogate = make_surrogate("fast_sigmoid")
    spec = NetworkSpec((16, 40, 3), 30, NeuronSpec("subtract", True, 0.0, 0.0, surrogate),
                       NeuronSpec("subtract", True, 0.0, 0.0, surrogate))
    params = init_params(spec, 0.9, 1.0, np.random.default_rng(5), np.float64)
    params["weights0"] *= 4
    encoded = encode("latency", pixel_levels(rng.random((BATCH, 16))), 30, np.random.default_rng(6), np.float64)
    d_out = rng.standard_normal((30, BATCH, 3))
    results = {}
    for backend in ("numpy", "numba"):
        spikes, cache = network_forward(params, spec, encoded, backend)
        assert cache.projections[0].backend == backend          # the numba backend did take the event path
        results[backend] = spikes, network_backward([None, d_out], None, cache, spec, learn_leak_threshold=True)
    for a, b in zip(results["numpy"][0], results["numba"][0]):
        np.testing.assert_array_equal(a, b)
    assert 0 < results["numba"][0][0].mean() < 1, "the hidden layer should spike"
    for name, grad in results["numpy"][1].items():
        np.testing.assert_allclose(results["numba"][1][name], grad, rtol=1e-9, atol=1e-12, err_msg=name)


@pytest.mark.parametrize("encoding", ["rate", "latency", "current"])
@pytest.mark.parametrize("reset,detach", [("subtract", True), ("zero", False)])
def test_numba_and_numpy_backends_agree(encoding, reset, detach):
    """Same spikes, same gradients of every parameter, for a recurrent ALIF network with a residual layer."""
    rng = np.random.default_rng(4)
    surrogate = make_surrogate("fast_sigmoid")
    spec = NetworkSpec((16, 8, 8, 3), T, NeuronSpec(reset, detach, 0.9, 0.2, surrogate),
                       NeuronSpec(reset, detach, 0.0, 0.0, surrogate), recurrent=True, residual=True)
    params = init_params(spec, 0.9, 1.0, np.random.default_rng(5), np.float64)
    params = {k: v * 3 if k.startswith("weights") else v for k, v in params.items()}
    levels = pixel_levels(rng.random((BATCH, 16)) * (rng.random((BATCH, 16)) < 0.6))
    encoded = encode(encoding, levels, T, np.random.default_rng(6), np.float64)
    d_out, d_v = rng.standard_normal((T, BATCH, 3)), rng.standard_normal((T, BATCH, 3))
    results = {}
    for backend in ("numpy", "numba"):
        spikes, cache = network_forward(params, spec, encoded, backend)
        results[backend] = spikes, network_backward([None, None, d_out], d_v, cache, spec, learn_leak_threshold=True)
    for a, b in zip(results["numpy"][0], results["numba"][0]):
        np.testing.assert_array_equal(a, b)
    assert 0 < results["numba"][0][0].mean() < 1, "the hidden layer should spike"
    for name, grad in results["numpy"][1].items():
        np.testing.assert_allclose(results["numba"][1][name], grad, rtol=1e-9, atol=1e-12, err_msg=name)


@pytest.mark.parametrize("reset_code", [neuron_bptt.RESET_SUBTRACT, neuron_bptt.RESET_ZERO, neuron_bptt.READOUT])
@pytest.mark.parametrize("alif", [False, True])
def test_rate_neuron_spikes_kernel_matches_reference(reset_code, alif):
    """The fused input layer of inference (rate current straight into LIF/ALIF neurons) against its reference, the
    two reference steps one after the other (19 samples, more than one thread's share)."""
    rng = np.random.default_rng(10 + reset_code + 3 * alif)
    r, _ = _rate_case(rng, batch=19, n_in=30, num_steps=12)
    weights, bias = rng.normal(0.1, 0.6, (r.n_inputs, 5)), rng.normal(0.1, 0.2, 5)
    beta, v_threshold = rng.uniform(0.7, 0.99, 5), rng.uniform(0.5, 1.5, 5)
    args = (*r[:5], weights, bias, beta, v_threshold, 0.9 if alif else 0.0, 0.3 if alif else 0.0, reset_code)
    spikes = rate_kernels.rate_neuron_spikes_kernel(*args)
    np.testing.assert_array_equal(spikes, rate_kernels.rate_neuron_spikes_reference(*args))
    assert reset_code == neuron_bptt.READOUT or 0.05 < spikes.mean() < 0.95, "the case should make some spikes"


@pytest.mark.parametrize("alif", [False, True])
def test_rate_neuron_spikes_are_the_layer_kernels_spikes_to_the_bit(alif):
    """In float32, as in training: the fused kernel fires exactly where rate_current_kernel followed by
    neuron_forward_kernel fires (the same operations in the same order), on MNIST-like pictures of 100 pixels."""
    rng = np.random.default_rng(11)
    levels = pixel_levels((rng.random((37, 100)) * (rng.random((37, 100)) < 0.2) * 255).astype(np.uint8))
    r = rate_input(levels, 25, rng)
    weights, bias = rng.normal(0.02, 0.1, (100, 64)).astype(np.float32), rng.normal(0, 0.05, 64).astype(np.float32)
    beta, v_threshold = np.full(64, 0.95, np.float32), np.ones(64, np.float32)
    rho, beta_adapt = (np.float32(0.9), np.float32(0.2)) if alif else (np.float32(0), np.float32(0))
    current = rate_kernels.rate_current_kernel(*r[:5], weights, bias)
    _, layered, _ = neuron_bptt.neuron_forward_kernel(current, beta, v_threshold, rho, beta_adapt,
                                                      np.zeros((0, 0), np.float32), neuron_bptt.RESET_SUBTRACT, 0,
                                                      np.float32(5), False, np.zeros((0, 0, 0), np.float32))
    fused = rate_kernels.rate_neuron_spikes_kernel(*r[:5], weights, bias, beta, v_threshold, rho, beta_adapt,
                                                   neuron_bptt.RESET_SUBTRACT)
    assert fused.dtype == np.float32 and 0.02 < fused.mean() < 0.98
    np.testing.assert_array_equal(fused, layered)


@pytest.mark.parametrize("backend", ["numba", "numpy"])
@pytest.mark.parametrize("recurrent", [False, True])
def test_inference_forward_gives_the_training_forwards_spikes_and_output(backend, recurrent):
    """network_forward(inference=True): the first hidden layer only fires (no caches), every layer's spikes and the
    output membrane are those of the training forward pass, bit for bit; a recurrent first layer runs as in training."""
    rng = np.random.default_rng(12)
    surrogate = make_surrogate("fast_sigmoid")
    spec = NetworkSpec((30, 20, 12, 3), 15, NeuronSpec("subtract", True, 0.9, 0.2, surrogate),
                       NeuronSpec("readout", True, 0.0, 0.0, surrogate), recurrent=recurrent)
    params = init_params(spec, 0.9, 1.0, np.random.default_rng(13), np.float32)
    params = {k: v * 3 if k.startswith("weights") else v for k, v in params.items()}
    r, _ = _rate_case(rng, batch=9, n_in=30, num_steps=15)
    spikes, cache = network_forward(params, spec, r, backend)
    fast_spikes, fast_cache = network_forward(params, spec, r, backend, inference=True)
    assert (fast_cache.neurons[0] is None) == (not recurrent) == (fast_cache.projections[0] is None)
    assert 0.05 < spikes[0].mean() < 0.95, "the first layer should spike"
    for a, b in zip(spikes, fast_spikes):
        np.testing.assert_array_equal(a, b)
    np.testing.assert_array_equal(cache.neurons[-1].v, fast_cache.neurons[-1].v)


FIT_CHECK = """
import numba, numpy as np
from spikingnn.training.model import SNNClassifier
rng = np.random.default_rng(5)
X, y = (rng.random((700, 64)) * 255).astype(np.uint8), rng.integers(0, 4, 700)
X_test = (rng.random((2300, 64)) * 255).astype(np.uint8)      # 3 inference batches: 2 on this thread, 1 aside
results = []
for threads in (1, 2):
    numba.set_num_threads(threads)
    model = SNNClassifier(hidden=(40,), num_steps=6, batch_size=64, epochs=2, random_state=3).fit(X, y, progress=False)
    recording = model.record(X_test[:1200])
    results.append([b"".join(v.tobytes() for v in model.params_.values()), model.output_counts(X_test).tobytes(),
                    model.predict(X_test).tobytes(), *(a.tobytes() for a in recording.spikes),
                    *(a.tobytes() for a in recording.v)])
print(numba.get_num_threads(), results[0] == results[1], len(results[0]))
"""


def test_training_and_inference_are_the_same_on_two_threads_as_on_one():
    """On two threads each training batch is encoded on the helper while the previous one trains, and inference
    shares its batches between two threads that each run every kernel alone; on one thread everything runs in turn.
    Weights, output counts, predictions, recorded spikes and membranes are the same bit for bit."""
    env = dict(os.environ, NUMBA_NUM_THREADS="2")
    out = subprocess.run([sys.executable, "-c", FIT_CHECK], env=env, capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["2", "True", "7"], out.stderr
