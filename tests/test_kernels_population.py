"""The population kernels (spikingnn/kernels/population.py) against their plain-NumPy references.

Each kernel is run on random inputs beside its reference with the same arguments; the spikes must be the same
and the state equal to float tolerance. The cases cover both resets, LIF and ALIF, per-neuron
and shared parameters, 0 to 3 synaptic inputs, and refractory neurons.
"""
import itertools

import numpy as np
import pytest

from spikingnn.kernels.population import (
    PopulationParams,
    PopulationState,
    collect_spikes_kernel,
    collect_spikes_reference,
    first_values,
    population_step_kernel,
    population_step_reference,
    shared_params,
)


def random_population(rng, n, shared):
    """A random state and parameters: some neurons refractory, v around the thresholds."""
    size = 1 if shared else n
    params = PopulationParams(
        decay=np.resize(rng.uniform(0.8, 0.999, size), n), rest_drive=np.resize(rng.uniform(-0.05, 0.05, size), n),
        input_gain=np.resize(rng.uniform(0.2, 1.0, size), n), v_threshold=np.resize(rng.uniform(0.8, 1.2, size), n),
        v_reset=np.resize(rng.uniform(-0.5, 0.0, size), n),
        refractory_steps=np.resize(rng.integers(0, 5, size), n).astype(np.int32),
        adapt_decay=np.resize(rng.uniform(0.9, 1.0, size), n), beta_adapt=np.resize(rng.uniform(0.0, 0.5, size), n))
    state = PopulationState(v=rng.uniform(-0.5, 1.5, n), a=rng.uniform(0.0, 2.0, n),
                            refractory_left=rng.integers(0, 3, n).astype(np.int32), spikes=np.zeros(n, bool),
                            threshold=params.v_threshold.copy())
    return state, params


def copy_state(state):
    return PopulationState(*(x.copy() for x in state))


CASES = list(itertools.product([False, True], [False, True], [False, True], [0, 1, 2, 3]))


@pytest.mark.parametrize("subtract, adaptive, shared, m", CASES)
def test_population_step_kernel_matches_reference(subtract, adaptive, shared, m):
    """Twenty steps of the kernel and of the reference from the same random start stay together."""
    rng = np.random.default_rng([subtract, adaptive, shared, m])
    n = 37
    state, params = random_population(rng, n, shared)
    kernel_params = shared_params(params)
    assert (not isinstance(kernel_params.decay, np.ndarray)) == shared
    states = {"kernel": state, "reference": copy_state(state)}
    inputs = {name: rng.uniform(-1.0, 2.0, (m, n)) for name in states}
    inputs["reference"][:] = inputs["kernel"]
    alphas = rng.uniform(0.5, 1.0, m)
    n_spikes = 0
    for t in range(20):
        base = rng.uniform(-0.5, 1.5, n)
        population_step_kernel(states["kernel"], kernel_params, base, inputs["kernel"], alphas, np.zeros(n),
                               subtract, adaptive)
        population_step_reference(states["reference"], params, base, inputs["reference"], alphas, np.zeros(n),
                                  subtract, adaptive)
        case = f"step {t}, subtract={subtract}, adaptive={adaptive}, shared={shared}, m={m}"
        np.testing.assert_array_equal(states["kernel"].spikes, states["reference"].spikes, err_msg=case)
        np.testing.assert_array_equal(states["kernel"].refractory_left, states["reference"].refractory_left,
                                      err_msg=case)
        for name in ("v", "a", "threshold"):
            np.testing.assert_allclose(getattr(states["kernel"], name), getattr(states["reference"], name),
                                       rtol=1e-12, atol=1e-12, err_msg=f"{name}, {case}")
        np.testing.assert_allclose(inputs["kernel"], inputs["reference"], rtol=1e-12, err_msg=case)
        n_spikes += states["kernel"].spikes.sum()
    assert n_spikes > 0                                 # the comparison did cover spikes and resets


def test_population_step_reference_follows_the_equations():
    """One exact step from v = 0 under I = 2 (R = 1, tau_mem 10 ms, dt 0.1 ms): v = 2 (1 - exp(-0.01)), the
    closed form (2) of neurons.py; a neuron above threshold resets and is then held for two steps."""
    beta = np.exp(-0.01)
    params = PopulationParams(*(np.array([x, x]) for x in (beta, 0.0, 1.0 - beta, 1.5, 0.0)),
                              np.array([2, 2], np.int32), np.ones(2), np.zeros(2))
    state = PopulationState(np.array([0.0, 1.6]), np.zeros(2), np.zeros(2, np.int32), np.zeros(2, bool),
                            np.full(2, 1.5))
    def step():
        population_step_reference(state, params, np.array([2.0, 2.0]), np.zeros((0, 2)), np.zeros(0), np.zeros(2),
                                  False, False)

    step()
    assert state.v[0] == pytest.approx(2.0 * (1.0 - np.exp(-0.01)), rel=1e-12)
    assert state.spikes.tolist() == [False, True]
    assert state.v[1] == 0.0 and state.refractory_left.tolist() == [0, 2]
    step()
    step()
    assert state.v[1] == 0.0 and state.refractory_left.tolist() == [0, 0]     # held at the reset value, then
    step()                                                                       # free again
    assert state.v[1] == pytest.approx(2.0 * (1.0 - np.exp(-0.01)), rel=1e-12)


def test_synaptic_inputs_are_summed_then_decayed():
    """I = base + sum of the inputs of the step; each input is then multiplied by its alpha."""
    n = 4
    params = PopulationParams(*(np.full(n, x) for x in (0.0, 0.0, 1.0, 1e9, 0.0)), np.zeros(n, np.int32),
                              np.ones(n), np.zeros(n))      # decay 0: v jumps to v_inf = R I in one step
    for step, scalar in ((population_step_kernel, True), (population_step_reference, False)):
        state = PopulationState(np.zeros(n), np.zeros(n), np.zeros(n, np.int32), np.zeros(n, bool), np.zeros(n))
        inputs = np.array([[1.0, 2.0, 3.0, 4.0], [0.5, 0.5, 0.5, 0.5], [10.0, 0.0, 0.0, 0.0]])
        step(state, first_values(params) if scalar else params, np.ones(n), inputs, np.array([0.5, 0.1, 1.0]),
             np.zeros(n), False, False)
        np.testing.assert_allclose(state.v, [12.5, 3.5, 4.5, 5.5])
        np.testing.assert_allclose(inputs, [[0.5, 1.0, 1.5, 2.0], [0.05] * 4, [10.0, 0.0, 0.0, 0.0]])


@pytest.mark.parametrize("n", [0, 1, 7, 8, 9, 64, 1001])
def test_collect_spikes_kernel_matches_reference(n):
    rng = np.random.default_rng(n)
    for density in (0.0, 0.01, 0.5, 1.0):
        spikes = rng.random(n) < density
        out_kernel, out_reference = np.full(n, -1, np.int64), np.full(n, -1, np.int64)
        count = collect_spikes_kernel(spikes, out_kernel)
        assert count == collect_spikes_reference(spikes, out_reference) == spikes.sum()
        np.testing.assert_array_equal(out_kernel[:count], np.flatnonzero(spikes))
        np.testing.assert_array_equal(out_kernel, out_reference)


def test_shared_params_only_for_a_homogeneous_population():
    rng = np.random.default_rng(0)
    _, params = random_population(rng, 5, shared=True)
    shared = shared_params(params)
    assert all(np.ndim(x) == 0 for x in shared)
    assert [float(x) for x in shared] == [float(x[0]) for x in params]
    _, params = random_population(rng, 5, shared=False)
    assert shared_params(params) is params
