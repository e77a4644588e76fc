"""Pair-based STDP (spikingnn.stdp): the window, the bounds, the trace variants, kernels against references."""
import numpy as np
import pytest
import scipy.sparse as sp
from hypothesis import given
from hypothesis import strategies as st

from spikingnn.kernels.stdp import (
    csr_column_index,
    depress_weight,
    normalize_columns_kernel,
    potentiate_weight,
    stdp_csr_kernel,
    stdp_csr_reference,
    stdp_dense_kernel,
    stdp_dense_reference,
)
from spikingnn.stdp import (
    STDP,
    STDPParams,
    Trace,
    depress,
    normalize_columns,
    pair_weight_change,
    potentiate,
    stdp_window,
)


def analytic_window(delta_t, a_plus, a_minus, tau_plus, tau_minus):
    """Bi & Poo's window, written from the equation: +A+ exp(-dt/tau+) after, -A- exp(dt/tau-) before."""
    return a_plus * np.exp(-delta_t / tau_plus) if delta_t >= 0 else -a_minus * np.exp(delta_t / tau_minus)


@pytest.mark.parametrize("traces", ["all_to_all", "nearest"])
def test_measured_pair_change_reproduces_the_exponential_window(traces):
    """Sweep Delta t over +-80 ms: sign and magnitude of the simulated change follow A exp(-|Delta t| / tau)."""
    params = dict(a_plus=0.008, a_minus=0.01, tau_plus=16.8, tau_minus=33.7, traces=traces)
    for delta_t in np.arange(-80.0, 80.5, 2.5):
        measured = pair_weight_change(delta_t, dt=0.5, w0=0.5, **params)
        expected = analytic_window(delta_t, 0.008, 0.01, 16.8, 33.7)
        assert np.sign(measured) == np.sign(expected), f"wrong sign at Delta t = {delta_t} ms"
        assert measured == pytest.approx(expected, rel=1e-9), f"wrong magnitude at Delta t = {delta_t} ms"
    np.testing.assert_allclose(stdp_window([-10.0, 10.0], STDPParams(**params)),
                               [analytic_window(-10.0, 0.008, 0.01, 16.8, 33.7),
                                analytic_window(10.0, 0.008, 0.01, 16.8, 33.7)], rtol=1e-12)


@given(lag=st.integers(0, 300), before=st.booleans(), dt=st.sampled_from([0.1, 0.25, 1.0]),
       a_plus=st.floats(1e-4, 0.05), a_minus=st.floats(1e-4, 0.05), tau_plus=st.floats(2.0, 60.0),
       tau_minus=st.floats(2.0, 60.0))
def test_window_holds_for_random_parameters(lag, before, dt, a_plus, a_minus, tau_plus, tau_minus):
    delta_t = -lag * dt if before and lag else lag * dt
    measured = pair_weight_change(delta_t, dt=dt, w0=0.5, a_plus=a_plus, a_minus=a_minus,
                                  tau_plus=tau_plus, tau_minus=tau_minus)
    assert measured == pytest.approx(analytic_window(delta_t, a_plus, a_minus, tau_plus, tau_minus), rel=1e-9)


def test_soft_bounds_scale_the_change_by_the_distance_to_the_bound():
    """Multiplicative STDP (mu = 1): Delta w = a_plus (w_max - w) exp(-Dt/tau) and -a_minus (w - w_min) exp(Dt/tau)."""
    kw = dict(a_plus=0.01, a_minus=0.02, tau_plus=20.0, tau_minus=20.0, w_min=0.1, w_max=2.0, bounds="soft", mu=1.0)
    assert pair_weight_change(10.0, dt=1.0, w0=1.5, **kw) == pytest.approx(0.01 * 0.5 * np.exp(-0.5), rel=1e-9)
    assert pair_weight_change(-10.0, dt=1.0, w0=1.5, **kw) == pytest.approx(-0.02 * 1.4 * np.exp(-0.5), rel=1e-9)


def test_all_to_all_sums_pairs_and_nearest_keeps_the_last():
    """Pre spikes at 0 and 10 ms, post at 20 ms: all-to-all counts both pairs, nearest only the 10 ms one."""
    changes = {}
    for traces in ("all_to_all", "nearest"):
        rule, w = STDP(dt=1.0, a_plus=0.01, tau_plus=20.0, traces=traces), np.full((1, 1), 0.5)
        for step in range(21):
            rule.update(w, np.array([step in (0, 10)]), np.array([step == 20]))
        changes[traces] = w[0, 0] - 0.5
    assert changes["all_to_all"] == pytest.approx(0.01 * (np.exp(-1.0) + np.exp(-0.5)), rel=1e-9)
    assert changes["nearest"] == pytest.approx(0.01 * np.exp(-0.5), rel=1e-9)


def test_no_change_without_spikes():
    rng = np.random.default_rng(0)
    w = rng.uniform(0, 1, size=(30, 20))
    before = w.copy()
    rule = STDP(dt=0.5)
    for _ in range(50):
        rule.update(w, np.zeros(30, dtype=bool), np.zeros(20, dtype=bool))
    np.testing.assert_array_equal(w, before)


def test_only_rows_and_columns_of_spiking_neurons_change():
    rng = np.random.default_rng(1)
    w = rng.uniform(0.2, 0.8, size=(40, 25))
    rule = STDP(dt=1.0, a_plus=0.05, a_minus=0.05)
    pre_fired, post_fired = np.zeros(40, dtype=bool), np.zeros(25, dtype=bool)
    for _ in range(20):
        pre, post = rng.random(40) < 0.05, rng.random(25) < 0.05
        pre_fired |= pre
        post_fired |= post
        before = w.copy()
        rule.update(w, pre, post)
        untouched = ~pre[:, None] & ~post[None, :]
        np.testing.assert_array_equal(w[untouched], before[untouched])
    assert pre_fired.any() and post_fired.any()


@given(seed=st.integers(0, 2**32 - 1), bounds=st.sampled_from(["hard", "soft"]), mu=st.floats(0.0, 2.0),
       traces=st.sampled_from(["all_to_all", "nearest"]), amplitude=st.floats(0.0, 3.0),
       p_spike=st.floats(0.0, 1.0), sparse=st.booleans())
def test_weights_stay_within_bounds_under_any_spike_pattern(seed, bounds, mu, traces, amplitude, p_spike, sparse):
    rng = np.random.default_rng(seed)
    w_min, w_max = -0.5, 1.5
    dense = rng.uniform(w_min, w_max, size=(12, 9))
    weights = sp.random(12, 9, density=0.5, format="csr", random_state=seed) if sparse else dense
    if sparse:
        weights.data[:] = rng.uniform(w_min, w_max, size=weights.nnz)
    rule = STDP(dt=1.0, a_plus=amplitude, a_minus=amplitude * rng.uniform(0.5, 2.0), w_min=w_min, w_max=w_max,
                bounds=bounds, mu=mu, traces=traces, tau_plus=30.0, tau_minus=30.0)
    values = weights.data if sparse else weights
    for _ in range(40):
        rule.update(weights, rng.random(12) < p_spike, rng.random(9) < p_spike)
        assert values.min() >= w_min and values.max() <= w_max


def random_step_inputs(rng, n_pre, n_post):
    """Traces, spiking indices and constants for one kernel call."""
    x_pre, x_post = rng.uniform(0, 2, n_pre), rng.uniform(0, 2, n_post)
    pre_idx = np.flatnonzero(rng.random(n_pre) < 0.3)
    post_idx = np.flatnonzero(rng.random(n_post) < 0.3)
    return x_pre, x_post, pre_idx, post_idx


@pytest.mark.parametrize("mu", [0.0, 0.5, 1.0])
def test_dense_kernel_matches_reference(mu):
    rng = np.random.default_rng(2)
    for _ in range(5):
        w = rng.uniform(0, 1, size=(33, 17))
        args = (*random_step_inputs(rng, 33, 17), 0.03, 0.02, 0.0, 1.0, mu)
        fast, slow = w.copy(), w.copy()
        stdp_dense_kernel(fast, *args)
        stdp_dense_reference(slow, *args)
        np.testing.assert_allclose(fast, slow, rtol=1e-13, atol=1e-15, err_msg=f"mu={mu}")
        assert not np.array_equal(fast, w)


@pytest.mark.parametrize("mu", [0.0, 1.0])
def test_csr_kernel_matches_reference_and_dense_rule(mu):
    rng = np.random.default_rng(3)
    for _ in range(5):
        matrix = sp.random(40, 30, density=0.2, format="csr", random_state=rng)
        columns = csr_column_index(matrix.indptr, matrix.indices, 30)
        inputs = random_step_inputs(rng, 40, 30)
        constants = (0.03, 0.02, 0.0, 1.0, mu)
        fast, slow, dense = matrix.data.copy(), matrix.data.copy(), matrix.toarray()
        stdp_csr_kernel(fast, matrix.indptr, matrix.indices, *columns, *inputs, *constants)
        stdp_csr_reference(slow, matrix.indptr, matrix.indices, *columns, *inputs, *constants)
        stdp_dense_reference(dense, *inputs, *constants)
        np.testing.assert_allclose(fast, slow, rtol=1e-13, atol=1e-15)
        stored = sp.csr_matrix((fast, matrix.indices, matrix.indptr), shape=(40, 30)).tocoo()
        np.testing.assert_allclose(stored.data, dense[stored.row, stored.col], rtol=1e-13, atol=1e-15)


@pytest.mark.parametrize("backend", ["numba", "numpy"])
def test_rule_on_csr_equals_rule_on_dense_at_stored_synapses(backend):
    rng = np.random.default_rng(4)
    matrix = sp.random(25, 15, density=0.3, format="csr", random_state=rng)
    dense = matrix.toarray()
    sparse_rule, dense_rule = STDP(dt=0.5, backend=backend), STDP(dt=0.5, backend=backend)
    for _ in range(60):
        pre, post = rng.random(25) < 0.1, rng.random(15) < 0.1
        sparse_rule.update(matrix, pre, post)
        dense_rule.update(dense, pre, post)
    coo = matrix.tocoo()
    np.testing.assert_allclose(coo.data, dense[coo.row, coo.col], rtol=1e-12)


@given(tau=st.floats(1.0, 50.0), dt=st.sampled_from([0.1, 0.5, 1.0]), seed=st.integers(0, 2**32 - 1))
def test_traces_are_sums_of_exponentials_of_past_spikes(tau, dt, seed):
    """After the decay of step n, x = sum over spike steps k < n of exp(-(n - k) dt / tau) (all-to-all) or the term
    of the latest spike alone (nearest): the exact solution of tau dx/dt = -x + jumps, sampled."""
    rng = np.random.default_rng(seed)
    spikes = rng.random((120, 3)) < 0.1
    traces = {mode: Trace(np.zeros(3), tau, dt, mode) for mode in ("all_to_all", "nearest")}
    for step in range(120):
        for trace in traces.values():
            trace.decay()
            trace.record(spikes[step])
    age = dt * (120 - np.arange(120))[:, None] - dt      # time from each step's spikes to the end of step 119
    kernels = np.where(spikes, np.exp(-age / tau), 0.0)
    np.testing.assert_allclose(traces["all_to_all"].x, kernels.sum(axis=0), rtol=1e-9)
    latest = np.array([kernels[np.flatnonzero(spikes[:, k])[-1], k] if spikes[:, k].any() else 0.0 for k in range(3)])
    np.testing.assert_allclose(traces["nearest"].x, latest, rtol=1e-9)
    with pytest.raises(ValueError, match="mode"):
        Trace(np.zeros(3), tau, dt, "triplet")
    with pytest.raises(ValueError, match="tau"):
        Trace(np.zeros(3), 0.0, dt)


def test_each_bound_stops_the_direction_it_moves():
    """Depression stops at w_min, potentiation at w_max; a weight above w_max (left there by rescaling, as in
    Diehl & Cook) keeps its value under depression and is brought down to w_max by potentiation."""
    w = np.array([[0.05, 1.3, 0.5]])
    depress(w, np.array([0]), np.array([1.0, 1.0, 0.0]), 0.1, 0.0, 0.0)
    np.testing.assert_array_equal(w, [[0.0, 1.2, 0.5]])
    potentiate(w, np.array([1, 2]), np.array([1.0]), 1.0, 0.7, 1.0, 0.0)
    np.testing.assert_array_equal(w, [[0.0, 1.0, 1.0]])


def test_potentiation_scales_with_the_postsynaptic_factor():
    """Delta w_ij = a_plus x_pre_i y_j (w_max - w_ij)^mu: Diehl & Cook's y_j = x_post2_j, 1 for pair STDP; the
    compiled one-weight forms agree with the NumPy pieces."""
    rng = np.random.default_rng(5)
    w0, x_pre, y = rng.uniform(0.0, 0.5, (6, 4)), rng.uniform(0, 1, 6), rng.uniform(0, 1, 4)
    for mu in (0.0, 1.0):
        w = w0.copy()
        potentiate(w, np.arange(4), x_pre, y, 0.3, 1.0, mu)
        np.testing.assert_allclose(w - w0, 0.3 * np.outer(x_pre, y) * (1.0 - w0) ** mu, rtol=0, atol=1e-15)
        one_by_one = [[potentiate_weight(w0[i, j], x_pre[i], y[j], 0.3, 1.0, mu) for j in range(4)] for i in range(6)]
        np.testing.assert_allclose(one_by_one, w, rtol=1e-13)
        w = w0.copy()
        depress(w, np.arange(6), y, 0.3, 0.0, mu)
        one_by_one = [[depress_weight(w0[i, j], y[j], 0.3, 0.0, mu) for j in range(4)] for i in range(6)]
        np.testing.assert_allclose(one_by_one, w, rtol=1e-13)
        np.testing.assert_allclose(w, np.maximum(w0 - 0.3 * y * w0**mu, 0.0), rtol=1e-12)


@pytest.mark.parametrize("normalize", [normalize_columns, normalize_columns_kernel])
@given(seed=st.integers(0, 2**32 - 1), total=st.floats(1.0, 200.0))
def test_normalisation_sets_every_column_sum(normalize, seed, total):
    rng = np.random.default_rng(seed)
    w = rng.uniform(0, 1, size=(30, 7))
    w[:, 3] = 0.0
    before, reference = w.copy(), w.copy()
    normalize(w, total)
    normalize_columns(reference, total)
    np.testing.assert_allclose(w, reference, rtol=1e-13)        # the kernel is the reference
    sums = w.sum(axis=0)
    np.testing.assert_allclose(np.delete(sums, 3), total, rtol=1e-12)
    assert sums[3] == 0.0
    np.testing.assert_allclose(w[:, 0] / before[:, 0], total / before[:, 0].sum(), rtol=1e-12)   # a rescaling


def test_invalid_parameters_and_inputs_raise_value_errors():
    with pytest.raises(ValueError, match="tau_plus"):
        STDPParams(tau_plus=0.0)
    with pytest.raises(ValueError, match="w_max"):
        STDPParams(w_min=1.0, w_max=1.0)
    with pytest.raises(ValueError, match="bounds"):
        STDPParams(bounds="elastic")
    with pytest.raises(ValueError, match="traces"):
        STDPParams(traces="all")
    with pytest.raises(ValueError, match="a_minus"):
        STDPParams(a_minus=-0.1)
    with pytest.raises(ValueError, match="dt"):
        STDP(dt=-1.0)
    with pytest.raises(ValueError, match="post_spikes"):
        STDP().update(np.zeros((3, 2)), np.zeros(3, dtype=bool), np.zeros(3, dtype=bool))
    with pytest.raises(ValueError, match="weights"):
        STDP().update(sp.coo_matrix(np.ones((3, 2))), np.ones(3, dtype=bool), np.zeros(2, dtype=bool))


@pytest.mark.parametrize("sparse", [False, True])
def test_learning_synapses_inside_a_network_change_weights_as_the_rule_predicts(sparse):
    """Run a Network with plastic input synapses, then replay the recorded spikes through a fresh rule:
    the network's weights must be exactly the replay's (the hook sees each step's pre and post spikes)."""
    from spikingnn.groups import LIFGroup, SynapseGroup
    from spikingnn.monitors import SpikeMonitor
    from spikingnn.network import Network
    from spikingnn.sources import PoissonSource

    rng = np.random.default_rng(9)
    dt, n_pre, n_post, duration = 0.5, 30, 4, 400.0
    w0 = rng.uniform(0.1, 0.5, size=(n_pre, n_post))
    if sparse:
        w0 = sp.csr_matrix(w0 * (rng.random((n_pre, n_post)) < 0.6))
    params = dict(a_plus=0.02, a_minus=0.021, tau_plus=15.0, tau_minus=25.0, w_max=0.6)
    source, group = PoissonSource(n_pre, rate_hz=60.0, rng=1), LIFGroup(n_post, dt=dt, tau_mem=10.0)
    synapses = SynapseGroup(source, group, w0.copy(), tau_syn=5.0, learning_rule=STDP(dt=dt, **params))
    pre_monitor, post_monitor = SpikeMonitor(source), SpikeMonitor(group)
    Network(source, group, synapses, pre_monitor, post_monitor).run(duration)
    assert post_monitor.count.sum() > 5

    n_steps = int(round(duration / dt))
    pre, post = np.zeros((n_steps, n_pre), dtype=bool), np.zeros((n_steps, n_post), dtype=bool)
    pre[pre_monitor.steps, pre_monitor.indices] = True
    post[post_monitor.steps, post_monitor.indices] = True
    replayed, rule = w0.copy(), STDP(dt=dt, **params)
    for t in range(n_steps):
        rule.update(replayed, pre[t], post[t])
    learned = synapses.weights
    if sparse:
        learned, replayed, w0 = learned.toarray(), replayed.toarray(), w0.toarray()
    np.testing.assert_allclose(learned, replayed, rtol=1e-12, atol=1e-15)
    assert np.abs(learned - w0).max() > 0.01
