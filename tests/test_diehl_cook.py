"""The Diehl & Cook (2015) network: fused kernel against the NumPy reference, the rest in closed form,
labelling and classification, input statistics, checkpoints and resuming (the units and the learning pieces, and
the kernel against the network composed from them: tests/test_one_book.py)."""
import dataclasses
import json
import os
import signal

import numpy as np
import pytest

from spikingnn.diehl_cook import (
    DiehlCookNetwork,
    DiehlCookParams,
    RunningAccuracy,
    assign_labels,
    class_proportions,
    classify,
    classify_by_proportions,
    poisson_events,
)
from spikingnn.kernels.diehl_cook import State, rest_kernel, rest_reference, run_steps_kernel, run_steps_reference
from spikingnn.stdp import normalize_columns

N_INPUT = 64          # 8x8 "images" keep the tests fast; the network is the same for any input size
SMALL = DiehlCookParams(weight_sum=78.0 * N_INPUT / 784)   # the same mean weight as with 784 inputs


def blob_images(rng, n_images, size=8):
    """Bright random blobs on black, like small digits (uint8 pixels)."""
    images = np.zeros((n_images, size, size), dtype=np.uint8)
    for image in images:
        r, c = rng.integers(1, size - 3, size=2)
        image[r:r + 3, c:c + 3] = rng.integers(150, 256, size=(3, 3))
    return images


def small_network(backend="numba", seed=0, n_neurons=10):
    return DiehlCookNetwork(n_neurons=n_neurons, n_input=N_INPUT, params=SMALL, seed=seed, backend=backend)


def copy_state(state):
    return State(*(a.copy() for a in state))


def assert_states_close(a, b, atol=1e-9):
    for name in State._fields:
        np.testing.assert_allclose(getattr(a, name), getattr(b, name), rtol=1e-9, atol=atol, err_msg=name)


@pytest.mark.parametrize("learn", [True, False])
def test_fused_kernel_matches_numpy_reference(learn):
    """Same seed, same images: the same spikes each presentation and the same final weights and state."""
    rng = np.random.default_rng(0)
    fast, slow = small_network("numba"), small_network("numpy")
    total = 0
    for image in blob_images(rng, 4):
        counts_fast, counts_slow = fast.present(image, learn), slow.present(image, learn)
        np.testing.assert_array_equal(counts_fast, counts_slow)
        total += counts_fast.sum()
    assert total >= 4 * fast.params.min_spikes
    assert_states_close(fast.state, slow.state)


def test_short_traces_over_a_long_presentation_match_the_reference():
    """The kernel stores traces divided by their decay since its loop began; with tau = 0.25 ms that decay passes
    1e-200 after ~230 steps of a 700-step presentation, where the stored values are rescaled (without that,
    1 / decay overflows and the weights turn to NaN)."""
    params = dataclasses.replace(SMALL, tau_pre=0.25, tau_post1=0.25, tau_post2=0.25)
    rng = np.random.default_rng(4)
    fast, slow = (DiehlCookNetwork(n_neurons=10, n_input=N_INPUT, params=params, seed=0, backend=backend)
                  for backend in ("numba", "numpy"))
    for image in blob_images(rng, 2):
        np.testing.assert_array_equal(fast.present(image), slow.present(image))
    assert np.all(np.isfinite(fast.state.w))
    assert_states_close(fast.state, slow.state)


def test_kernel_and_reference_agree_step_by_step_with_heavy_input():
    """Dense input events and membranes near threshold: every step's spike counts agree."""
    rng = np.random.default_rng(1)
    params = SMALL
    net = small_network()
    constants = params.constants()
    event_ptr, event_inputs = poisson_events(rng.uniform(0, 200, N_INPUT), 200, params.dt, rng)
    a, b = copy_state(net.state), copy_state(net.state)
    for t in range(200):
        counts_a, counts_b = np.zeros(10, np.int64), np.zeros(10, np.int64)
        ptr = event_ptr[t:t + 2] - event_ptr[t]
        inputs = event_inputs[event_ptr[t]:event_ptr[t + 1]]
        run_steps_kernel(a, constants, ptr, inputs, True, counts_a)
        run_steps_reference(b, constants, ptr, inputs, True, counts_b)
        np.testing.assert_array_equal(counts_a, counts_b, err_msg=f"step {t}")
    assert_states_close(a, b)


@pytest.mark.parametrize("rest", [rest_kernel, rest_reference])
def test_rest_in_closed_form_equals_stepping_through_it(rest):
    """From a state like the end of a presentation (conductances high, some neurons refractory, traces up),
    the closed-form rest lands where stepping 300 silent steps lands, and it really skipped most of them."""
    rng = np.random.default_rng(2)
    params = SMALL
    net = small_network()
    n = net.n_neurons
    s = net.state
    s.v_e[:], s.v_i[:] = rng.uniform(-80, -53, n), rng.uniform(-70, -41, n)
    s.ge_e[:], s.gi_e[:], s.ge_i[:], s.gi_i[:] = rng.uniform(0, 3, n), rng.uniform(0, 60, n), rng.uniform(0, 12, n), 0.0
    s.refractory_e[:], s.refractory_i[:] = rng.integers(0, 11, n), rng.integers(0, 5, n)
    s.x_pre[:], s.x_post1[:], s.x_post2[:] = rng.uniform(0, 1, N_INPUT), rng.uniform(0, 1, n), rng.uniform(0, 1, n)
    closed, stepped = copy_state(s), copy_state(s)
    n_stepped = rest(closed, params.constants(), 300, True)
    run_steps_kernel(stepped, params.constants(), np.zeros(301, np.int64), np.zeros(0, np.int64), True,
                     np.zeros(n, np.int64))
    assert n_stepped < 200
    assert np.any(closed.refractory_e != s.refractory_e) and np.all(closed.ge_e == 0.0)
    assert_states_close(closed, stepped, atol=1e-9)


def test_rest_is_stepped_when_a_neuron_would_fire_at_rest():
    """A threshold below v_rest (theta decayed away) makes neurons fire in silence: no closed form then."""
    params = DiehlCookParams()
    net = DiehlCookNetwork(n_neurons=5, n_input=N_INPUT, params=params, seed=0)
    net.theta[:] = 5.0                                 # threshold -52 - 20 + 5 = -67 mV < v_rest = -65 mV
    closed, stepped = copy_state(net.state), copy_state(net.state)
    assert rest_kernel(closed, params.constants(), 300, True) == 300
    run_steps_kernel(stepped, params.constants(), np.zeros(301, np.int64), np.zeros(0, np.int64), True,
                     np.zeros(5, np.int64))
    assert_states_close(closed, stepped, atol=0.0)


def test_no_input_no_spikes_boosts_to_the_cap_and_theta_decays_in_closed_form():
    """A black image never makes the network fire: it is shown max_presentations times (350 + 150 ms each),
    during which theta only decays: theta = theta_init exp(-T / tau_theta)."""
    params = DiehlCookParams(max_presentations=7)
    net = DiehlCookNetwork(n_neurons=6, n_input=N_INPUT, params=params, seed=0)
    counts = net.present(np.zeros(N_INPUT), learn=True)
    assert counts.sum() == 0
    elapsed = 7 * (params.presentation + params.rest)
    np.testing.assert_allclose(net.theta, params.theta_init * np.exp(-elapsed / params.tau_theta), rtol=1e-12)


def test_training_keeps_weights_in_bounds_and_columns_normalised():
    rng = np.random.default_rng(3)
    net = small_network()
    for image in blob_images(rng, 5):
        net.present(image, learn=True)
    assert net.weights.min() >= 0.0 and net.weights.max() <= net.params.w_max
    normalize_columns(net.weights, net.params.weight_sum)
    np.testing.assert_allclose(net.weights.sum(axis=0), net.params.weight_sum, rtol=1e-12)


def test_poisson_events_are_sorted_and_have_binomial_counts():
    rng = np.random.default_rng(4)
    rates = np.array([0.0, 10.0, 63.75, 200.0])
    n_steps, dt, trials = 700, 0.5, 400
    counts = np.zeros((trials, 4))
    for k in range(trials):
        event_ptr, event_inputs = poisson_events(rates, n_steps, dt, rng)
        assert event_ptr[0] == 0 and event_ptr[-1] == len(event_inputs) and np.all(np.diff(event_ptr) >= 0)
        for t in np.flatnonzero(np.diff(event_ptr) > 1):       # each input fires at most once per step
            assert np.all(np.diff(event_inputs[event_ptr[t]:event_ptr[t + 1]]) > 0)
        counts[k] = np.bincount(event_inputs, minlength=4)
    p = rates * dt / 1000
    mean, std = n_steps * p, np.sqrt(n_steps * p * (1 - p))
    assert counts[:, 0].max() == 0
    assert np.all(np.abs(counts.mean(axis=0) - mean) <= 5 * std / np.sqrt(trials) + 1e-12)
    assert np.all(np.abs(counts.std(axis=0) - std) <= 0.15 * std + 1e-12)
    with pytest.raises(ValueError, match="rates"):
        poisson_events(np.array([3000.0]), 10, 0.5, rng)


def test_labelling_and_classification_on_hand_made_responses():
    labels = np.array([0, 0, 1, 1, 2])
    responses = np.array([[5, 0, 1, 0],     # neuron 0 fires for class 0, 1 for class 1, 2 for class 2,
                          [3, 0, 1, 0],     # neuron 3 never fires
                          [0, 4, 1, 0],
                          [1, 6, 0, 0],
                          [0, 0, 9, 0]])
    assignments = assign_labels(responses, labels, n_classes=3)
    np.testing.assert_array_equal(assignments, [0, 1, 2, -1])
    # Class 1 has neurons 1 and 4 (mean of their counts), class 0 has neuron 0.
    assignments = np.array([0, 1, 2, 1])
    predictions = classify(np.array([[4, 2, 0, 0], [1, 3, 0, 3], [0, 0, 0, 0], [0, 0, 1, 0]]), assignments, 3)
    np.testing.assert_array_equal(predictions, [0, 1, 0, 2])
    # A class without neurons never wins, even against a zero score.
    np.testing.assert_array_equal(classify(np.array([[0, 0]]), np.array([1, 1]), 3), [1])


def test_proportion_weighting_on_hand_made_responses():
    """Neuron 0 answers class 0 with 4 spikes and class 1 with 1 (proportions 0.8 / 0.2), neuron 1 class 1 only,
    neuron 2 never fires (no vote). Its strongest-class label would let neuron 0 vote for class 0 alone."""
    labels = np.array([0, 0, 1, 1])
    responses = np.array([[4, 0, 0], [4, 0, 0], [1, 2, 0], [1, 2, 0]])
    proportions = class_proportions(responses, labels, n_classes=2)
    np.testing.assert_allclose(proportions, [[0.8, 0.2], [0.0, 1.0], [0.0, 0.0]])
    np.testing.assert_allclose(proportions[:2].sum(axis=1), 1.0)
    # 5 spikes of neuron 0 and 2 of neuron 1: class 0 scores 4.0, class 1 1.0 + 2.0 = 3.0
    np.testing.assert_array_equal(classify_by_proportions(np.array([[5, 2, 9], [1, 2, 0]]), proportions), [0, 1])
    # where the read-outs differ: 3 and 2 spikes. The mean read-out compares neuron 0 (label 0) with neuron 1
    # (label 1): class 0. Proportions: 0.8 * 3 = 2.4 for class 0 against 0.2 * 3 + 2 = 2.6 for class 1.
    assert classify(np.array([[3, 2, 0]]), assign_labels(responses, labels, 2), 2)[0] == 0
    assert classify_by_proportions(np.array([[3, 2, 0]]), proportions)[0] == 1


def test_running_accuracy_scores_with_the_labels_of_the_images_before():
    running = RunningAccuracy(n_neurons=2, window=4, relabel_every=2, n_classes=2)
    running.add(np.array([3, 0]), 0)
    running.add(np.array([0, 3]), 1)
    assert np.isnan(running.accuracy)
    np.testing.assert_array_equal(running.assignments, [0, 1])
    running.add(np.array([5, 1]), 0)        # right
    running.add(np.array([5, 1]), 1)        # wrong
    assert running.accuracy == 0.5


def test_checkpoint_round_trip(tmp_path):
    rng = np.random.default_rng(5)
    net = small_network(seed=7)
    for image in blob_images(rng, 2):
        net.present(image)
    net.images_seen, net.assignments = 2, np.arange(10) % 10
    net.save(tmp_path / "net.npz")
    loaded = DiehlCookNetwork.load(tmp_path / "net.npz")
    assert_states_close(net.state, loaded.state, atol=0.0)
    assert dataclasses.asdict(loaded.params) == dataclasses.asdict(net.params)
    assert loaded.images_seen == 2 and loaded.n_input == N_INPUT
    np.testing.assert_array_equal(loaded.assignments, net.assignments)
    assert loaded.rng.random() == net.rng.random()
    assert not any(name.endswith(".part") for name in os.listdir(tmp_path))


def test_loading_a_foreign_file_raises_a_clear_error(tmp_path):
    np.savez(tmp_path / "other.npz", weights=np.zeros(3))
    with pytest.raises(ValueError, match="not a Diehl & Cook checkpoint"):
        DiehlCookNetwork.load(tmp_path / "other.npz")


def test_resumed_training_equals_uninterrupted_training(tmp_path):
    images = blob_images(np.random.default_rng(6), 6)
    straight = small_network(seed=3).train(images, progress=False)
    first = small_network(seed=3).train(images[:3], progress=False, checkpoint=tmp_path / "ckpt.npz")
    assert first.images_seen == 3
    resumed = DiehlCookNetwork.load(tmp_path / "ckpt.npz").train(images, progress=False)
    assert resumed.images_seen == 6
    assert_states_close(straight.state, resumed.state, atol=0.0)


def test_a_training_pass_labels_the_neurons_from_its_last_images():
    """train(images, labels, label_window=W) labels the neurons as assign_labels does from the responses to the last
    W training images, recorded while learning (the same counts a by-hand loop of present() returns)."""
    images = blob_images(np.random.default_rng(8), 12)
    labels = np.arange(12) % 3
    net = small_network(seed=5).train(images, labels, progress=False, label_window=8)
    by_hand = small_network(seed=5)
    counts = np.array([by_hand.present(image) for image in images])
    np.testing.assert_array_equal(net.assignments, assign_labels(counts[-8:], labels[-8:]))
    assert net.recent.images_kept == 8 and np.any(net.assignments >= 0)


def test_one_pass_labels_both_ways_and_tests_with_each():
    """labelling='both': the training labelling (kept by the network) and a frozen pass over the same last images,
    which labels as label_neurons does; each is scored on the test images, and the phases are timed."""
    from spikingnn.diehl_cook import one_pass

    rng = np.random.default_rng(11)
    images, labels = blob_images(rng, 10), np.arange(10) % 2
    net = small_network(seed=2)
    figures = one_pass(net, (images, labels), (images[:6], labels[:6]), label_images=4, labelling="both",
                       progress=False)
    assert set(figures["seconds"]) == {"training", "labelling", "testing"}
    assert figures["test_accuracy"] == figures["test_accuracy_training_labels"]
    assert 0.0 <= figures["test_accuracy_frozen_labels"] <= 1.0 and figures["images_trained"] == 10
    np.testing.assert_array_equal(net.assignments, net.recent.labelling())
    # the same protocol by hand, on a twin network (same seed, so the same input spikes)
    twin = small_network(seed=2).train(images, labels, progress=False, label_window=4)
    frozen, responses = twin.responses(images[-4:]), twin.responses(images[:6])
    for how, proportions in (("training", class_proportions(*twin.recent.kept())),
                             ("frozen", class_proportions(frozen, labels[-4:]))):
        assert figures[f"test_accuracy_{how}_labels_proportions"] == np.mean(
            classify_by_proportions(responses, proportions) == labels[:6])
    assert figures["test_accuracy_frozen_labels"] == np.mean(
        classify(responses, assign_labels(frozen, labels[-4:])) == labels[:6])
    with pytest.raises(ValueError, match="labelling"):
        one_pass(net, (images, labels), (images, labels), labelling="twice")


def test_resumed_training_keeps_the_responses_for_the_labelling(tmp_path):
    images, labels = blob_images(np.random.default_rng(6), 7), np.arange(7) % 2
    straight = small_network(seed=3).train(images, labels, progress=False, label_window=5)
    small_network(seed=3).train(images[:4], labels[:4], progress=False, checkpoint=tmp_path / "c.npz", label_window=5)
    resumed = DiehlCookNetwork.load(tmp_path / "c.npz").train(images, labels, progress=False, label_window=5)
    np.testing.assert_array_equal(resumed.assignments, straight.assignments)
    for name, array in straight.recent.to_arrays().items():
        np.testing.assert_array_equal(resumed.recent.to_arrays()[name], array, err_msg=name)


def test_a_checkpoint_with_arrays_of_the_wrong_shape_is_refused(tmp_path):
    net = small_network()
    net.train(blob_images(np.random.default_rng(1), 2), np.array([0, 1]), progress=False, label_window=4)
    net.save(tmp_path / "net.npz")
    with np.load(tmp_path / "net.npz") as data:
        arrays = dict(data)
    for name, bad in (("w", np.zeros(1)), ("recent_responses", np.zeros((10**3, 10))),
                      ("recent_counters", np.array([4, 1000, 10, 5, 9]))):
        np.savez(tmp_path / "bad.npz", **{**arrays, name: bad})
        with pytest.raises(ValueError, match="not a Diehl & Cook checkpoint"):
            DiehlCookNetwork.load(tmp_path / "bad.npz")


def test_annealed_learning_rates_fall_linearly_over_one_pass():
    """nu_final = 0.5 over 4 images: image k learns with both rates times 1 - 0.5 k / 4; rates times 0 learn nothing."""
    images = blob_images(np.random.default_rng(9), 4)
    annealed = DiehlCookNetwork(10, N_INPUT, dataclasses.replace(SMALL, nu_final=0.5), seed=2)
    annealed.train(images, progress=False)
    by_hand = small_network(seed=2)
    for k, image in enumerate(images):
        by_hand.present(image, learn=True, nu_scale=1.0 - 0.5 * k / 4)
    assert_states_close(annealed.state, by_hand.state, atol=0.0)
    assert not np.allclose(small_network(seed=2).train(images, progress=False).state.w, annealed.state.w)
    frozen = small_network(seed=2)
    normalised = frozen.state.w.copy()
    normalize_columns(normalised, SMALL.weight_sum)
    frozen.present(images[0], learn=True, nu_scale=0.0)
    np.testing.assert_allclose(frozen.state.w, normalised, rtol=1e-12)
    with pytest.raises(ValueError, match="nu_final"):
        DiehlCookParams(nu_final=1.5)


def test_ctrl_c_finishes_the_image_saves_and_raises(tmp_path):
    images = blob_images(np.random.default_rng(7), 6)
    net = small_network(seed=4)
    present = net.present

    def present_then_interrupt(image, learn=True, **rates):
        counts = present(image, learn, **rates)
        if net.images_seen == 1:
            signal.raise_signal(signal.SIGINT)   # Ctrl-C while the second image is being learned
        return counts

    net.present = present_then_interrupt
    handler_before = signal.getsignal(signal.SIGINT)    # Python's, or SIG_IGN in a background job of a script
    with pytest.raises(KeyboardInterrupt):
        net.train(images, progress=False, checkpoint=tmp_path / "ckpt.npz", checkpoint_every=100)
    assert net.images_seen == 2
    saved = DiehlCookNetwork.load(tmp_path / "ckpt.npz")
    assert saved.images_seen == 2
    assert_states_close(saved.state, net.state, atol=0.0)
    assert signal.getsignal(signal.SIGINT) is handler_before   # the Ctrl-C handler was restored


def test_label_and_predict_learn_something_on_separable_blobs():
    """Two blob positions, a few neurons: after training, labelling gives better than chance."""
    rng = np.random.default_rng(8)
    images = np.zeros((40, 8, 8), dtype=np.uint8)
    labels = rng.integers(0, 2, size=40)
    for image, label in zip(images, labels):
        image[1:4, 1:4] = 255 if label == 0 else 0
        image[4:7, 4:7] = 255 if label == 1 else 0
    net = small_network(seed=5, n_neurons=6).train(images[:20], progress=False)
    with pytest.raises(ValueError, match="label_neurons"):
        net.predict(images[:2])
    net.label_neurons(images[:20], labels[:20])
    assert (net.predict(images[20:]) == labels[20:]).mean() >= 0.8


def test_invalid_parameters_raise_value_errors():
    with pytest.raises(ValueError, match="tau_mem_e"):
        DiehlCookParams(tau_mem_e=0.0)
    with pytest.raises(ValueError, match="threshold"):
        DiehlCookParams(v_threshold_i=-50.0)
    with pytest.raises(ValueError, match="backend"):
        DiehlCookNetwork(n_neurons=3, backend="cuda")
    with pytest.raises(ValueError, match="image"):
        small_network().present(np.zeros(10))


def _load_example():
    import importlib.util
    from pathlib import Path

    path = Path(__file__).resolve().parents[1] / "examples" / "stdp_mnist.py"
    spec = importlib.util.spec_from_file_location("stdp_mnist_example", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _tiny_mnist(folder):
    """IDX files of 28x28 bright blobs (label = blob position): 60 training and 20 test images."""
    from spikingnn.datasets import write_idx

    rng = np.random.default_rng(10)
    for split, n in (("train", 60), ("t10k", 20)):
        labels = rng.integers(0, 2, n).astype(np.uint8)
        images = np.zeros((n, 28, 28), np.uint8)
        for image, label in zip(images, labels):
            image[4:12, 4:12] = 255 if label == 0 else 0
            image[16:24, 16:24] = 255 if label == 1 else 0
        write_idx(folder / "mnist" / f"{split}-images-idx3-ubyte.gz", images)
        write_idx(folder / "mnist" / f"{split}-labels-idx1-ubyte.gz", labels)
    return folder


def test_stdp_example_trains_resumes_after_ctrl_c_and_reports(tmp_path, monkeypatch, capsys):
    """examples/stdp_mnist.py end to end: the options reach the parameters; Ctrl-C at image 20 leaves a checkpoint
    from which --resume ends with exactly the network of an uninterrupted run."""
    example, data = _load_example(), _tiny_mnist(tmp_path / "data")
    argv = ["--n-neurons", "6", "--train-images", "40", "--test-images", "20", "--checkpoint-every", "10",
            "--max-rate", "95.625", "--nu-final", "0", "--set", "w_ie=42", "--data-dir", str(data / "mnist")]
    assert example.main(argv + ["--out", str(tmp_path / "straight")]) == 0
    results = json.loads((tmp_path / "straight" / "results.json").read_text())
    assert (results["params"]["max_rate"], results["params"]["nu_final"], results["train_images"]) == (95.625, 0.0, 40)
    assert 0.0 <= results["test_accuracy"] <= 1.0
    straight = DiehlCookNetwork.load(tmp_path / "straight" / "network.npz")
    assert (straight.params.max_rate, straight.params.rate_boost, straight.params.nu_final) == (95.625, 47.8125, 0.0)
    assert straight.params.w_ie == 42.0
    with pytest.raises(SystemExit, match="not a DiehlCookParams field"):
        example.main(argv + ["--set", "w_ei2=1", "--out", str(tmp_path / "bad")])

    present = DiehlCookNetwork.present

    def ctrl_c_at_image_20(self, image, learn=True, **rates):
        if learn and self.images_seen == 20:
            signal.raise_signal(signal.SIGINT)
        return present(self, image, learn, **rates)

    monkeypatch.setattr(DiehlCookNetwork, "present", ctrl_c_at_image_20)
    assert example.main(argv + ["--out", str(tmp_path / "resumed")]) == 130
    assert "--resume" in capsys.readouterr().out
    monkeypatch.setattr(DiehlCookNetwork, "present", present)
    assert example.main(argv + ["--out", str(tmp_path / "resumed"), "--resume"]) == 0
    resumed = DiehlCookNetwork.load(tmp_path / "resumed" / "network.npz")
    assert resumed.images_seen == 40
    assert_states_close(straight.state, resumed.state, atol=0.0)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_event_kernel_draws_what_the_numpy_reference_draws(seed):
    """Same Generator state, same events (the compiled generator makes the very same draws), and the Generator
    is left in the same state."""
    from spikingnn.kernels.diehl_cook import events_kernel, events_reference

    p = np.random.default_rng(seed).uniform(0, 0.2, 50)
    p[::7] = 0.0
    a, b = np.random.default_rng(seed), np.random.default_rng(seed)
    for expected, got in zip(events_reference(p, 300, a), events_kernel(p, 300, b)):
        np.testing.assert_array_equal(got, expected)
    assert a.random() == b.random()


def test_quiet_inhibitory_neurons_wake_where_the_reference_steps_them():
    """One long kernel run, in which I neurons go quiet (no conductance left), are skipped, and wake when their E
    partner fires again: the same spikes and the same final state as the reference, which steps every neuron."""
    rng = np.random.default_rng(5)
    params = dataclasses.replace(SMALL, w_ei=30.0)          # every E spike makes its I partner fire
    net = small_network()
    constants = params.constants()
    event_ptr, event_inputs = poisson_events(rng.uniform(0, 120, N_INPUT), 800, params.dt, rng)
    fast, slow = copy_state(net.state), copy_state(net.state)
    counts_fast, counts_slow = np.zeros(10, np.int64), np.zeros(10, np.int64)
    run_steps_kernel(fast, constants, event_ptr, event_inputs, True, counts_fast)
    run_steps_reference(slow, constants, event_ptr, event_inputs, True, counts_slow)
    np.testing.assert_array_equal(counts_fast, counts_slow)
    # 800 steps (400 ms) while an I neuron's conductance vanishes within ~60 steps: with 5 or more E spikes, partners
    # went quiet and woke again
    assert counts_fast.sum() >= 5
    assert_states_close(fast, slow)
