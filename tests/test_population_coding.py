"""Population coding (NEF): tuning curves from the LIF f-I curve, regularised decoders, decoding spikes."""
import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from scipy.signal import lfilter

from spikingnn.neurons import lif_rate
from spikingnn.population_coding import (
    Ensemble,
    EnsembleParams,
    filter_spikes,
    gain_and_bias,
    sample_unit_ball,
    sample_unit_sphere,
    solve_decoders,
)


def decoding_rmse(n_neurons, dimensions, function, seed, reg=0.1):
    """RMSE of decoding ``function`` from the rates of a fresh population, at points not used for the fit."""
    rng = np.random.default_rng(seed)
    ensemble = Ensemble.random(EnsembleParams(n_neurons=n_neurons, dimensions=dimensions), rng)
    fit_points, test_points = sample_unit_ball(500, dimensions, rng), sample_unit_ball(500, dimensions, rng)
    decoders = solve_decoders(ensemble.rates(fit_points), function(fit_points), reg=reg)
    return np.sqrt(np.mean((ensemble.rates(test_points) @ decoders - function(test_points)) ** 2))


@given(max_rate=st.floats(20.0, 400.0), intercept=st.floats(-0.99, 0.99),
       tau_mem=st.floats(5.0, 100.0), refractory=st.floats(0.0, 2.0))
def test_gain_and_bias_place_the_intercept_and_the_maximum_rate(max_rate, intercept, tau_mem, refractory):
    """(3): J = 1 (the rheobase) at <e, x> = c, and the f-I curve gives the maximum rate at <e, x> = 1."""
    gain, bias = gain_and_bias(max_rate, intercept, tau_mem, refractory)
    assert gain * intercept + bias == pytest.approx(1.0, abs=1e-9)
    assert lif_rate(gain + bias, tau_mem=tau_mem, refractory=refractory) == pytest.approx(max_rate, rel=1e-9)


def test_tuning_curves_are_zero_below_the_intercept_and_non_decreasing_along_the_encoder():
    """a_i(t e_i) = 0 for t below the intercept c_i, > 0 above it, and never decreases with t."""
    params = EnsembleParams(n_neurons=40, dimensions=3)
    ensemble = Ensemble.random(params, np.random.default_rng(0))
    t = np.linspace(-1.0, 1.0, 2001)
    along = t[:, None, None] * ensemble.encoders[None]             # (T, n, D): each neuron's own direction
    rates = ensemble.rates(along)[:, np.arange(40), np.arange(40)]  # (T, n): neuron i at t e_i
    intercepts = (1.0 - ensemble.bias) / ensemble.gain
    assert np.all((intercepts > params.intercepts[0] - 1e-9) & (intercepts < params.intercepts[1] + 1e-9))
    below, above = t[:, None] < intercepts - 1e-6, t[:, None] > intercepts + 1e-6
    assert np.all(rates[below] == 0.0)
    assert np.all(rates[above] > 0.0)
    assert np.all(np.diff(rates, axis=0) >= 0.0)
    assert np.all((rates[-1] >= params.max_rates[0] - 1e-6) & (rates[-1] <= params.max_rates[1] + 1e-6))


def test_sampled_directions_are_unit_and_ball_points_fill_the_ball_uniformly():
    """|e| = 1; in D dimensions the fraction of the unit ball inside radius r is r^D."""
    rng = np.random.default_rng(1)
    np.testing.assert_allclose(np.linalg.norm(sample_unit_sphere(100, 4, rng), axis=1), 1.0)
    radii = np.linalg.norm(sample_unit_ball(20000, 3, rng), axis=1)
    assert radii.max() <= 1.0
    fraction = np.mean(radii < 0.5)  # expected 0.125, binomial std 0.0023
    assert abs(fraction - 0.125) < 0.012


@pytest.mark.parametrize("name, dimensions, function", [
    ("identity", 1, lambda x: x[:, 0]),
    ("square", 1, lambda x: x[:, 0] ** 2),
    ("2-D vector", 2, lambda x: x),
])
def test_decoding_error_shrinks_with_more_neurons(name, dimensions, function):
    """Mean RMSE over 5 seeded populations falls as n grows 20 -> 80 -> 320, and stays below 0.3 / sqrt(n)."""
    sizes = (20, 80, 320)
    errors = [np.mean([decoding_rmse(n, dimensions, function, seed) for seed in range(5)]) for n in sizes]
    assert errors[0] > errors[1] > errors[2], f"{name}: {errors}"
    for n, error in zip(sizes, errors):
        assert error < 0.3 / np.sqrt(n), f"{name}: RMSE {error:.4f} with {n} neurons"


def test_regularised_decoders_are_stable_under_noise():
    """With noise of std sigma on each rate, the error is E|a d - f|^2 + sigma^2 |d|^2: regularising keeps |d| small.

    Without regularisation the decoders fit the noiseless curves better but amplify the noise many times over.
    """
    rng = np.random.default_rng(2)
    ensemble = Ensemble.random(EnsembleParams(n_neurons=100), rng)
    fit_points, x = sample_unit_ball(500, 1, rng)[:, 0], sample_unit_ball(4000, 1, rng)[:, 0]
    rates = ensemble.rates(x)
    sigma = 0.1 * rates.max()
    noisy = rates + rng.normal(0.0, sigma, size=rates.shape)
    errors = {}
    for reg in (0.0, 0.1):
        d = solve_decoders(ensemble.rates(fit_points), fit_points, reg=reg)
        errors[reg] = np.mean((noisy @ d - x) ** 2)
        predicted = np.mean((rates @ d - x) ** 2) + sigma**2 * np.sum(d**2)
        assert errors[reg] == pytest.approx(predicted, rel=0.1)
    assert np.sqrt(errors[0.1]) < 0.05
    assert errors[0.0] > 100 * errors[0.1]


def test_filter_spikes_mean_equals_the_spike_rate():
    """(5): the jump (1 - beta) 1000 / dt makes the filtered train of a regular 50 Hz train average 50 Hz."""
    dt, period_steps = 0.1, 200                        # one spike every 20 ms
    spikes = np.zeros((20000, 1), dtype=bool)
    spikes[::period_steps] = True
    rates = filter_spikes(spikes, dt, tau_syn=5.0)
    assert rates[10000:].mean() == pytest.approx(50.0, rel=1e-3)
    assert rates[0, 0] == pytest.approx((1.0 - np.exp(-dt / 5.0)) * 1000.0 / dt)


def test_spiking_population_decodes_a_slow_sine():
    """Decoders fitted to the rate curves, applied to filtered spikes of a simulated LIFGroup, track x(t)."""
    rng = np.random.default_rng(3)
    ensemble = Ensemble.random(EnsembleParams(n_neurons=100), rng)
    fit_points = sample_unit_ball(500, 1, rng)[:, 0]
    decoders = solve_decoders(ensemble.rates(fit_points), fit_points, reg=0.1)
    dt, tau_syn = 0.2, 10.0
    t = np.arange(0.0, 1000.0, dt)
    x = 0.8 * np.sin(2 * np.pi * t / 1000.0)
    estimate = filter_spikes(ensemble.simulate(x, dt=dt), dt, tau_syn) @ decoders
    beta = np.exp(-dt / tau_syn)
    x_filtered = lfilter([1.0 - beta], [1.0, -beta], x)    # the estimate lags like x seen through (5)
    settled = t > 100.0
    assert np.sqrt(np.mean((estimate - x_filtered)[settled] ** 2)) < 0.08
    assert np.sqrt(np.mean((estimate - x)[settled] ** 2)) < 0.12


def test_simulated_rates_match_the_tuning_curves():
    """A constant x gives each simulated neuron the analytic rate (2), less the rounding of each interval to dt."""
    ensemble = Ensemble.random(EnsembleParams(n_neurons=30), np.random.default_rng(4))
    dt = 0.1
    spikes = ensemble.simulate(np.full(10000, 0.3), dt=dt)      # 1 s
    expected = ensemble.rates(0.3)
    measured = spikes.sum(axis=0) / 1.0
    # Each interval P = 1000 / rate rounds up to whole steps (at most +dt) and the count can miss one spike.
    lower = np.floor(1000.0 / (1000.0 / np.maximum(expected, 1e-9) + dt)) - 1
    assert np.all(measured >= np.where(expected > 0, lower, 0))
    assert np.all(measured <= np.ceil(expected) + 1)
    assert np.all(measured[expected == 0] == 0)


@pytest.mark.parametrize("kwargs", [
    dict(n_neurons=0), dict(n_neurons=2.5), dict(dimensions=0), dict(tau_mem=0.0), dict(refractory=-1.0),
    dict(max_rates=(200.0, 100.0)), dict(max_rates=(100.0, 600.0)), dict(max_rates=(0.0, 100.0)),
    dict(intercepts=(-1.0, 0.5)), dict(intercepts=(0.5, 0.2)), dict(intercepts=(0.1, 0.2, 0.3)),
])
def test_bad_population_parameters_raise(kwargs):
    with pytest.raises(ValueError):
        EnsembleParams(**kwargs)


def test_bad_inputs_raise():
    ensemble = Ensemble.random(EnsembleParams(n_neurons=10, dimensions=2), np.random.default_rng(5))
    rates = ensemble.rates(np.zeros((5, 2)))
    with pytest.raises(ValueError, match="x must have shape"):
        ensemble.encode(np.zeros((5, 3)))
    with pytest.raises(ValueError, match="x must be finite"):
        ensemble.rates(np.array([0.0, np.nan]))
    with pytest.raises(ValueError, match=r"x must be a signal of shape \(T, 2\)"):
        ensemble.simulate(np.zeros(2))
    with pytest.raises(ValueError, match="reg must be >= 0"):
        solve_decoders(rates, np.zeros(5), reg=-0.1)
    with pytest.raises(ValueError, match="targets must have shape"):
        solve_decoders(rates, np.zeros(4))
    with pytest.raises(ValueError, match="tau_syn must be > 0"):
        filter_spikes(np.zeros((5, 2)), dt=0.1, tau_syn=0.0)
