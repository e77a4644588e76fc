"""Populations (spikingnn/groups.py): a group is n single units; a synapse group is its exponential synapses.

The references are the single units of spikingnn/neurons.py and spikingnn/synapses.py (bit for bit), the
closed form of the exponential synapse, and the binomial statistics of random connectivity.
"""
import numpy as np
import pytest
import scipy.sparse
from hypothesis import given
from hypothesis import strategies as st

from spikingnn.groups import ALIFGroup, LIFGroup, SynapseGroup
from spikingnn.neurons import ALIF, FirstOrderLIF
from spikingnn.synapses import FirstOrderSynapse

BACKENDS = ("numba", "numpy")


@st.composite
def heterogeneous_population(draw, adaptive):
    """Per-neuron parameters (arrays of n values) and one group-wide dt, integrator, reset."""
    n = draw(st.integers(1, 6))

    def per_neuron(low, high):
        return np.array(draw(st.lists(st.floats(low, high), min_size=n, max_size=n)))

    v_reset = per_neuron(-1.0, 0.5)
    params = dict(tau_mem=per_neuron(1.0, 100.0), v_rest=per_neuron(-0.5, 0.5), v_reset=v_reset,
                  v_threshold=v_reset + per_neuron(0.1, 2.0), resistance=per_neuron(0.2, 5.0),
                  refractory=per_neuron(0.0, 3.0), reset=draw(st.sampled_from(["zero", "subtract"])))
    if adaptive:
        params.update(tau_adapt=per_neuron(5.0, 500.0), beta_adapt=per_neuron(0.0, 2.0))
    return n, params, draw(st.floats(0.05, 1.0)), draw(st.sampled_from(["exact", "euler"]))


def unit_params(params, k):
    def value_of(value):
        return value if isinstance(value, str) else float(value if np.ndim(value) == 0 else value[k])
    return {name: value_of(value) for name, value in params.items()}


def check_group_matches_units(group_class, unit_class, case, seed, backend):
    n, params, dt, integrator = case
    group = group_class(n, dt=dt, integrator=integrator, backend=backend, **params)
    units = [unit_class(dt=dt, integrator=integrator, **unit_params(params, k)) for k in range(n)]
    currents = np.random.default_rng(seed).uniform(-1.0, 4.0, (150, n))
    for t, current in enumerate(currents):
        spikes = group.step(current)
        expected = [unit.step(float(c)) for unit, c in zip(units, current)]
        np.testing.assert_array_equal(spikes, expected, err_msg=f"spikes of step {t}")
        np.testing.assert_array_equal(group.v, [unit.v for unit in units], err_msg=f"v after step {t}")
        np.testing.assert_array_equal(group.refractory_left, [unit.refractory_left for unit in units])
        if group_class is ALIFGroup:
            np.testing.assert_array_equal(group.a, [unit.a for unit in units], err_msg=f"a after step {t}")
            np.testing.assert_array_equal(group.threshold, [unit.threshold for unit in units])


@pytest.mark.parametrize("backend", BACKENDS)
@given(case=heterogeneous_population(adaptive=False), seed=st.integers(0, 2**32 - 1))
def test_lif_group_is_n_single_units_bit_for_bit(backend, case, seed):
    """A heterogeneous LIFGroup gives exactly the spikes and potentials of n FirstOrderLIF."""
    check_group_matches_units(LIFGroup, FirstOrderLIF, case, seed, backend)


@pytest.mark.parametrize("backend", BACKENDS)
@given(case=heterogeneous_population(adaptive=True), seed=st.integers(0, 2**32 - 1))
def test_alif_group_is_n_single_units_bit_for_bit(backend, case, seed):
    """A heterogeneous ALIFGroup gives exactly the spikes, potentials, adaptation and thresholds of n ALIF."""
    check_group_matches_units(ALIFGroup, ALIF, case, seed, backend)


@pytest.mark.parametrize("backend", BACKENDS)
def test_homogeneous_group_is_single_units_too(backend):
    """Shared (scalar) parameters take the kernel's scalar path; the numbers are the same."""
    case = (5, dict(tau_mem=15.0, refractory=1.0, reset="subtract"), 0.1, "exact")
    check_group_matches_units(LIFGroup, FirstOrderLIF, case, 3, backend)


def test_reset_state_and_state_assignment():
    group = ALIFGroup(3, v_rest=0.2)
    for _ in range(50):
        group.step(5.0)
    assert group.a.max() > 0
    group.v = [0.1, 0.2, 0.3]
    np.testing.assert_array_equal(group.v, [0.1, 0.2, 0.3])
    group.reset_state()
    np.testing.assert_array_equal(group.v, [0.2, 0.2, 0.2])
    assert not group.a.any() and not group.refractory_left.any() and not group.spikes.any()


# --------------------------------------------------------------------------- synapse groups

def pre_spike_trains(rng, n_steps, n_pre):
    return rng.random((n_steps, n_pre)) < 0.1


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("sparse", [False, True])
def test_synapse_group_current_is_the_sum_of_exponential_kernels(backend, sparse):
    """i_syn_j(t) = sum over pre spikes (i, t_f <= t) of w_ij exp(-(t - t_f) dt / tau_syn): the closed form."""
    rng = np.random.default_rng(1)
    n_pre, n_post, n_steps, dt, tau = 6, 4, 120, 0.25, 3.0
    weights = rng.normal(0.0, 1.0, (n_pre, n_post)) * (rng.random((n_pre, n_post)) < 0.6)
    pre, post = LIFGroup(n_pre, dt=dt), LIFGroup(n_post, dt=dt)
    synapses = SynapseGroup(pre, post, scipy.sparse.csr_matrix(weights) if sparse else weights, tau_syn=tau,
                            backend=backend)
    spikes = pre_spike_trains(rng, n_steps, n_pre)
    currents = np.array([synapses.step(s).copy() for s in spikes])
    lags = np.arange(n_steps)[:, None] - np.arange(n_steps)[None, :]            # t - t_f
    kernel = np.where(lags >= 0, np.exp(-np.maximum(lags, 0) * dt / tau), 0.0)   # (t, t_f)
    expected = kernel @ (spikes.astype(float) @ weights)
    np.testing.assert_allclose(currents, expected, rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("backend", BACKENDS)
def test_one_to_one_synapses_are_first_order_synapses_bit_for_bit(backend):
    rng = np.random.default_rng(2)
    pre, post = LIFGroup(5, dt=0.1), LIFGroup(5, dt=0.1)
    synapses = SynapseGroup.one_to_one(pre, post, weight=0.7, tau_syn=4.0, backend=backend)
    singles = [FirstOrderSynapse(tau_syn=4.0, weight=0.7, dt=0.1) for _ in range(5)]
    for s in pre_spike_trains(rng, 200, 5):
        np.testing.assert_array_equal(synapses.step(s), [syn.step(bool(x)) for syn, x in zip(singles, s)])


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("sparse", [False, True])
def test_delays_shift_arrival_by_exactly_d_steps(backend, sparse):
    """With every delay d, the current trace is the delay-0 trace shifted by d steps."""
    rng = np.random.default_rng(3)
    pre, post = LIFGroup(8, dt=0.1), LIFGroup(3, dt=0.1)
    weights = rng.uniform(0.1, 1.0, (8, 3))
    weights = scipy.sparse.csr_matrix(weights) if sparse else weights
    spikes = pre_spike_trains(rng, 100, 8)
    traces = {}
    for d in (0, 1, 5):
        synapses = SynapseGroup(pre, post, weights, delay=d, backend=backend)
        traces[d] = np.array([synapses.step(s).copy() for s in spikes])
    for d in (1, 5):
        np.testing.assert_array_equal(traces[d][:d], 0.0)
        np.testing.assert_allclose(traces[d][d:], traces[0][:-d], rtol=1e-12)


@pytest.mark.parametrize("backend", BACKENDS)
def test_per_connection_delays(backend):
    """Connection (i, j) with delay d_ij: a lone spike of i reaches j exactly d_ij steps later."""
    pre, post = LIFGroup(2, dt=0.1), LIFGroup(3, dt=0.1)
    delays = np.array([[0, 2, 7], [1, 1, 3]])
    synapses = SynapseGroup.all_to_all(pre, post, weight=1.0, delay=delays, tau_syn=1e9, backend=backend)
    arrival = np.full(3, -1)
    for t in range(10):
        current = synapses.step(np.array([t == 0, False])).copy()
        arrival[(arrival < 0) & (current > 0)] = t
    np.testing.assert_array_equal(arrival, delays[0])


@pytest.mark.parametrize("p", [0.0, 0.03, 0.5, 1.0])
def test_connect_random_statistics(p):
    """The number of synapses is Binomial(n_pre n_post, p): within 5 standard deviations; no duplicates."""
    n_pre, n_post = 300, 200
    pre, post = LIFGroup(n_pre), LIFGroup(n_post)
    synapses = SynapseGroup.connect_random(pre, post, p=p, weight=0.5, rng=np.random.default_rng(4))
    w = synapses.weights
    total = n_pre * n_post
    assert abs(w.nnz - total * p) <= 5 * np.sqrt(total * p * (1 - p)) + 1e-9
    assert w.has_canonical_format and np.all(w.data == 0.5)
    if 0 < p < 1:                                       # each row is Binomial(n_post, p) too
        per_row = np.diff(w.indptr)
        assert abs(per_row.mean() - n_post * p) <= 5 * np.sqrt(n_post * p * (1 - p) / n_pre)


def test_connect_random_is_reproducible_and_uses_the_generator():
    pre, post = LIFGroup(50), LIFGroup(40)
    a, b = (SynapseGroup.random(pre, post, 0.2, 1.0, rng=7).weights for _ in range(2))
    c = SynapseGroup.random(pre, post, 0.2, 1.0, rng=8).weights
    assert (a != b).nnz == 0 and (a != c).nnz > 0


def test_one_to_one_and_all_to_all_patterns():
    pre, post = LIFGroup(4), LIFGroup(4)
    np.testing.assert_array_equal(SynapseGroup.one_to_one(pre, post, 2.0).weights.toarray(), 2.0 * np.eye(4))
    all_to_all = SynapseGroup.all_to_all(pre, LIFGroup(3), 0.5)
    assert all_to_all.dense and all_to_all.n_connections == 12 and np.all(all_to_all.weights == 0.5)


def test_subgroup_is_a_slice_of_its_group():
    group = LIFGroup(6)
    sub = group[2:5]
    assert (sub.n, sub.start, sub.stop, sub.group, sub.dt) == (3, 2, 5, group, group.dt)
    group.step([0.0, 0.0, 5e3, 0.0, 5e3, 5e3])
    np.testing.assert_array_equal(sub.spikes, [True, False, True])
    assert group[-2:].start == 4


def test_learn_calls_the_rule_with_this_steps_spikes():
    class Recorder:
        def __init__(self):
            self.calls = []

        def update(self, weights, pre_spikes, post_spikes):
            self.calls.append((pre_spikes.copy(), post_spikes.copy()))
            weights += 1.0

    rule = Recorder()
    synapses = SynapseGroup.all_to_all(LIFGroup(2), LIFGroup(3), 0.0, learning_rule=rule)
    synapses.learn(np.array([True, False]), np.array([False, False, True]))
    assert len(rule.calls) == 1 and rule.calls[0][0].tolist() == [True, False]
    np.testing.assert_array_equal(synapses.weights, 1.0)
    SynapseGroup.all_to_all(LIFGroup(2), LIFGroup(3), 0.0).learn([True, True], [True] * 3)   # no rule: no-op


# --------------------------------------------------------------------------- validation

@pytest.mark.parametrize("make, name", [
    (lambda: LIFGroup(0), "n"),
    (lambda: LIFGroup(3, tau_mem=[10.0, 20.0]), "tau_mem"),
    (lambda: LIFGroup(2, tau_mem=[10.0, -1.0]), "tau_mem"),
    (lambda: LIFGroup(2, dt=0.0), "dt"),
    (lambda: LIFGroup(2, integrator="rk4"), "integrator"),
    (lambda: LIFGroup(2, backend="torch"), "backend"),
    (lambda: LIFGroup(2, v_threshold=[1.0, -1.0]), "v_threshold"),
    (lambda: ALIFGroup(2, beta_adapt=[0.1, -0.1]), "beta_adapt"),
    (lambda: LIFGroup(2).step([1.0, 2.0, 3.0]), "current"),
    (lambda: LIFGroup(2).step([1.0, np.nan]), "current"),
    (lambda: SynapseGroup(LIFGroup(2), LIFGroup(3), np.ones((3, 2))), "weights"),
    (lambda: SynapseGroup(LIFGroup(2), LIFGroup(3), np.full((2, 3), np.nan)), "weights"),
    (lambda: SynapseGroup(LIFGroup(2), LIFGroup(3), scipy.sparse.csr_matrix(np.full((2, 3), np.inf))), "weights"),
    (lambda: SynapseGroup(LIFGroup(2), LIFGroup(3), np.ones((2, 3)), delay=-1), "delay"),
    (lambda: SynapseGroup(LIFGroup(2), LIFGroup(3), np.ones((2, 3)), delay=1.5), "delay"),
    (lambda: SynapseGroup(LIFGroup(2), LIFGroup(3), np.ones((2, 3)), delay=np.ones((3, 2))), "delay"),
    (lambda: SynapseGroup(LIFGroup(2), LIFGroup(3), np.ones((2, 3)), tau_syn=0.0), "tau_syn"),
    (lambda: SynapseGroup(LIFGroup(2), "group", np.ones((2, 3))), "post"),
    (lambda: SynapseGroup(np.ones(2), LIFGroup(3), np.ones((2, 3))), "pre"),
    (lambda: SynapseGroup(LIFGroup(2), LIFGroup(3), np.ones((2, 3))).step([True]), "pre_spikes"),
    (lambda: SynapseGroup.random(LIFGroup(2), LIFGroup(3), p=1.5, weight=1.0), "p"),
    (lambda: SynapseGroup.random(LIFGroup(2), LIFGroup(3), p=-0.1, weight=1.0), "p"),
    (lambda: SynapseGroup.random(LIFGroup(2), LIFGroup(3), p=0.5, weight=np.nan), "weight"),
    (lambda: SynapseGroup.one_to_one(LIFGroup(2), LIFGroup(3)), "one_to_one"),
    (lambda: LIFGroup(5)[3:3], "subgroup"),
    (lambda: LIFGroup(5)[::2], "subgroup"),
    (lambda: LIFGroup(5)[2], "subgroup"),
    (lambda: SynapseGroup(LIFGroup(2), LIFGroup(4)[1:3], np.ones((2, 2))), "post"),
])
def test_bad_input_raises_value_error_naming_the_parameter(make, name):
    with pytest.raises(ValueError, match=name):
        make()


def test_docstring_example():
    import doctest

    import spikingnn.groups
    assert doctest.testmod(spikingnn.groups).failed == 0


def test_each_step_returns_its_own_spikes():
    """Collecting step() results keeps every step: the returned array is not overwritten by the next step."""
    group = LIFGroup(3, dt=1.0, tau_mem=10.0, v_rest=0.0, v_reset=0.0, v_threshold=1.0, refractory=0.0)
    steps = [group.step(np.array([50.0, 0.0, 50.0]) if t == 0 else np.zeros(3)) for t in range(3)]
    np.testing.assert_array_equal(np.array(steps), [[True, False, True], [False] * 3, [False] * 3])
