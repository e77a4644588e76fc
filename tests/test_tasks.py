"""The built-in sequence tasks (spikingnn.tasks): the timing of cue accumulation as the paper gives it, its rates and
cue statistics within binomial bounds, its labels, seeding; sequential and permuted MNIST pixel by pixel, as values
or as threshold-crossing spikes."""
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.stats import binom

from spikingnn.tasks import CUE_GROUPS, cue_accumulation, permuted_mnist, sequential_mnist, threshold_crossings


def test_cue_accumulation_timing_is_the_papers():
    """With certain spikes (rate 1 per step) and no noise, every group fires exactly in its window: cue k during
    [50 + 150 k, 150 + 150 k) ms on its side, the recall during the last 150 ms of 2250."""
    batch, cues = cue_accumulation(6, rate_hz=1000.0, noise_hz=0.0, rng=3, return_cues=True)
    assert batch.x.shape == (2250, 6, 40) and batch.x.dtype == np.float32
    group = batch.x.reshape(2250, 6, len(CUE_GROUPS), 10)
    assert np.all(group == group[..., :1]), "the 10 inputs of a group share their rate"
    for b in range(6):
        for side in (0, 1):
            on = np.zeros(2250, bool)
            for k in np.flatnonzero(cues[b] == side):
                on[50 + 150 * k:150 + 150 * k] = True
            np.testing.assert_array_equal(group[:, b, side, 0], on)
    recall = np.zeros(2250, bool)
    recall[-150:] = True
    np.testing.assert_array_equal(group[:, :, 2, 0], np.repeat(recall[:, None], 6, axis=1))
    assert not group[:, :, 3].any()
    np.testing.assert_array_equal(batch.loss_steps, recall)
    np.testing.assert_array_equal(batch.labels, cues.sum(axis=1) >= 4)


def test_cue_accumulation_steps_scale_with_dt():
    batch = cue_accumulation(2, 3, dt=0.5, delay_ms=100.0, rng=0)
    assert batch.x.shape[0] == (3 * 150 + 100 + 150) * 2 and batch.loss_steps.sum() == 300


def test_cue_accumulation_rates_and_cue_statistics():
    """Firing probabilities 40 Hz x 1 ms during cues and recall, 10 Hz noise throughout, each cue on the majority
    side with p = 0.7 and each side the majority with p = 1/2: all within 5 binomial standard deviations."""
    batch, cues = cue_accumulation(200, rng=1, return_cues=True)
    group = batch.x.reshape(2250, 200, 4, 10)

    def within(count, trials, p):
        assert abs(count - trials * p) < 5 * np.sqrt(trials * p * (1 - p)), (count, trials, p)

    noise = group[:, :, 3]
    within(noise.sum(), noise.size, 0.01)
    recall = group[-150:, :, 2]
    within(recall.sum(), recall.size, 0.04)
    first_cue = group[50:150, np.arange(200), cues[:, 0]]          # (100, 200, 10): the side of the first cue
    within(first_cue.sum(), first_cue.size, 0.04)
    majority_side = cues.sum(axis=1) >= 4
    within(majority_side.sum(), 200, 0.5)
    # cues on the observed majority side: M = max(K, 7 - K) per trial, K ~ Binomial(7, 0.7) on the drawn side
    k = np.arange(8)
    pmf = binom.pmf(k, 7, 0.7)
    m = np.maximum(k, 7 - k)
    mean, var = pmf @ m, pmf @ m ** 2 - (pmf @ m) ** 2
    observed = (cues == majority_side[:, None]).sum()
    assert abs(observed - 200 * mean) < 5 * np.sqrt(200 * var), (observed, 200 * mean)
    np.testing.assert_array_equal(batch.labels, majority_side)


def test_cue_accumulation_is_seeded():
    a, b, c = (cue_accumulation(3, rng=seed) for seed in (7, 7, 8))
    np.testing.assert_array_equal(a.x, b.x)
    np.testing.assert_array_equal(a.labels, b.labels)
    assert not np.array_equal(a.x, c.x)


@pytest.mark.parametrize("kwargs,match", [
    ({"batch_size": 0}, "batch_size must be an integer >= 1"),
    ({"n_cues": 4}, "n_cues must be an odd integer >= 1"),
    ({"p_majority": 0.3}, r"p_majority must be in \[0.5, 1.0\]"),
    ({"dt": 0.0}, r"dt must be in \[0.001, 10.0\]"),
    ({"rate_hz": 5000.0}, r"rate_hz must be in \[0.0, 1000.0\]"),
    ({"cue_spacing_ms": 50.0}, r"cue_spacing_ms must be in \[100.0"),
])
def test_cue_accumulation_refuses_bad_arguments(kwargs, match):
    with pytest.raises(ValueError, match=match):
        cue_accumulation(**{"batch_size": 2, **kwargs})


def test_sequential_mnist_pixel_by_pixel():
    """Step t carries pixel t of each image (row after row), scaled to [0, 1]; the loss looks at the last step."""
    rng = np.random.default_rng(0)
    images, labels = rng.integers(0, 256, (5, 28, 28), dtype=np.uint8), np.arange(5)
    batch = sequential_mnist(images, labels)
    assert batch.x.shape == (784, 5, 1)
    np.testing.assert_allclose(batch.x[:, :, 0], images.reshape(5, 784).T / 255.0, rtol=1e-6)
    assert batch.loss_steps.sum() == 1 and batch.loss_steps[-1]
    np.testing.assert_array_equal(batch.labels, labels)


def test_permuted_mnist_is_one_fixed_permutation():
    rng = np.random.default_rng(1)
    images = rng.random((4, 784))
    labels = np.zeros(4, int)
    first, again = permuted_mnist(images, labels, rng=3), permuted_mnist(images[::-1], labels, rng=3)
    order = np.random.default_rng(3).permutation(784)
    np.testing.assert_allclose(first.x[:, :, 0], images[:, order].T.astype(np.float32))
    np.testing.assert_array_equal(again.x[:, ::-1], first.x)          # the same permutation for any images
    assert not np.array_equal(permuted_mnist(images, labels, rng=4).x, first.x)


@pytest.mark.parametrize("images,labels,permutation,match", [
    (np.zeros((2, 4, 4), np.int32), [0, 1], None, "images must be uint8"),
    (np.full((2, 16), 2.0), [0, 1], None, r"images must be in \[0.0, 1.0\]"),
    (np.zeros((2, 16)), [0], None, "labels must be 2 integers"),
    (np.zeros((2, 16)), [0, 1], np.arange(15), r"permutation must be a permutation of range\(16\)"),
    (np.zeros(16), [0], None, r"images must have shape \(B, height, width\)"),
])
def test_sequential_mnist_refuses_bad_input(images, labels, permutation, match):
    with pytest.raises(ValueError, match=match):
        sequential_mnist(images, labels, permutation)


@settings(max_examples=60, deadline=None)
@given(st.integers(1, 12), st.integers(1, 30), st.integers(0, 2**32 - 1))
def test_threshold_crossings_carry_the_value_to_within_a_level(n_levels, n_steps, seed):
    """Up minus down spikes of level k, summed up to step t, is 1 exactly when x[t] >= theta_k (0 otherwise): the
    spikes decode to the value rounded down to a level, and every spike is a 0 / 1 event."""
    rng = np.random.default_rng(seed)
    values = rng.choice(np.linspace(0.0, 1.0, 11), size=(n_steps, 3))       # includes exact level values
    spikes = threshold_crossings(values, n_levels)
    assert spikes.shape == (n_steps, 3, 2 * n_levels) and spikes.dtype == np.float32
    assert set(np.unique(spikes)) <= {0.0, 1.0}
    above = np.cumsum(spikes[:, :, :n_levels] - spikes[:, :, n_levels:], axis=0)
    levels = (np.arange(n_levels) + 0.5) / n_levels
    np.testing.assert_array_equal(above, (values[:, :, None] >= levels).astype(np.float32))


def test_threshold_crossings_of_a_rise_and_a_fall():
    """0 -> 0.8 fires the up-neurons of the levels 0.125 .. 0.625 at once; 0.8 -> 0.3 fires the down-neurons of
    0.375 .. 0.625; a constant value fires nothing."""
    spikes = threshold_crossings(np.array([[0.8], [0.8], [0.3]]), 4)          # levels 0.125, 0.375, 0.625, 0.875
    np.testing.assert_array_equal(spikes[:, 0], [[1, 1, 1, 0, 0, 0, 0, 0], [0] * 8, [0, 0, 0, 0, 0, 1, 1, 0]])


def test_sequential_mnist_as_spikes():
    rng = np.random.default_rng(2)
    images = rng.integers(0, 256, (3, 28, 28), dtype=np.uint8)
    batch = sequential_mnist(images, np.arange(3), n_levels=40)
    assert batch.x.shape == (784, 3, 80)
    np.testing.assert_array_equal(batch.x, threshold_crossings(sequential_mnist(images, np.arange(3)).x, 40))
    np.testing.assert_array_equal(permuted_mnist(images, np.arange(3), rng=5, n_levels=40).x,
                                  threshold_crossings(permuted_mnist(images, np.arange(3), rng=5).x, 40))


@pytest.mark.parametrize("values,n_levels,match", [
    (np.zeros((3, 2, 2)), 4, r"values must have shape \(T, B\) or \(T, B, 1\)"),
    (np.full((3, 2), 1.5), 4, r"values must be in \[0.0, 1.0\]"),
    (np.zeros((3, 2)), 0, r"n_levels must be an integer in \[1, 1024\]"),
    (np.zeros((3, 2)), 2.5, r"n_levels must be an integer in \[1, 1024\]"),
])
def test_threshold_crossings_refuse_bad_input(values, n_levels, match):
    with pytest.raises(ValueError, match=match):
        threshold_crossings(values, n_levels)
