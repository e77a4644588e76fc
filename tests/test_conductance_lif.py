"""The conductance-based LIF unit of Diehl & Cook (``neurons.ConductanceLIF``) against its equations: closed-form
relaxation, the charge of a jump, convergence to the ODE, threshold, refractory hold and adaptive threshold. (The
Diehl & Cook network built from these units is tied to its fused kernel in tests/test_one_book.py.)"""
import math

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from scipy.integrate import quad, solve_ivp

from spikingnn.neurons import ConductanceLIF, ConductanceLIFParams

SILENT = dict(v_threshold=1e6, refractory=0.0)    # a unit that never fires: the membrane alone


def hold_conductances(unit, ge_bar, gi_bar):
    """Jumps that hold the step means of both conductances at ge_bar, gi_bar, and the matching initial state.

    A jump c every step makes the conductance periodic: started at c d / (1 - d), d = exp(-dt / tau_g), it is
    c / (1 - d) after every jump, and its mean over the step (1/dt) integral of c / (1 - d) exp(-s / tau_g) ds is
    c tau_g / dt; so c = g_bar dt / tau_g."""
    p, dt = unit.params, unit.dt
    jumps = [ge_bar * dt / p.tau_ge, gi_bar * dt / p.tau_gi]
    unit.ge, unit.gi = (c * math.exp(-dt / tau) / -math.expm1(-dt / tau) for c, tau in zip(jumps, (p.tau_ge, p.tau_gi)))
    return jumps


@given(ge=st.floats(0.0, 5.0), gi=st.floats(0.0, 5.0), v0=st.floats(-90.0, -40.0), tau_mem=st.floats(5.0, 200.0),
       tau_ge=st.floats(0.5, 10.0), tau_gi=st.floats(0.5, 10.0), dt=st.floats(0.05, 1.0))
def test_constant_conductances_relax_v_exponentially_to_v_inf(ge, gi, v0, tau_mem, tau_ge, tau_gi, dt):
    """With the conductances held at G_e, G_i, tau_mem dv/dt = (v_rest - v) + G_e (e_exc - v) + G_i (e_inh - v) is
    solved by v(t) = v_inf + (v0 - v_inf) exp(-t (1 + G_e + G_i) / tau_mem), v_inf = (v_rest + G_e e_exc + G_i e_inh)
    / (1 + G_e + G_i): the exact update follows it at every step, for any dt."""
    unit = ConductanceLIF(dt=dt, tau_mem=tau_mem, tau_ge=tau_ge, tau_gi=tau_gi, **SILENT)
    p = unit.params
    jumps = hold_conductances(unit, ge, gi)
    unit.v = v0
    trace = []
    for _ in range(200):
        unit.step(*jumps)
        trace.append(unit.v)
    g_total = 1.0 + ge + gi
    v_inf = (p.v_rest + ge * p.e_exc + gi * p.e_inh) / g_total
    t = dt * np.arange(1, 201)
    np.testing.assert_allclose(trace, v_inf + (v0 - v_inf) * np.exp(-t * g_total / tau_mem), rtol=1e-9, atol=1e-9)


@given(weight=st.floats(0.01, 20.0), tau=st.floats(0.2, 20.0), dt=st.floats(0.05, 2.0), inhibitory=st.booleans())
def test_one_jump_decays_exponentially_and_delivers_its_whole_charge(weight, tau, dt, inhibitory):
    """One spike of weight w: g(t) = w exp(-t / tau_g), sampled at the end of each step; the step means the
    membrane sees add up to the charge of the continuous decay, dt sum g_bar = integral w exp(-t/tau_g) dt = w tau_g;
    the mean factor is (1/dt) integral_0^dt exp(-s / tau_g) ds."""
    unit = ConductanceLIF(dt=dt, **{"tau_gi" if inhibitory else "tau_ge": tau}, **SILENT)
    mean = unit.mean_gi if inhibitory else unit.mean_ge
    unit.step(*((0.0, weight) if inhibitory else (weight, 0.0)))
    samples, entering = [], [weight]                    # the conductance after each step, and entering each step
    for _ in range(int(40 * tau / dt) + 1):
        samples.append(unit.gi if inhibitory else unit.ge)
        entering.append(samples[-1])
        unit.step()
    np.testing.assert_allclose(samples, weight * np.exp(-dt * np.arange(1, len(samples) + 1) / tau), rtol=1e-9)
    assert sum(g * mean * dt for g in entering) == pytest.approx(weight * tau, rel=1e-9)
    assert mean == pytest.approx(quad(lambda s: math.exp(-s / tau), 0.0, dt)[0] / dt, rel=1e-9)


def test_the_discrete_step_converges_to_the_continuous_equation_at_second_order():
    """A jump in each conductance at t = 0, then free decay: the exact solution of the membrane equation comes from
    an ODE solver at 1e-12 tolerance; the unit's error shrinks fourfold each time dt halves."""
    kw = dict(tau_mem=20.0, v_rest=-65.0, e_exc=0.0, e_inh=-100.0, tau_ge=5.0, tau_gi=10.0)
    g_e0, g_i0, duration = 0.8, 0.5, 30.0

    def rhs(t, v):
        ge, gi = g_e0 * math.exp(-t / kw["tau_ge"]), g_i0 * math.exp(-t / kw["tau_gi"])
        return ((kw["v_rest"] - v) + ge * (kw["e_exc"] - v) + gi * (kw["e_inh"] - v)) / kw["tau_mem"]

    exact = solve_ivp(rhs, (0.0, duration), [kw["v_rest"]], rtol=1e-12, atol=1e-12, dense_output=True).sol
    errors = []
    for dt in (0.5, 0.25, 0.125):
        unit, trace = ConductanceLIF(dt=dt, **kw, **SILENT), []
        for step in range(int(round(duration / dt))):
            unit.step(*((g_e0, g_i0) if step == 0 else (0.0, 0.0)))
            trace.append(unit.v)
        errors.append(np.abs(np.array(trace) - exact(dt * np.arange(1, len(trace) + 1))[0]).max())
    assert errors[0] < 2e-3
    for coarse, fine in zip(errors, errors[1:]):
        assert 3.5 < coarse / fine < 4.5, errors


def test_spike_when_v_passes_threshold_then_reset_held_for_the_refractory_period():
    """Held conductances put v_inf above threshold. From v_reset, v climbs along v_inf + (v_reset - v_inf)
    exp(-k dt g_tot / tau_mem) and fires in the first step k where that exceeds v_threshold; v then stays at v_reset
    for round(refractory / dt) steps and climbs again: spikes every k + round(refractory / dt) steps."""
    dt, tau_mem, ge, refractory = 0.5, 20.0, 0.5, 3.0
    unit = ConductanceLIF(dt=dt, tau_mem=tau_mem, refractory=refractory)       # v_rest = v_reset
    p, held_steps = unit.params, round(refractory / dt)
    jumps = hold_conductances(unit, ge, 0.0)
    spikes, trace = [], []
    for _ in range(400):
        spikes.append(unit.step(*jumps))
        trace.append(unit.v)
    v_inf = (p.v_rest + ge * p.e_exc) / (1.0 + ge)
    climb = v_inf + (p.v_reset - v_inf) * np.exp(-dt * np.arange(1, 400) * (1.0 + ge) / tau_mem)
    assert np.abs(climb - p.v_threshold).min() > 1e-6          # no step lands on the threshold itself
    to_fire = int(np.argmax(climb > p.v_threshold)) + 1
    first, period = to_fire - 1, to_fire + held_steps
    assert list(np.flatnonzero(spikes)[:4]) == [first + period * m for m in range(4)]
    assert trace[first:first + held_steps + 1] == [p.v_reset] * (held_steps + 1)
    assert trace[first + held_steps + 1] > p.v_reset


def test_adaptive_threshold_jumps_at_each_spike_and_decays():
    """theta after step n = theta_init d^(n+1) + theta_plus sum over spike steps k <= n of d^(n-k+1),
    d = exp(-dt / tau_theta): tau_theta dtheta/dt = -theta + tau_theta theta_plus sum_k delta(t - t_k) sampled."""
    dt, tau_theta = 0.5, 50.0
    unit = ConductanceLIF(dt=dt, theta_init=2.0, theta_plus=1.5, tau_theta=tau_theta, refractory=1.0)
    rng = np.random.default_rng(0)
    spikes, thetas = [], []
    for _ in range(600):
        spikes.append(unit.step(rng.uniform(0.0, 3.0), 0.0))
        thetas.append(unit.theta)
        assert not spikes[-1] or unit.v == unit.params.v_reset
    n = np.arange(600)
    expected = 2.0 * np.exp(-dt * (n + 1) / tau_theta)
    for k in np.flatnonzero(spikes):
        expected += np.where(n >= k, 1.5 * np.exp(-dt * (n - k + 1) / tau_theta), 0.0)
    assert sum(spikes) > 10
    np.testing.assert_allclose(thetas, expected, rtol=1e-9)


def test_frozen_theta_and_the_defaults_are_a_plain_conductance_lif():
    """theta_plus = 0 and tau_theta = inf (the defaults): theta never moves (Diehl & Cook's test phase, I neurons)."""
    unit = ConductanceLIF(dt=0.5, theta_init=3.0)
    spikes = sum(unit.step(2.0, 0.1) for _ in range(200))
    assert spikes > 0 and unit.theta == 3.0 and unit.decay_theta == 1.0
    assert isinstance(unit.params, ConductanceLIFParams)


@pytest.mark.parametrize("kwargs, name", [
    (dict(tau_mem=0.0), "tau_mem"), (dict(tau_ge=-1.0), "tau_ge"), (dict(tau_gi=math.inf), "tau_gi"),
    (dict(tau_theta=math.nan), "tau_theta"), (dict(tau_theta=0.0), "tau_theta"), (dict(refractory=-1.0), "refractory"),
    (dict(theta_plus=-0.1), "theta_plus"), (dict(e_exc=math.nan), "e_exc"), (dict(v_threshold=-70.0), "v_threshold"),
    (dict(dt=0.0), "dt"), (dict(v_rest=np.zeros(3)), "v_rest"),
])
def test_invalid_parameters_raise_value_errors_naming_them(kwargs, name):
    with pytest.raises(ValueError, match=name):
        ConductanceLIF(**kwargs)


@pytest.mark.parametrize("ge_input, gi_input, name", [
    (-0.1, 0.0, "ge_input"), (math.nan, 0.0, "ge_input"), (0.0, math.inf, "gi_input"), (0.0, np.ones(2), "gi_input"),
])
def test_invalid_conductance_jumps_raise_value_errors(ge_input, gi_input, name):
    with pytest.raises(ValueError, match=name):
        ConductanceLIF().step(ge_input, gi_input)
