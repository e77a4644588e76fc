"""Spike encoders and decoders, tested from their formulas: binomial statistics of the rate code, the
time-to-first-spike formulas of the latency code, the Cramer-Rao bound of the population code, and pictures
read through pillow."""
import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from PIL import Image

from spikingnn.encoding import (
    decode_latency,
    decode_rate,
    first_spike_steps,
    image_to_spikes,
    latency_encode,
    load_grayscale,
    population_decode,
    population_encode,
    rate_encode,
)

Z = 5.0  # z-score of the statistical bounds: a correct encoder fails one with probability < 1e-6


# ----------------------------------------------------------------------------------------------- rate code
@pytest.mark.parametrize("max_rate, dt", [(1000.0, 1.0), (100.0, 1.0), (63.75, 0.5), (4000.0, 0.1)])
@pytest.mark.parametrize("x", [0.02, 0.3, 0.5, 0.97])
def test_rate_counts_follow_the_binomial_law(x, max_rate, dt):
    """Each of n neurons fires Bernoulli(p) at each of T steps, p = x max_rate dt / 1000: the total count is
    Binomial(nT, p) and each neuron's count has variance T p (1 - p) (steps independent)."""
    rng = np.random.default_rng(12)
    n, steps = 4000, 30
    p = min(x * max_rate * dt / 1000.0, 1.0)
    counts = rate_encode(np.full(n, x), steps, max_rate=max_rate, dt=dt, rng=rng).sum(axis=0)
    total_mean, total_sd = n * steps * p, np.sqrt(n * steps * p * (1 - p))
    assert abs(counts.sum() - total_mean) <= Z * total_sd, f"count {counts.sum()} vs mean {total_mean}"
    var = steps * p * (1 - p)
    # the sample variance of n counts has variance (mu4 - (n - 3) / (n - 1) var^2) / n, with the binomial
    # fourth central moment mu4 = T p q (1 + 3 (T - 2) p q)
    mu4 = var * (1 + 3 * (steps - 2) * p * (1 - p))
    se = np.sqrt(max(mu4 - (n - 3) / (n - 1) * var**2, 0.0) / n)
    assert abs(counts.var(ddof=1) - var) <= Z * se + 1e-12


def test_rate_probability_is_clipped_to_one():
    """p = x max_rate dt / 1000 > 1 is clipped: a neuron cannot fire more than once per step."""
    spikes = rate_encode(np.array([0.5, 1.0]), 20, max_rate=5000.0, dt=1.0, rng=0)
    assert spikes.all()


@given(max_rate=st.floats(0.0, 1e5), dt=st.floats(1e-3, 10.0), steps=st.integers(1, 50),
       shape=st.lists(st.integers(1, 4), max_size=3))
def test_zero_intensity_never_spikes(max_rate, dt, steps, shape):
    """x = 0 gives p = 0 whatever the rate and step; max_rate = 0 silences every neuron."""
    rng = np.random.default_rng(0)
    assert not rate_encode(np.zeros(shape), steps, max_rate=max_rate, dt=dt, rng=rng).any()
    assert not rate_encode(np.ones(shape), steps, max_rate=0.0, dt=dt, rng=rng).any()
    assert rate_encode(np.zeros(shape), steps, rng=rng).shape == (steps, *shape)


def test_same_seed_same_spikes_and_a_generator_draws_fresh_ones():
    x = np.random.default_rng(3).random((4, 5))
    np.testing.assert_array_equal(rate_encode(x, 40, rng=7), rate_encode(x, 40, rng=7))
    assert not np.array_equal(rate_encode(x, 40, rng=7), rate_encode(x, 40, rng=8))
    gen = np.random.default_rng(7)
    first = rate_encode(x, 40, rng=gen)
    np.testing.assert_array_equal(first, rate_encode(x, 40, rng=7))
    assert not np.array_equal(first, rate_encode(x, 40, rng=gen))
    np.testing.assert_array_equal(image_to_spikes(x, size=None, rng=5), rate_encode(x, 25, rng=5))


def test_rate_decoder_reconstructs_an_image_within_binomial_error():
    """x_hat = n / (T p_max) is unbiased with variance p (1 - p) / (T p_max^2): the RMS error over an image
    matches sqrt(mean p (1 - p) / T) / p_max (within 20%: the RMS of 1024 pixels is concentrated)."""
    rng = np.random.default_rng(5)
    image = rng.random((32, 32))
    steps, max_rate, dt = 400, 500.0, 1.0
    p_max = max_rate * dt / 1000.0
    decoded = decode_rate(rate_encode(image, steps, max_rate, dt, rng), max_rate, dt)
    p = image * p_max
    expected_rms = np.sqrt(np.mean(p * (1 - p)) / steps) / p_max
    rms = np.sqrt(np.mean((decoded - image) ** 2))
    assert 0.8 * expected_rms <= rms <= 1.2 * expected_rms
    assert abs(np.mean(decoded - image)) <= Z * expected_rms / np.sqrt(image.size)


# -------------------------------------------------------------------------------------------- latency code
latency_settings = st.one_of(
    st.tuples(st.just("linear"), st.floats(0.0, 0.5)),
    st.tuples(st.just("log"), st.floats(1e-3, 0.5)))


@given(settings=latency_settings, steps=st.integers(2, 100), dt=st.floats(0.05, 2.0),
       tau=st.one_of(st.none(), st.floats(0.1, 500.0)),
       xs=st.lists(st.floats(0.0, 1.0), min_size=2, max_size=30))
def test_latency_brighter_fires_earlier_once_at_most(settings, steps, dt, tau, xs):
    """At most one spike per input; none at or below threshold; the first-spike step never increases with x."""
    method, threshold = settings
    xs = np.sort(np.array(xs))
    spikes = latency_encode(xs, steps, method=method, tau=tau, threshold=threshold, dt=dt)
    assert spikes.shape == (steps, xs.size)
    assert spikes.sum(axis=0).max() <= 1
    assert not spikes[:, xs <= threshold].any()
    k = first_spike_steps(spikes).astype(float)
    k[k < 0] = steps                               # silent = later than any spike
    assert np.all(np.diff(k) <= 0), f"steps {k} for sorted intensities {xs}"


@given(settings=latency_settings, steps=st.integers(2, 100), dt=st.floats(0.05, 2.0),
       tau=st.one_of(st.none(), st.floats(0.1, 500.0)), x=st.floats(0.0, 1.0))
def test_latency_spike_time_is_the_formula_rounded_to_a_step(settings, steps, dt, tau, x):
    """k dt is within dt / 2 of t(x) = tau (1 - x) (linear) or tau ln(x / (x - threshold)) (log); with the
    default tau the linear code maps [0, 1] onto steps T-1 .. 0 and the log code maps 2 threshold to T-1."""
    method, threshold = settings
    if tau is None:
        tau = (steps - 1) * dt / (1.0 if method == "linear" else np.log(2.0))
    k = first_spike_steps(latency_encode(x, steps, method=method, tau=tau, threshold=threshold, dt=dt))
    t = tau * (1 - x) if method == "linear" or x <= threshold else tau * np.log(x / (x - threshold))
    if x <= threshold or t > (steps - 1 + 0.5) * dt * (1 + 1e-9):
        assert k == -1
    elif t < (steps - 1 + 0.5) * dt * (1 - 1e-9):
        assert abs(k * dt - t) <= 0.5 * dt * (1 + 1e-9) + 1e-12


def test_latency_default_window_end_points():
    steps = 11
    linear = first_spike_steps(latency_encode(np.array([1.0, 0.5, 0.02, 0.01, 0.0]), steps))
    np.testing.assert_array_equal(linear, [0, 5, 10, -1, -1])
    log = first_spike_steps(latency_encode(np.array([0.02, 0.0201, 1.0]), steps, method="log", threshold=0.01))
    assert log[0] == steps - 1 and log[1] == steps - 1 and log[2] == 0


@given(settings=latency_settings, steps=st.integers(2, 60), seed=st.integers(0, 2**32 - 1))
def test_latency_decoder_inverts_the_spike_time(settings, steps, seed):
    """x_hat fires at the same step as x (re-encoding the decoded image gives the same spikes); x <= threshold
    decodes to 0; for the linear code |x_hat - x| <= 1 / (2 (T - 1)) for x above threshold."""
    method, threshold = settings
    x = np.random.default_rng(seed).random(200)
    spikes = latency_encode(x, steps, method=method, threshold=threshold)
    decoded = decode_latency(spikes, method=method, threshold=threshold)
    assert np.all(decoded[~spikes.any(axis=0)] == 0)
    fired = spikes.any(axis=0)
    refired = latency_encode(decoded, steps, method=method, threshold=threshold)
    np.testing.assert_array_equal(refired[:, fired & (decoded > threshold)], spikes[:, fired & (decoded > threshold)])
    if method == "linear":
        assert np.all(np.abs(decoded - x)[x > threshold] <= 0.5 / (steps - 1) + 1e-12)


def test_latency_decoder_reconstructs_an_image():
    image = np.random.default_rng(8).random((28, 28))
    steps = 101
    decoded = decode_latency(image_to_spikes(image, size=None, method="latency", num_steps=steps, threshold=0.0))
    np.testing.assert_allclose(decoded, image, atol=0.5 / (steps - 1) + 1e-12)


# ----------------------------------------------------------------------------------------- population code
def test_population_code_decodes_back_near_the_cramer_rao_bound():
    """The ML decoder's error is bounded by the Fisher information of the Bernoulli population,
    I(v) = T sum_j p_j'(v)^2 / (p_j (1 - p_j)): the RMS error is within 1.5x the bound sqrt(mean 1 / I)
    (the ML estimate is asymptotically efficient) and no value is off by more than 6 bound widths."""
    rng = np.random.default_rng(21)
    n_neurons, steps, max_rate, value_range = 12, 60, 400.0, (-2.0, 3.0)
    values = rng.uniform(*value_range, size=(40, 50))
    spikes = population_encode(values, n_neurons, value_range, max_rate=max_rate, num_steps=steps, rng=rng)
    assert spikes.shape == (steps, 40, 50, n_neurons)
    decoded = population_decode(spikes, value_range, max_rate=max_rate)
    centres = np.linspace(*value_range, n_neurons)
    sigma = centres[1] - centres[0]
    f = np.exp(-0.5 * ((values[..., None] - centres) / sigma) ** 2)
    p, dp = 0.4 * f, 0.4 * f * -(values[..., None] - centres) / sigma**2
    fisher = steps * np.sum(dp**2 / (p * (1 - p)), axis=-1)
    bound = np.sqrt(np.mean(1 / fisher))
    err = decoded - values
    assert np.sqrt(np.mean(err**2)) <= 1.5 * bound, (np.sqrt(np.mean(err**2)), bound)
    assert np.abs(err).max() <= 6 * np.sqrt(1 / fisher).max()


def test_population_tuning_curves_peak_at_their_preferred_values():
    """With p_max = 1 the neuron whose preferred value is v fires at every step (f_j(c_j) = 1)."""
    centres = np.linspace(0.0, 1.0, 5)
    spikes = population_encode(centres, 5, num_steps=30, rng=0)
    counts = spikes.sum(axis=0)
    np.testing.assert_array_equal(np.diag(counts), 30)


# ---------------------------------------------------------------------------------------------- pictures
def _gradient(h=12, w=16):
    return (np.arange(h * w).reshape(h, w) * 255 // (h * w - 1)).astype(np.uint8)


def test_load_grayscale_reads_png_and_jpeg(tmp_path):
    pixels = _gradient()
    Image.fromarray(pixels).save(tmp_path / "g.png")
    Image.fromarray(np.stack([pixels] * 3, axis=-1)).save(tmp_path / "g.jpg", quality=95)
    np.testing.assert_array_equal(load_grayscale(tmp_path / "g.png"), pixels / np.float32(255))
    jpeg = load_grayscale(str(tmp_path / "g.jpg"))
    assert jpeg.dtype == np.float32 and jpeg.shape == pixels.shape
    assert np.abs(jpeg - pixels / 255).max() < 0.05              # JPEG is lossy
    spikes = image_to_spikes(tmp_path / "g.png", size=(6, 8), method="latency", num_steps=10)
    assert spikes.shape == (10, 6, 8)


def test_load_grayscale_colour_alpha_and_resize():
    """L = 0.299 R + 0.587 G + 0.114 B; transparent -> white paper; resizing a uniform picture keeps its value."""
    rgb = np.zeros((4, 4, 3), np.uint8)
    rgb[..., 0], rgb[..., 1], rgb[..., 2] = 200, 100, 50
    expected = (0.299 * 200 + 0.587 * 100 + 0.114 * 50) / 255
    assert load_grayscale(rgb) == pytest.approx(np.full((4, 4), expected), abs=1e-6)
    assert load_grayscale(Image.fromarray(rgb)) == pytest.approx(np.full((4, 4), expected), abs=1 / 255)
    rgba = np.concatenate([rgb, np.zeros((4, 4, 1), np.uint8)], axis=-1)
    rgba[:2, :, 3] = 255
    for image in (rgba, Image.fromarray(rgba)):
        gray = load_grayscale(image)
        assert np.all(gray[2:] == 1) and np.all(gray[:2] == pytest.approx(expected, abs=1 / 255))
    resized = load_grayscale(np.full((50, 70), 0.25), size=(7, 5))
    assert resized.shape == (7, 5) and resized == pytest.approx(np.full((7, 5), 0.25), abs=1e-6)
    assert load_grayscale(np.eye(3, dtype=bool)).tolist() == np.eye(3).tolist()
    assert load_grayscale(np.full((2, 2), 65535, np.uint16)).tolist() == [[1.0, 1.0], [1.0, 1.0]]


def test_load_grayscale_rejects_files_that_are_not_images(tmp_path):
    bogus = tmp_path / "notes.png"
    bogus.write_text("this is not a picture")
    with pytest.raises(ValueError, match="notes.png is not a picture pillow can read"):
        load_grayscale(bogus)
    with pytest.raises(FileNotFoundError):
        load_grayscale(tmp_path / "missing.png")


# ------------------------------------------------------------------------------------------- bad input
@pytest.mark.parametrize("call, message", [
    (lambda: rate_encode([0.5, 1.2], 5), r"intensity must be in \[0.0, 1.0\]"),
    (lambda: rate_encode([np.nan], 5), "intensity must be finite"),
    (lambda: rate_encode([0.5], 0), "num_steps must be an integer >= 1"),
    (lambda: rate_encode([0.5], 2.5), "num_steps must be an integer >= 1"),
    (lambda: rate_encode([0.5], True), "num_steps must be an integer >= 1"),
    (lambda: rate_encode([0.5], 5, max_rate=-1.0), "max_rate must be in"),
    (lambda: rate_encode([0.5], 5, dt=0.0), "dt must be > 0 ms"),
    (lambda: rate_encode([0.5], 5, rng="seed"), "seed/rng must be"),
    (lambda: decode_rate(np.zeros((3, 2)), max_rate=0.0), "max_rate \\* dt must be > 0"),
    (lambda: decode_rate(np.zeros((0, 2))), "time axis of length >= 1"),
    (lambda: latency_encode([0.5], 5, method="exp"), "method must be one of 'linear', 'log'"),
    (lambda: latency_encode([0.5], 5, threshold=1.5), r"threshold must be in \[0.0, 1.0\]"),
    (lambda: latency_encode([0.5], 5, method="log", threshold=0.0), r"threshold must be in \(0, 1\)"),
    (lambda: latency_encode([0.5], 5, tau=-2.0), "tau must be > 0 ms"),
    (lambda: latency_encode([0.5], 1), "num_steps must be >= 2 for a latency code"),
    (lambda: latency_encode([-0.5], 5), r"intensity must be in \[0.0, 1.0\]"),
    (lambda: decode_latency(np.zeros(5, bool), method="cubic"), "method must be one of"),
    (lambda: first_spike_steps(np.zeros((0, 3))), "time axis of length >= 1"),
    (lambda: population_encode([0.5], 1), "n_neurons must be an integer >= 2"),
    (lambda: population_encode([0.5], 4, value_range=(1.0, 1.0)), "value_range must be"),
    (lambda: population_encode([0.5], 4, value_range=(0.0, np.inf)), "value_range must be finite"),
    (lambda: population_encode([0.5], 4, sigma=0.0), "sigma must be > 0"),
    (lambda: population_encode([1.5], 4), r"values must be in \[0.0, 1.0\]"),
    (lambda: population_decode(np.zeros(5)), r"spikes must have shape \(T, ..., n_neurons\)"),
    (lambda: population_decode(np.zeros((5, 4)), resolution=1), "resolution must be an integer >= 2"),
    (lambda: load_grayscale(np.zeros((3, 3, 2))), "image array must have shape"),
    (lambda: load_grayscale(np.full((3, 3), 1.5)), r"image must be in \[0.0, 1.0\]"),
    (lambda: load_grayscale(np.full((3, 3), -1, np.int16)), "must not hold negative values"),
    (lambda: load_grayscale(np.zeros((3, 3)), size=(0, 4)), r"size\[0\] \(height\) must be an integer >= 1"),
    (lambda: load_grayscale(np.zeros((3, 3)), size=(4,)), r"size must be \(height, width\)"),
    (lambda: image_to_spikes(np.zeros((3, 3)), method="phase"), "method must be one of 'rate', 'latency'"),
])
def test_bad_input_raises_value_error_naming_the_parameter(call, message):
    with pytest.raises(ValueError, match=message):
        call()
