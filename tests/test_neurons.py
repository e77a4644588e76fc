"""Single neurons against their equations (spikingnn/neurons.py).

Every expected value below comes from the model's equations (closed-form solutions, the f-I curve, the
ODE of the adaptation variable), not from the code's own output. Units: ms, Hz, dimensionless voltage.
"""
import math

import numpy as np
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st
from scipy.integrate import solve_ivp

from spikingnn.discretisation import INTEGRATORS
from spikingnn.neurons import ALIF, FirstOrderLIF, lif_membrane_closed_form, lif_rate
from spikingnn.params import RESET_MODES

tau_mems = st.floats(1.0, 100.0)
dts = st.floats(0.01, 1.0)
voltages = st.floats(-2.0, 2.0)
resistances = st.floats(0.1, 10.0)
NO_THRESHOLD = 1e9   # a threshold never reached, to watch the sub-threshold dynamics alone


def climb_time(tau_mem, v_start, v_inf, v_threshold):
    """Time (ms) for the exact sub-threshold solution to go from v_start up to v_threshold < v_inf."""
    return tau_mem * math.log1p((v_threshold - v_start) / (v_inf - v_threshold))


# --------------------------------------------------------------------------- sub-threshold integration

@given(tau_mem=tau_mems, v_rest=voltages, resistance=resistances, v0=st.floats(-5.0, 5.0),
       current=st.floats(-5.0, 5.0), dt=dts, n_steps=st.integers(1, 400))
@settings(max_examples=30)
def test_exact_integration_matches_the_ode_solution(tau_mem, v_rest, resistance, v0, current, dt, n_steps):
    """v after k steps of constant input is the solution of the ODE (1) at t = k dt, for every k: the oracle is
    SciPy's adaptive Runge-Kutta integrator run to a tight tolerance, which knows nothing of exponentials; and
    ``lif_membrane_closed_form`` agrees with it."""
    neuron = FirstOrderLIF(tau_mem=tau_mem, v_rest=v_rest, resistance=resistance, v_threshold=NO_THRESHOLD, dt=dt)
    neuron.v = v0
    v_trace, spike_steps = neuron.simulate(np.full(n_steps, current))
    t = dt * np.arange(1, n_steps + 1)
    # max_step: on a flat solution the solver's error estimate lets it stride far and drift ~1e-8 (hypothesis found
    # v0 = v_rest, a tiny current, 68 steps); steps no longer than dt keep the oracle at its tolerance
    ode = solve_ivp(lambda _, v: (-(v - v_rest) + resistance * current) / tau_mem, (0.0, t[-1]), [v0],
                    method="DOP853", t_eval=t, rtol=1e-12, atol=1e-12, max_step=min(dt, tau_mem))
    assert spike_steps.size == 0
    np.testing.assert_allclose(v_trace, ode.y[0], rtol=1e-8, atol=1e-8)
    np.testing.assert_allclose(lif_membrane_closed_form(t, v0, current, tau_mem=tau_mem, v_rest=v_rest,
                                                        resistance=resistance), ode.y[0], rtol=1e-8, atol=1e-8)


@given(v0=st.floats(-2.0, 0.99), current=st.floats(-5.0, 5.0), tau_mem=tau_mems, dt=dts)
def test_two_half_steps_equal_one_full_step(v0, current, tau_mem, dt):
    """The exact update composes: exp(-dt/2 tau)^2 = exp(-dt/tau). Forward Euler would fail this."""
    full, half = (FirstOrderLIF(dt=h, tau_mem=tau_mem, v_threshold=NO_THRESHOLD) for h in (dt, dt / 2))
    full.v = half.v = v0
    full.step(current)
    half.step(current)
    half.step(current)
    assert half.v == pytest.approx(full.v, abs=1e-12, rel=1e-12)


@given(tau_mem=tau_mems, t_over_tau=st.floats(0.2, 2.0), current=st.floats(0.1, 5.0), sign=st.sampled_from([-1, 1]),
       n_steps=st.integers(100, 300))
def test_euler_error_shrinks_linearly_with_dt(tau_mem, t_over_tau, current, sign, n_steps):
    """Euler gives v_inf + (v0 - v_inf)(1 - dt/tau)^n; its error at a fixed time t is ~ |v0 - v_inf| (t/tau)
    exp(-t/tau) dt / (2 tau): first order, so halving dt halves it (to O(dt/tau))."""
    t = t_over_tau * tau_mem

    def euler_error(n):
        euler = FirstOrderLIF(tau_mem=tau_mem, v_threshold=NO_THRESHOLD, dt=t / n, integrator="euler")
        v_trace, _ = euler.simulate(np.full(n, sign * current))
        return abs(v_trace[-1] - lif_membrane_closed_form(t, 0.0, sign * current, tau_mem=tau_mem))

    coarse, fine = euler_error(n_steps), euler_error(2 * n_steps)
    leading_term = current * t_over_tau * math.exp(-t_over_tau) * (t / n_steps) / (2 * tau_mem)
    assert coarse == pytest.approx(leading_term, rel=0.05)
    assert 0.45 < fine / coarse < 0.55


# --------------------------------------------------------------------------- threshold and f-I curve

@given(tau_mem=st.floats(1.0, 50.0), v_threshold=voltages, gap=st.floats(1e-3, 2.0), resistance=resistances,
       fraction=st.floats(-2.0, 0.999), dt_over_tau=st.floats(1e-3, 1.0), integrator=st.sampled_from(INTEGRATORS),
       reset=st.sampled_from(RESET_MODES))
@settings(max_examples=40)
def test_no_spike_below_rheobase(tau_mem, v_threshold, gap, resistance, fraction, dt_over_tau, integrator, reset):
    """With R I < v_threshold - v_rest the steady state v_inf stays below threshold: v never reaches it
    (v moves monotonically from v_rest < v_threshold towards v_inf; Euler too, as long as dt <= tau_mem)."""
    v_rest = v_threshold - gap
    current = fraction * gap / resistance
    dt = dt_over_tau * tau_mem
    neuron = FirstOrderLIF(tau_mem=tau_mem, v_rest=v_rest, v_reset=v_rest, v_threshold=v_threshold,
                           resistance=resistance, dt=dt, integrator=integrator, reset=reset)
    n_steps = min(int(10 / dt_over_tau), 5000)
    v_trace, spike_steps = neuron.simulate(np.full(n_steps, current))
    assert spike_steps.size == 0
    assert lif_rate(current, tau_mem=tau_mem, v_rest=v_rest, v_reset=v_rest, v_threshold=v_threshold,
                    resistance=resistance) == 0.0


@given(tau_mem=st.floats(2.0, 50.0), v_reset=st.floats(-1.0, 1.0), gap=st.floats(0.1, 2.0),
       v_rest=st.floats(-1.0, 1.0), resistance=st.floats(0.5, 5.0), refractory=st.floats(0.0, 5.0),
       dt=st.floats(0.05, 0.5), drive=st.floats(0.05, 5.0))
@settings(max_examples=40)
def test_simulated_rate_matches_f_i_curve_within_step_rounding(tau_mem, v_reset, gap, v_rest, resistance,
                                                               refractory, dt, drive):
    """After each reset the neuron is clamped for R = round(refractory / dt) steps, then climbs from v_reset;
    the climb takes t* = tau ln((v_inf - v_reset)/(v_inf - v_threshold)) in continuous time but ends at the
    first whole step at or after t*, i.e. ceil(t*/dt) steps. So every simulated interval ISI satisfies
        P <= ISI < P + dt,    P = R dt + t* = 1000 / lif_rate(I, refractory=R dt),
    hence lif_rate * P / (P + dt) < r_sim = 1000 / ISI <= lif_rate, and r_sim < 1000 / refractory."""
    v_threshold = v_reset + gap
    v_inf = v_threshold + drive * gap
    current = (v_inf - v_rest) / resistance
    params = dict(tau_mem=tau_mem, v_rest=v_rest, v_reset=v_reset, v_threshold=v_threshold, resistance=resistance)
    refractory_steps = round(refractory / dt)
    t_first = climb_time(tau_mem, min(v_rest, v_reset), v_inf, v_threshold) + refractory_steps * dt
    period = 1000 / lif_rate(current, refractory=refractory, **params)
    n_steps = math.ceil(t_first / dt) + 4 * math.ceil(period / dt + 2)

    neuron = FirstOrderLIF(refractory=refractory, dt=dt, **params)
    _, spike_steps = neuron.simulate(np.full(n_steps, current))
    intervals = np.diff(spike_steps) * dt
    assert intervals.size >= 3
    assert np.all(intervals == intervals[0]), "every interval starts from the same reset state"

    rate = lif_rate(current, refractory=refractory_steps * dt, **params)
    period = 1000.0 / rate
    simulated_rate = 1000.0 / intervals[0]
    tolerance = 1e-9 * rate
    assert rate * period / (period + dt) - tolerance < simulated_rate <= rate + tolerance
    if refractory > 0:
        assert simulated_rate < 1000.0 / refractory


@given(tau_mem=tau_mems, v_threshold=voltages, gap=st.floats(0.01, 2.0), v_rest=voltages, resistance=resistances,
       refractory=st.floats(0.0, 10.0), currents=st.lists(st.floats(-100.0, 1e6), min_size=2, max_size=20))
def test_f_i_curve_zero_below_rheobase_non_decreasing_and_bounded(tau_mem, v_threshold, gap, v_rest, resistance,
                                                                  refractory, currents):
    """rate(I) = 0 while v_rest + R I <= v_threshold, grows with I above, and stays below 1 / t_ref."""
    params = dict(tau_mem=tau_mem, v_rest=v_rest, v_reset=v_threshold - gap, v_threshold=v_threshold,
                  resistance=resistance, refractory=refractory)
    currents = np.sort(currents)
    rates = lif_rate(currents, **params)
    assert np.all(rates[v_rest + resistance * currents <= v_threshold] == 0.0)
    assert np.all(rates[v_rest + resistance * currents > v_threshold] > 0.0)
    assert np.all(np.diff(rates) >= 0.0)
    if refractory > 0:
        assert np.all(rates <= 1000.0 / refractory)


@given(tau_mem=st.floats(2.0, 50.0), resistance=st.floats(0.5, 5.0), refractory=st.floats(0.0, 5.0),
       dt=st.floats(0.05, 0.5), drives=st.lists(st.floats(-0.5, 5.0), min_size=2, max_size=6, unique=True))
@settings(max_examples=30)
def test_simulated_spike_count_non_decreasing_in_current(tau_mem, resistance, refractory, dt, drives):
    """A larger constant current reaches threshold sooner after every reset, so each spike comes no later and
    the count in a fixed window cannot fall."""
    currents = (1.0 + np.sort(drives)) / resistance
    counts = [FirstOrderLIF(tau_mem=tau_mem, resistance=resistance, refractory=refractory, dt=dt)
              .simulate(np.full(round(100 / dt), current))[1].size for current in currents]
    assert counts == sorted(counts)


# --------------------------------------------------------------------------- reset and refractory period

@given(tau_mem=tau_mems, refractory=st.floats(0.0, 5.0), dt=st.floats(0.05, 1.0), drive=st.floats(0.1, 20.0),
       reset=st.sampled_from(RESET_MODES), integrator=st.sampled_from(INTEGRATORS))
@settings(max_examples=40)
def test_refractory_period_holds_v_after_the_reset(tau_mem, refractory, dt, drive, reset, integrator):
    """For round(refractory/dt) steps after a spike, v keeps its value after the reset exactly (v_reset for the
    'zero' reset, the kept overshoot for 'subtract') and no spike can occur."""
    assume(integrator == "exact" or dt <= tau_mem)
    neuron = FirstOrderLIF(tau_mem=tau_mem, v_reset=-0.2, refractory=refractory, dt=dt, reset=reset,
                           integrator=integrator)
    refractory_steps = round(refractory / dt)
    interval_bound = climb_time(tau_mem, -0.2, 1.0 + drive, 1.0) + (refractory_steps + 1) * dt   # Euler is quicker
    v_trace, spike_steps = neuron.simulate(np.full(math.ceil(3 * interval_bound / dt), 1.0 + drive))
    assert spike_steps.size >= 2
    assert np.all(np.diff(spike_steps) > refractory_steps)
    for spike in spike_steps:
        np.testing.assert_array_equal(v_trace[spike + 1: spike + 1 + refractory_steps], v_trace[spike])
        if reset == "zero":
            assert v_trace[spike] == -0.2
        else:
            assert v_trace[spike] > -0.2                     # the overshoot is kept


@given(tau_mem=tau_mems, v0=st.floats(0.0, 0.99), overshoot=st.floats(1e-6, 2.0), dt=dts,
       v_reset=st.floats(-1.0, 0.5))
def test_subtract_reset_keeps_the_overshoot(tau_mem, v0, overshoot, dt, v_reset):
    """'subtract': v <- v - (v_threshold - v_reset), so the part of v above threshold survives the reset;
    'zero' sets v_reset exactly. The current is chosen so that one exact step from v0 lands at 1 + overshoot."""
    beta = math.exp(-dt / tau_mem)
    current = (1.0 + overshoot - v0 * beta) / (1.0 - beta)       # v_inf + (v0 - v_inf) beta = 1 + overshoot
    subtract = FirstOrderLIF(tau_mem=tau_mem, v_reset=v_reset, dt=dt, reset="subtract")
    zero = FirstOrderLIF(tau_mem=tau_mem, v_reset=v_reset, dt=dt, reset="zero")
    subtract.v = zero.v = v0
    assert subtract.step(current) and zero.step(current)
    assert subtract.v == pytest.approx(v_reset + overshoot, abs=1e-7 * current)
    assert subtract.v > v_reset
    assert zero.v == v_reset


# --------------------------------------------------------------------------- adaptive threshold (ALIF)

@given(tau_mem=st.floats(2.0, 50.0), tau_adapt=st.floats(5.0, 500.0), beta_adapt=st.floats(0.0, 3.0),
       dt=st.sampled_from([0.1, 0.25, 0.5, 1.0]), drive=st.floats(0.05, 10.0), refractory=st.floats(0.0, 4.0),
       reset=st.sampled_from(RESET_MODES))
@settings(max_examples=30)
def test_alif_intervals_never_shrink_under_constant_input(tau_mem, tau_adapt, beta_adapt, dt, drive, refractory,
                                                          reset):
    """In continuous time each spike leaves more adaptation than the last (the map a -> a exp(-T(a)/tau_adapt) + 1
    is increasing), so the intervals T grow monotonically. The simulation rounds each interval to whole steps,
    so once the intervals settle they may alternate between n and n + 1 steps: an interval is never shorter
    than any earlier one by more than one step."""
    neuron = ALIF(tau_mem=tau_mem, tau_adapt=tau_adapt, beta_adapt=beta_adapt, dt=dt, refractory=refractory,
                  reset=reset)
    _, spike_steps = neuron.simulate(np.full(round(1000 / dt), 1.0 + drive))
    intervals = np.diff(spike_steps)
    assume(intervals.size >= 2)
    longest_so_far = np.maximum.accumulate(intervals)
    assert np.all(intervals[1:] >= longest_so_far[:-1] - 1)


@given(tau_adapt=st.floats(1.0, 500.0), beta_adapt=st.floats(0.0, 3.0), dt=dts, refractory=st.floats(0.0, 3.0),
       seed=st.integers(0, 2**32 - 1))
def test_alif_threshold_follows_the_closed_form_of_a(tau_adapt, beta_adapt, dt, refractory, seed):
    """tau_adapt da/dt = -a + tau_adapt sum delta(t - t_f) gives a(t) = sum over spikes t_f <= t of
    exp(-(t - t_f)/tau_adapt), and threshold = v_threshold + beta_adapt a."""
    rng = np.random.default_rng(seed)
    currents = rng.uniform(0.0, 8.0, size=300)
    neuron = ALIF(tau_adapt=tau_adapt, beta_adapt=beta_adapt, dt=dt, refractory=refractory, v_threshold=0.8)
    spiked, a_trace, threshold_trace = [], [], []
    for current in currents:
        spiked.append(neuron.step(current))
        a_trace.append(neuron.a)
        threshold_trace.append(neuron.threshold)
    spike_steps = np.flatnonzero(spiked)
    steps = np.arange(currents.size)
    lag = steps[:, None] - spike_steps[None, :]
    expected_a = np.where(lag >= 0, np.exp(-np.maximum(lag, 0) * dt / tau_adapt), 0.0).sum(axis=1)
    np.testing.assert_allclose(a_trace, expected_a, rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(threshold_trace, 0.8 + beta_adapt * expected_a, rtol=1e-12)


@given(tau_mem=tau_mems, tau_adapt=st.floats(1.0, 500.0), v_reset=st.floats(-1.0, 0.5), refractory=st.floats(0.0, 3.0),
       dt=dts, reset=st.sampled_from(RESET_MODES), integrator=st.sampled_from(INTEGRATORS),
       seed=st.integers(0, 2**32 - 1))
def test_alif_without_adaptation_is_exactly_lif(tau_mem, tau_adapt, v_reset, refractory, dt, reset, integrator, seed):
    """beta_adapt = 0 makes threshold = v_threshold: the same spikes and the very same v as FirstOrderLIF."""
    currents = np.random.default_rng(seed).uniform(-1.0, 6.0, size=300)
    params = dict(tau_mem=tau_mem, v_reset=v_reset, refractory=refractory, dt=dt, reset=reset, integrator=integrator)
    v_lif, spikes_lif = FirstOrderLIF(**params).simulate(currents)
    v_alif, spikes_alif = ALIF(tau_adapt=tau_adapt, beta_adapt=0.0, **params).simulate(currents)
    np.testing.assert_array_equal(spikes_alif, spikes_lif)
    np.testing.assert_array_equal(v_alif, v_lif)


# --------------------------------------------------------------------------- state handling

def test_step_and_simulate_agree_and_reset_state_restores_rest():
    """simulate is a loop over step from the present state; reset_state goes back to v_rest, a = 0."""
    currents = np.random.default_rng(0).uniform(0.0, 5.0, size=200)
    looped = ALIF(v_rest=0.1, refractory=1.0)
    spikes = [looped.step(current) for current in currents]
    simulated = ALIF(v_rest=0.1, refractory=1.0)
    v_trace, spike_steps = simulated.simulate(currents)
    np.testing.assert_array_equal(spike_steps, np.flatnonzero(spikes))
    assert v_trace[-1] == looped.v and simulated.a == looped.a and spike_steps.size > 0
    simulated.reset_state()
    assert (simulated.v, simulated.a, simulated.refractory_left, simulated.threshold) == (0.1, 0.0, 0, 1.0)


# --------------------------------------------------------------------------- invalid input

@pytest.mark.parametrize("cls, kwargs, name", [
    (FirstOrderLIF, dict(tau_mem=0.0), "tau_mem"),
    (FirstOrderLIF, dict(tau_mem=-5.0), "tau_mem"),
    (FirstOrderLIF, dict(tau_mem=float("nan")), "tau_mem"),
    (FirstOrderLIF, dict(dt=0.0), "dt"),
    (FirstOrderLIF, dict(dt=-0.1), "dt"),
    (FirstOrderLIF, dict(v_threshold=0.0, v_reset=0.0), "v_threshold"),
    (FirstOrderLIF, dict(v_threshold=-1.0), "v_threshold"),
    (FirstOrderLIF, dict(resistance=0.0), "resistance"),
    (FirstOrderLIF, dict(refractory=-1.0), "refractory"),
    (FirstOrderLIF, dict(reset="soft"), "reset"),
    (FirstOrderLIF, dict(integrator="rk4"), "integrator"),
    (FirstOrderLIF, dict(v_rest=float("inf")), "v_rest"),
    (FirstOrderLIF, dict(tau_mem=np.array([10.0, 20.0])), "tau_mem"),
    (ALIF, dict(tau_adapt=0.0), "tau_adapt"),
    (ALIF, dict(tau_adapt=-100.0), "tau_adapt"),
    (ALIF, dict(beta_adapt=-0.1), "beta_adapt"),
    (ALIF, dict(dt=0.0), "dt"),
])
def test_invalid_parameters_raise_value_error_naming_them(cls, kwargs, name):
    with pytest.raises(ValueError, match=name):
        cls(**kwargs)


@pytest.mark.parametrize("bad", [float("nan"), float("inf"), -float("inf")])
@pytest.mark.parametrize("cls", [FirstOrderLIF, ALIF])
def test_non_finite_current_raises_value_error(cls, bad):
    neuron = cls()
    with pytest.raises(ValueError, match="current"):
        neuron.step(bad)
    with pytest.raises(ValueError, match="current"):
        neuron.simulate(np.array([0.5, bad, 0.5]))
    with pytest.raises(ValueError, match="current"):
        lif_rate(np.array([1.0, bad]))


def test_current_shapes_are_checked():
    with pytest.raises(ValueError, match="current"):
        FirstOrderLIF().step(np.ones(3))
    with pytest.raises(ValueError, match="currents"):
        FirstOrderLIF().simulate(np.ones((3, 2)))


def test_lif_rate_validates_its_parameters():
    with pytest.raises(ValueError, match="tau_mem"):
        lif_rate(2.0, tau_mem=-1.0)
    with pytest.raises(ValueError, match="v_threshold"):
        lif_membrane_closed_form(1.0, 0.0, 1.0, v_threshold=0.0, v_reset=0.5)
