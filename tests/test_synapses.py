"""The exponential synapse against its equation, tau_syn di/dt = -i + tau_syn w sum delta (spikingnn/synapses.py)."""
import doctest
import math

import numpy as np
import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

import spikingnn.synapses
from spikingnn.neurons import FirstOrderLIF
from spikingnn.synapses import FirstOrderSynapse

tau_syns = st.floats(0.5, 50.0)
dts = st.floats(0.01, 1.0)
weights = st.floats(-5.0, 5.0)


@given(tau_syn=tau_syns, weight=weights, dt=dts, spike_step=st.integers(0, 50), n_steps=st.integers(1, 300))
def test_impulse_response_is_a_sampled_exponential(tau_syn, weight, dt, spike_step, n_steps):
    """One spike at step k: i_syn = 0 before it, then w exp(-(t - t_k) / tau_syn) at every later step."""
    pre = np.zeros(spike_step + n_steps, dtype=bool)
    pre[spike_step] = True
    i_syn = FirstOrderSynapse(tau_syn=tau_syn, weight=weight, dt=dt).simulate(pre)
    assert np.all(i_syn[:spike_step] == 0.0)
    expected = weight * np.exp(-np.arange(n_steps) * dt / tau_syn)
    np.testing.assert_allclose(i_syn[spike_step:], expected, rtol=1e-10, atol=1e-300)


@given(tau_syn=tau_syns, weight=weights, dt=dts, seed=st.integers(0, 2**32 - 1), scale=st.integers(0, 4))
def test_responses_superpose(tau_syn, weight, dt, seed, scale):
    """The equation is linear: the response to two trains together is the sum of the responses, scaling the
    input scales the response, and both equal w sum_f exp(-(t - t_f)/tau_syn) over the spikes so far."""
    rng = np.random.default_rng(seed)
    first, second = rng.integers(0, 2, size=(2, 200)) * (rng.random((2, 200)) < 0.1)

    def response(pre):
        return FirstOrderSynapse(tau_syn=tau_syn, weight=weight, dt=dt).simulate(pre)

    together = response(first + second)
    np.testing.assert_allclose(together, response(first) + response(second), rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(response(scale * first), scale * response(first), rtol=1e-9, atol=1e-12)
    lag = np.arange(200)[:, None] - np.arange(200)[None, :]
    kernel = np.where(lag >= 0, np.exp(-np.maximum(lag, 0) * dt / tau_syn), 0.0)
    np.testing.assert_allclose(together, weight * kernel @ (first + second), rtol=1e-9, atol=1e-12)


@given(tau_syn=st.floats(1.0, 20.0), tau_mem=st.floats(2.0, 50.0), weight=st.floats(0.1, 5.0),
       resistance=st.floats(0.5, 5.0), dt=st.floats(0.05, 0.5))
def test_lif_driven_through_the_synapse_follows_the_double_exponential_psp(tau_syn, tau_mem, weight, resistance, dt):
    """A spike at t = 0 through the synapse into the membrane solves tau_mem dv/dt = -v + R w exp(-t/tau_syn):
        v(t) = R w tau_syn / (tau_mem - tau_syn) (exp(-t/tau_mem) - exp(-t/tau_syn)).
    The loop holds each step's current constant at its value at the start of the step, above the true current
    by at most w (1 - exp(-dt/tau_syn)) <= w dt / tau_syn; the membrane filters with unit gain, so
    |v_simulated - v(t)| <= R w dt / tau_syn."""
    assume(abs(tau_mem - tau_syn) > 0.5)
    pre_spikes = np.zeros(round(3 * max(tau_mem, tau_syn) / dt), dtype=bool)
    pre_spikes[0] = True
    synapse = FirstOrderSynapse(tau_syn=tau_syn, weight=weight, dt=dt)
    neuron = FirstOrderLIF(tau_mem=tau_mem, resistance=resistance, v_threshold=1e9, dt=dt)
    v_trace = []
    for pre in pre_spikes:                                       # the three-line loop
        neuron.step(synapse.step(pre))
        v_trace.append(neuron.v)
    t = dt * np.arange(1, pre_spikes.size + 1)
    psp = resistance * weight * tau_syn / (tau_mem - tau_syn) * (np.exp(-t / tau_mem) - np.exp(-t / tau_syn))
    error = np.abs(np.array(v_trace) - psp)
    assert error.max() <= resistance * weight * dt / tau_syn * (1 + 1e-9)
    assert np.all(np.array(v_trace) >= psp - 1e-12), "a current too large by the sampling can only raise v"


@pytest.mark.parametrize("peak, fires", [(0.8, False), (1.2, True)])
def test_the_neuron_fires_when_the_psp_peak_crosses_threshold(peak, fires):
    """The double-exponential PSP peaks at t_p = tau_m tau_s / (tau_m - tau_s) ln(tau_m / tau_s). The simulated
    v lies between the PSP and the PSP + R w dt / tau_syn (see above), so it fires exactly when the peak
    crosses the threshold 1 by more than that band."""
    tau_mem, tau_syn, dt = 10.0, 5.0, 0.1
    t_peak = tau_mem * tau_syn / (tau_mem - tau_syn) * math.log(tau_mem / tau_syn)
    weight = peak * (tau_mem - tau_syn) / tau_syn / (math.exp(-t_peak / tau_mem) - math.exp(-t_peak / tau_syn))
    assert abs(peak - 1.0) > weight * dt / tau_syn
    synapse, neuron = FirstOrderSynapse(tau_syn=tau_syn, weight=weight, dt=dt), FirstOrderLIF(tau_mem=tau_mem, dt=dt)
    pre_spikes = np.zeros(600, dtype=bool)
    pre_spikes[100] = True
    post_spikes = [neuron.step(synapse.step(pre)) for pre in pre_spikes]
    assert not any(post_spikes[:100])
    assert any(post_spikes[100:]) == fires


def test_module_docstring_example_runs():
    assert doctest.testmod(spikingnn.synapses).failed == 0


def test_reset_state_clears_the_current():
    synapse = FirstOrderSynapse(weight=2.0)
    assert synapse.step(True) == 2.0
    synapse.reset_state()
    assert synapse.i_syn == 0.0 and synapse.step(False) == 0.0
    assert synapse.alpha == math.exp(-0.1 / 5.0)


@pytest.mark.parametrize("kwargs, name", [
    (dict(tau_syn=0.0), "tau_syn"),
    (dict(tau_syn=-1.0), "tau_syn"),
    (dict(tau_syn=float("inf")), "tau_syn"),
    (dict(dt=0.0), "dt"),
    (dict(dt=-0.1), "dt"),
    (dict(weight=float("nan")), "weight"),
    (dict(weight=float("inf")), "weight"),
])
def test_invalid_parameters_raise_value_error_naming_them(kwargs, name):
    with pytest.raises(ValueError, match=name):
        FirstOrderSynapse(**kwargs)


@pytest.mark.parametrize("bad", [float("nan"), float("inf"), -1.0])
def test_invalid_presynaptic_input_raises_value_error(bad):
    with pytest.raises(ValueError, match="pre_spiked"):
        FirstOrderSynapse().step(bad)
    with pytest.raises(ValueError, match="pre_spikes"):
        FirstOrderSynapse().simulate(np.array([0.0, bad]))
    with pytest.raises(ValueError, match="pre_spikes"):
        FirstOrderSynapse().simulate(np.zeros((3, 2)))
