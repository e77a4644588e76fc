"""e-prop (spikingnn.training.eprop, spikingnn.kernels.eprop) against an independent oracle: BPTT through the training
layers with the gradient stopped through the recurrent spikes and the reset; the read-out gradient against finite
differences; the Numba kernel against its NumPy reference; memory that does not grow with T."""
import itertools
import os
import subprocess
import sys
import tracemalloc

import numpy as np
import pytest

from spikingnn.kernels import eprop as eprop_kernels
from spikingnn.kernels.projection import project, spike_weight_grad_reference
from spikingnn.tasks import cue_accumulation
from spikingnn.training.eprop import RecurrentNetwork, sequence_cross_entropy
from spikingnn.training.layers import NeuronSpec, dense_backward, dense_forward, neuron_backward, neuron_forward
from spikingnn.training.losses import rate_regularizer
from spikingnn.training.surrogate import FastSigmoid

T, BATCH, N_IN, HIDDEN, CLASSES = 60, 3, 5, 7, 3
KAPPA, RATE_REG, TARGET = 0.9, 0.5, 0.05


def _case(rng, reset, alif, random_feedback, dtype=np.float64, shared_beta=False):
    """A small network and batch in which every neuron kind fires now and then (``shared_beta``: one leak for all
    neurons, which with LIF and 'subtract' takes the kernel's per-presynaptic trace)."""
    x = (rng.random((T, BATCH, N_IN)) < 0.3).astype(dtype)
    w_in, w_rec = rng.normal(0, 0.8, (N_IN, HIDDEN)), rng.normal(0, 0.5, (HIDDEN, HIDDEN))
    w_out, b_out = rng.normal(0, 1, (HIDDEN, CLASSES)), rng.normal(0, 0.1, CLASSES)
    feedback = rng.normal(0, 1, (HIDDEN, CLASSES)) if random_feedback else w_out
    beta, v_threshold = rng.uniform(0.8, 0.95, HIDDEN), rng.uniform(0.5, 1.0, HIDDEN)
    if shared_beta:
        beta[:] = beta[0]
    rho, beta_adapt = (0.97, 0.2) if alif else (0.0, 0.0)
    labels, loss_steps = rng.integers(0, CLASSES, BATCH), np.zeros(T, bool)
    loss_steps[[20, *range(T - 15, T)]] = True
    spec = NeuronSpec(reset, True, rho, beta_adapt, FastSigmoid(3.0))
    arrays = [a.astype(dtype) for a in (w_in, w_rec, w_out, b_out, feedback, beta, v_threshold)]
    number = np.dtype(dtype).type
    args = (x, labels, loss_steps, *arrays, *map(number, (rho, beta_adapt, KAPPA)), spec.reset_code,
            spec.surrogate.code, number(spec.surrogate.slope), number(RATE_REG), number(TARGET))
    return args, spec


def _stopped_bptt(args, spec):
    """BPTT through the training layers, with the recurrent current s[t-1] @ w_rec computed once from the forward
    spikes and then held fixed (no gradient through the recurrent spikes) and the reset detached (``spec``)."""
    x, labels, loss_steps, w_in, w_rec, w_out, b_out, feedback, beta, v_threshold = args[:10]
    current_in, _ = dense_forward(x, w_in, np.zeros(HIDDEN), "numpy")
    s, _ = neuron_forward(current_in, beta, v_threshold, w_rec, spec, "numpy")
    s_prev = np.concatenate([np.zeros_like(s[:1]), s[:-1]])
    s_fixed, cache = neuron_forward(current_in + project(s_prev, w_rec), beta, v_threshold, None, spec, "numpy")
    np.testing.assert_array_equal(s_fixed, s)       # the same run, only the gradient paths differ
    y_current, out_cache = dense_forward(s, w_out, b_out, "numpy")
    _, y_cache = neuron_forward(y_current, np.full(CLASSES, KAPPA), np.ones(CLASSES), None,
                                NeuronSpec(reset="readout"), "numpy")
    loss, d_y, scores = sequence_cross_entropy(y_cache.v, labels, loss_steps)
    d_y_current, _ = neuron_backward(np.zeros_like(d_y), d_y, y_cache, False)
    _, d_w_out, d_b_out = dense_backward(d_y_current, out_cache)
    _, (d_reg,) = rate_regularizer([s], RATE_REG, TARGET)
    d_current, _ = neuron_backward(project(d_y_current, feedback.T) + d_reg, None, cache, False)
    return (spike_weight_grad_reference(x, d_current), spike_weight_grad_reference(s_prev, d_current), d_w_out,
            d_b_out, loss, scores, s.sum(axis=0))


NAMES = ("d_w_in", "d_w_rec", "d_w_out", "d_b_out", "loss", "scores", "counts")


@pytest.mark.parametrize("reset,alif,random_feedback,shared_beta", [
    *itertools.product(("subtract", "zero"), (False, True), (False, True), (False,)),
    ("subtract", False, False, True), ("subtract", False, True, True), ("zero", False, False, True),
    ("subtract", True, False, True)])
def test_eprop_equals_bptt_with_stopped_gradients(reset, alif, random_feedback, shared_beta):
    """Learning signal x eligibility trace, gathered forward, is BPTT's gradient once the gradient is stopped through
    the recurrent spikes and the reset (Bellec et al. 2020's numerical check), for LIF and ALIF, both resets, and
    with the feedback matrix in place of w_out^T (random e-prop); the Numba kernel gives the same numbers, also
    through its per-presynaptic trace (LIF, 'subtract', one leak) and beside it."""
    rng = np.random.default_rng(["subtract", "zero"].index(reset) + 2 * alif + 4 * random_feedback + 8 * shared_beta)
    args, spec = _case(rng, reset, alif, random_feedback, shared_beta=shared_beta)
    oracle = _stopped_bptt(args, spec)
    assert 0.02 < oracle[-1].mean() / T < 0.5, "the case should make some spikes, not too many"
    for kernel in (eprop_kernels.eprop_gradients_reference, eprop_kernels.eprop_gradients_kernel):
        for name, want, got in zip(NAMES, oracle, kernel(*args)):
            np.testing.assert_allclose(got, want, rtol=1e-10, atol=1e-12, err_msg=f"{kernel.__name__}: {name}")


@pytest.mark.parametrize("alif", [True, False])
def test_kernel_matches_reference_in_float32(alif):
    """The float32 fast path stays with the reference (same spikes, gradients to float32 rounding); LIF takes the
    per-presynaptic trace, as RecurrentNetwork's LIF networks do."""
    args, _ = _case(np.random.default_rng(10), "subtract", alif, False, dtype=np.float32, shared_beta=True)
    reference, fast = eprop_kernels.eprop_gradients_reference(*args), eprop_kernels.eprop_gradients_kernel(*args)
    for name, want, got in zip(NAMES, reference, fast):
        assert np.asarray(got).dtype in (np.float32, np.float64), name
        np.testing.assert_allclose(got, want, rtol=2e-4, atol=2e-5 * np.max(np.abs(want)), err_msg=name)


THREAD_CHECK = """
import numba, numpy as np
from spikingnn.kernels import eprop, neuron_bptt, surrogates
rng, f = np.random.default_rng(3), np.float32
n_steps, batch, n_in, hidden, classes = 40, 9, 5, 7, 3
x = (rng.random((n_steps, batch, n_in)) < 0.3).astype(f)
w_in, w_rec = rng.normal(0, 0.8, (n_in, hidden)).astype(f), rng.normal(0, 0.5, (hidden, hidden)).astype(f)
w_out, b_out = rng.normal(0, 1, (hidden, classes)).astype(f), rng.normal(0, 0.1, classes).astype(f)
labels, loss_steps = rng.integers(0, classes, batch), np.arange(n_steps) >= 30
neurons = [(np.full(hidden, 0.9, f), f(0), f(0)), (rng.uniform(0.8, 0.95, hidden).astype(f), f(0.97), f(0.2))]
results, rates = [], []
for threads in (1, 2, 3):
    numba.set_num_threads(threads)
    outputs = []
    for beta, rho, beta_adapt in neurons:          # LIF with one leak (the per-presynaptic trace), then ALIF
        outputs += eprop.eprop_gradients_kernel(x, labels, loss_steps, w_in, w_rec, w_out, b_out, w_out, beta,
                                                np.full(hidden, 0.6, f), rho, beta_adapt, f(0.9),
                                                neuron_bptt.RESET_SUBTRACT, surrogates.FAST_SIGMOID, f(3), f(0.5),
                                                f(0.05))
        rates.append(float(outputs[-1].mean()) / n_steps)
    results.append([np.asarray(a).tobytes() for a in outputs])
print(numba.get_num_threads(), results[0] == results[1] == results[2], min(rates), max(rates))
"""


def test_kernel_does_not_depend_on_the_thread_count():
    """Chunks of the batch, each with its own traces and partial gradients added in a fixed order: the kernel is
    bit-identical with 1, 2 and 3 threads (a batch of 9 in 4 chunks; LIF with the per-presynaptic trace, and ALIF).
    Run in a process of its own with 3 Numba threads, so that the comparison is made on a one-core machine too."""
    env = dict(os.environ, NUMBA_NUM_THREADS="3")
    out = subprocess.run([sys.executable, "-c", THREAD_CHECK], env=env, capture_output=True, text=True, check=True)
    threads, same, low, high = out.stdout.split()
    assert (threads, same) == ("3", "True"), out.stderr
    assert 0 < float(low) <= float(high) < 1, "the neurons should spike"


def test_readout_gradient_matches_finite_differences():
    """The read-out's part of the gradient is exact (no path is stopped): central differences of the loss in
    w_out and b_out (the rate regulariser does not depend on them)."""
    args, _ = _case(np.random.default_rng(11), "subtract", True, False)
    args = list(args)
    _, _, d_w_out, d_b_out, *_ = eprop_kernels.eprop_gradients_reference(*args)
    for position, grad in ((5, d_w_out), (6, d_b_out)):
        for index in [(0, 0), (3, 2), (6, 1)] if grad.ndim == 2 else [(0,), (2,)]:
            losses = []
            for step in (1e-6, -1e-6):
                shifted = args.copy()
                shifted[position] = args[position].copy()
                shifted[position][index] += step
                if position == 5:
                    shifted[7] = shifted[5]          # symmetric feedback follows w_out; it does not enter the loss
                losses.append(eprop_kernels.eprop_gradients_reference(*shifted)[4])
            assert (losses[0] - losses[1]) / 2e-6 == pytest.approx(grad[index], rel=1e-5, abs=1e-9)


def _peak_bytes(method, n_steps):
    net = RecurrentNetwork(4, 8, 2, method=method, backend="numpy", dtype="float64", random_state=0)
    rng = np.random.default_rng(0)
    x = (rng.random((n_steps, 2, 4)) < 0.05).astype(np.float64)
    labels, loss_steps = np.array([0, 1]), np.zeros(n_steps, bool)
    loss_steps[-50:] = True
    tracemalloc.start()
    net.gradients(x, labels, loss_steps)
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    return peak


def test_eprop_memory_does_not_grow_with_sequence_length():
    """Peak memory of a gradient computation (NumPy backend, whose arrays tracemalloc sees) at T = 500 and 4,000:
    e-prop keeps a few numbers per synapse, BPTT every state of every step."""
    eprop = [_peak_bytes("eprop", n) for n in (500, 4000)]
    bptt = [_peak_bytes("bptt", n) for n in (500, 4000)]
    assert eprop[1] < 1.2 * eprop[0] + 4096, f"e-prop peak grew with T: {eprop} bytes"
    assert bptt[1] > 5 * bptt[0], f"BPTT's peak should grow with T: {bptt} bytes"
    assert eprop[1] < bptt[1] / 10, f"e-prop {eprop[1]} bytes against BPTT {bptt[1]} at T = 4000"


@pytest.mark.parametrize("method,feedback", [("eprop", "symmetric"), ("eprop", "random"), ("bptt", "symmetric")])
def test_training_learns_a_short_memory_task(method, feedback):
    """One cue, 60 ms of delay (360 steps), short enough for a few fast steps: the loss falls on every method."""
    net = RecurrentNetwork(8, 16, 2, method=method, feedback=feedback, lr=2e-2, random_state=1, rate_reg=0.0)
    make = lambda k: cue_accumulation(16, 1, n_per_group=2, delay_ms=60.0, rng=np.random.default_rng([5, k]))  # noqa: E731
    losses = [net.train_step(*make(k)).loss for k in range(20)]
    assert np.mean(losses[-5:]) < 0.8 * np.mean(losses[:5]), f"{method}/{feedback}: {losses}"


def test_state_arrays_round_trip_and_checks():
    """A network built with another seed, given the state of the first, predicts and learns as the first (random
    feedback included)."""
    first = RecurrentNetwork(8, 16, 2, feedback="random", random_state=1)
    batch = cue_accumulation(4, 3, n_per_group=2, delay_ms=20.0, rng=0)
    first.train_step(*batch)
    second = RecurrentNetwork(8, 16, 2, feedback="random", random_state=2)
    second.load_state_arrays(first.state_arrays())
    np.testing.assert_array_equal(second.predict(batch.x, batch.loss_steps), first.predict(batch.x, batch.loss_steps))
    assert second.train_step(*batch) == first.train_step(*batch)
    for chunk in (1, 3):                         # predict in chunks of sequences decides as in one batch
        np.testing.assert_array_equal(second.predict(batch.x, batch.loss_steps, batch_size=chunk),
                                      second.predict(batch.x, batch.loss_steps))
    with pytest.raises(ValueError, match="batch_size must be an integer >= 1"):
        second.predict(batch.x, batch.loss_steps, batch_size=0)
    with pytest.raises(ValueError, match="param/weights0.*shape \\(8, 17\\)"):
        RecurrentNetwork(8, 17, 2).load_state_arrays(first.state_arrays())


@pytest.mark.parametrize("kwargs,match", [
    ({"n_hidden": 0}, r"n_hidden must be an integer in \[1, 65536\]"),
    ({"n_outputs": 1}, r"n_outputs must be an integer in \[2, 65536\]"),
    ({"tau_mem": -1.0}, "tau_mem must be > 0 ms"),
    ({"method": "rtrl"}, "method must be one of 'bptt', 'eprop'"),
    ({"feedback": "adaptive"}, "feedback must be one of"),
    ({"neuron": "izhikevich"}, "neuron must be one of 'lif', 'alif'"),
    ({"target_rate_hz": 2000.0}, r"target_rate_hz must be in \[0.0, 1000.0\]"),
    ({"surrogate": "fast_sigmoid"}, "surrogate must be a"),
])
def test_bad_arguments_are_refused(kwargs, match):
    with pytest.raises(ValueError, match=match):
        RecurrentNetwork(4, **kwargs)


def test_bad_batches_are_refused():
    net, x = RecurrentNetwork(4, 8, 2), np.zeros((10, 3, 4))
    steps = np.ones(10, bool)
    with pytest.raises(ValueError, match=r"x must have shape \(any, any, 4\)"):
        net.train_step(np.zeros((10, 3, 5)), [0, 1, 0], steps)
    with pytest.raises(ValueError, match=r"loss_steps must be a bool array of shape \(10,\)"):
        net.train_step(x, [0, 1, 0], np.zeros(10, bool))
    with pytest.raises(ValueError, match=r"labels must be 3 integers in \[0, 1\]"):
        net.train_step(x, [0, 2, 0], steps)


def test_cue_accumulation_example_trains_and_resumes(tmp_path, capsys):
    """examples/cue_accumulation.py: a tiny run writes its checkpoint; the same command with more iterations resumes
    from it instead of starting again."""
    import importlib.util
    from pathlib import Path

    path = Path(__file__).parent.parent / "examples" / "cue_accumulation.py"
    spec = importlib.util.spec_from_file_location("cue_accumulation_example", path)
    example = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(example)
    args = ["--hidden", "6", "--batch-size", "2", "--cues", "1", "--eval-every", "2", "--val-trials", "4",
            "--out", str(tmp_path)]
    example.main([*args, "--iterations", "1"])
    with np.load(tmp_path / "checkpoint.npz") as saved:
        assert int(saved["iteration"]) == 1
    example.main([*args, "--iterations", "2"])
    out = capsys.readouterr().out
    assert "resuming from" in out and "iter     2" in out and "validation accuracy" in out


def test_sequential_mnist_example_trains_and_resumes(tmp_path, monkeypatch, capsys):
    """examples/sequential_mnist.py on small synthetic digits: a short run writes its checkpoint; a longer one
    resumes from it, evaluates on held-out images and ends with the test accuracy; a checkpoint of another
    configuration is refused, not overwritten."""
    import importlib.util
    from pathlib import Path

    from spikingnn.viz.demo import synthetic_digits

    path = Path(__file__).parent.parent / "examples" / "sequential_mnist.py"
    spec = importlib.util.spec_from_file_location("sequential_mnist_example", path)
    example = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(example)
    digits = {split: synthetic_digits(n, np.random.default_rng(k)) for k, (split, n) in
              enumerate((("train", 48), ("test", 8)))}
    monkeypatch.setattr(example, "load_mnist", lambda split, data_dir=None: digits[split])
    args = ["--hidden", "6", "--batch-size", "4", "--eval-every", "2", "--loss-steps", "20", "--input", "spikes",
            "--out", str(tmp_path)]
    example.main([*args, "--epochs", "0.25"])                   # 11 batches per epoch: 3 batches
    with np.load(tmp_path / "checkpoint.npz") as saved:
        assert int(saved["iteration"]) == 3 and saved["param/weights0"].shape == (80, 6)
    example.main([*args, "--epochs", "0.5"])
    out = capsys.readouterr().out
    assert "resuming from" in out and "iter     6" in out and "val " in out and "test accuracy" in out
    assert "iter     1 " not in out.split("resuming from")[1]
    with pytest.raises(SystemExit, match="was trained with"):
        example.main([*args[:-2], "--lr", "0.5", "--out", str(tmp_path)])


def test_record_shows_what_predict_decides_from():
    """record(x): the hidden spikes are exactly where v crosses the threshold, an ALIF threshold is above its base
    exactly after the neuron's first spike, and the read-out averaged over the loss steps gives predict's decisions."""
    net = RecurrentNetwork(8, 16, 2, random_state=3)
    batch = cue_accumulation(5, 3, n_per_group=2, delay_ms=20.0, rng=1)
    rec = net.record(batch.x)
    steps, size = batch.x.shape[0], (batch.x.shape[0], 5, 16)
    assert rec.v.shape == rec.thr.shape == rec.s.shape == size and rec.y.shape == (steps, 5, 2)
    np.testing.assert_array_equal(rec.s, (rec.v > rec.thr).astype(rec.s.dtype))
    spiked_before = np.cumsum(rec.s, axis=0) - rec.s > 0           # an earlier spike of that neuron in that trial
    assert rec.s.sum() > 0
    np.testing.assert_array_equal(rec.thr > net.params["v_threshold0"], spiked_before)
    np.testing.assert_array_equal(rec.y[batch.loss_steps].mean(axis=0).argmax(axis=1),
                                  net.predict(batch.x, batch.loss_steps))
