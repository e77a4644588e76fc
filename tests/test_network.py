"""Networks (spikingnn/network.py): the documented update order, backends, chunking, inputs, plasticity hook.

The reference for a network run is the same network advanced by hand, object by object, in the order the
Network docstring states, with the objects' own ``step`` methods; and the single units behind them.
"""
import tracemalloc

import numpy as np
import pytest
import scipy.sparse

import spikingnn.network as network_module
from spikingnn.cuba import NEURON, cuba_network
from spikingnn.groups import ALIFGroup, LIFGroup, SynapseGroup
from spikingnn.monitors import SpikeMonitor, StateMonitor
from spikingnn.network import Network
from spikingnn.neurons import lif_rate
from spikingnn.sources import ConstantCurrent, PoissonSource, TimeVaryingCurrent

N_STEPS = 300


def build(backend="numba", seed=0):
    """A small network with every kind of object: heterogeneous and shared parameters, LIF and ALIF, Euler and
    subtract reset, dense and CSR weights, delays, three synaptic inputs onto one group, all input kinds."""
    rng = np.random.default_rng(seed)
    source = PoissonSource(20, rate_hz=rng.uniform(50.0, 300.0, 20), rng=seed)
    a = LIFGroup(15, tau_mem=rng.uniform(5.0, 30.0, 15), refractory=1.0, backend=backend)
    b = ALIFGroup(10, tau_mem=12.0, integrator="euler", reset="subtract", beta_adapt=0.3, tau_adapt=50.0,
                  backend=backend)
    synapses = [
        SynapseGroup.random(source, a, 0.4, 0.4, rng=rng, tau_syn=3.0, delay=2, backend=backend),
        SynapseGroup(a, b, rng.uniform(0.0, 0.6, (15, 10)), tau_syn=5.0,
                     delay=rng.integers(0, 4, (15, 10)), backend=backend),
        SynapseGroup.random(b, a, 0.5, -0.3, rng=rng, tau_syn=8.0, backend=backend),
        SynapseGroup.random(a, a, 0.2, 0.2, rng=rng, tau_syn=4.0, backend=backend),
        SynapseGroup(source, b, scipy.sparse.random(20, 10, 0.3, random_state=seed, format="csr"), backend=backend),
        SynapseGroup.random(a[5:12], b, 0.5, 0.4, rng=rng, tau_syn=2.0, backend=backend),      # from a subgroup
    ]
    currents = [ConstantCurrent(a, 1.1), ConstantCurrent(b, rng.uniform(0.5, 1.0, 10)),
                TimeVaryingCurrent(b, np.sin(np.arange(N_STEPS) / 20.0)),
                TimeVaryingCurrent(a, lambda t: 0.2 * np.cos(t / 3.0))]
    monitors = [SpikeMonitor(a), SpikeMonitor(b), SpikeMonitor(source), StateMonitor(a, ("v",)),
                StateMonitor(b, ("v", "a", "threshold"), indices=[0, 5, 9], every=3), SpikeMonitor(a[3:9])]
    return Network(source, a, b, *synapses, *currents, *monitors, backend=backend), monitors


def records(monitors):
    """Everything the monitors hold, as arrays."""
    out = []
    for m in monitors:
        out += [m.steps, m.indices] if isinstance(m, SpikeMonitor) else [m.t] + [getattr(m, v) for v in m.variables]
    return out


def test_network_follows_its_documented_order():
    """The run equals the objects stepped by hand: groups in order, each reading const + varying + i_syn of the
    synapse groups onto it; then every synapse group steps with this step's presynaptic spikes."""
    net, monitors = build()
    net.run(N_STEPS * 0.1)
    manual, _ = build()
    source, a, b = manual.sources[0], *manual.groups
    draws = source.draw(N_STEPS, 0.1)
    constant = {id(c.target): 0.0 + c.amplitude for c in manual.currents if isinstance(c, ConstantCurrent)}
    spikes = {g: [] for g in (a, b, source)}
    v_a = []
    for t in range(N_STEPS):
        source._spikes[:] = draws[t]
        for group in (a, b):
            current = constant[id(group)]
            for c in manual.currents:
                if isinstance(c, TimeVaryingCurrent) and c.target is group:
                    current = current + c.currents(t, 1, 0.1)[0]
            for s in manual.synapses:
                if s.post is group:
                    current = current + s.i_syn
            group.step(current)
        for s in manual.synapses:
            s.step(s.pre.spikes)
        for g in spikes:
            spikes[g].append(g.spikes.copy())
        v_a.append(a.v.copy())
    for monitor, group in zip(monitors[:3], (a, b, source)):
        steps, indices = np.nonzero(np.array(spikes[group]))
        np.testing.assert_array_equal(monitor.steps, steps)
        np.testing.assert_array_equal(monitor.indices, indices)
    np.testing.assert_allclose(monitors[3].v, v_a, rtol=1e-12, atol=1e-12)
    in_subgroup = (monitors[0].indices >= 3) & (monitors[0].indices < 9)
    np.testing.assert_array_equal(monitors[5].steps, monitors[0].steps[in_subgroup])
    np.testing.assert_array_equal(monitors[5].indices, monitors[0].indices[in_subgroup] - 3)
    assert monitors[0].count.sum() > 10 and monitors[1].count.sum() > 10     # the test saw activity


def test_numba_and_numpy_backends_agree():
    """The compiled run and its plain-NumPy reference: the same spikes, the same states."""
    results = []
    for backend in ("numba", "numpy"):
        net, monitors = build(backend)
        net.run(N_STEPS * 0.1)
        results.append(records(monitors))
    for kernel, reference in zip(*results):
        np.testing.assert_allclose(kernel, reference, rtol=1e-12, atol=1e-12)


def test_chunks_and_runs_do_not_change_the_result(monkeypatch):
    """Many short kernel calls, full spike buffers and several run() calls give the numbers of one long run."""
    net, monitors = build()
    net.run(N_STEPS * 0.1)
    expected = records(monitors)
    monkeypatch.setattr(network_module, "CHUNK_STEPS", 7)
    monkeypatch.setattr(network_module, "SPIKE_BUFFER", 0)
    net, monitors = build()
    for duration in (3.3, 11.7, N_STEPS * 0.1 - 15.0):
        net.run(duration)
    assert net.step_count == N_STEPS
    for got, want in zip(records(monitors), expected):
        np.testing.assert_array_equal(got, want)


def test_build_first_gives_the_same_run_and_keeps_the_objects_live():
    """Network.build() before run(): the same numbers; afterwards the groups' arrays are views of the pools."""
    net, monitors = build()
    net.run(N_STEPS * 0.1)
    expected = records(monitors)
    net, monitors = build()
    net.build()
    assert all(np.shares_memory(group.v, net._pools[0].state.v) for group in net.groups)
    net.run(N_STEPS * 0.1)
    for got, want in zip(records(monitors), expected):
        np.testing.assert_array_equal(got, want)


@pytest.mark.parametrize("backend", ["numba", "numpy"])
@pytest.mark.parametrize("delay", [0, 3])
def test_a_spike_reaches_the_membrane_one_step_plus_delay_later(backend, delay):
    pre, post = LIFGroup(1, backend=backend), LIFGroup(1, tau_mem=10.0, v_threshold=1e9, backend=backend)
    pulse = np.zeros(40)
    pulse[5] = 1e6                                              # pre fires in step 5, and only then
    trace, spikes = StateMonitor(post), SpikeMonitor(pre)
    net = Network(pre, post, SynapseGroup.one_to_one(pre, post, 0.5, delay=delay, backend=backend),
                  TimeVaryingCurrent(pre, pulse), trace, spikes)
    net.run(4.0)
    assert spikes.steps.tolist() == [5]
    moved = np.flatnonzero(trace.v[:, 0] != 0.0)
    assert moved[0] == 5 + 1 + delay


@pytest.mark.parametrize("backend", ["numba", "numpy"])
def test_learning_rule_is_called_each_step_after_the_groups(backend):
    class Recorder:
        def __init__(self):
            self.calls = []

        def update(self, weights, pre_spikes, post_spikes):
            self.calls.append((pre_spikes.copy(), post_spikes.copy()))
            weights *= 1.01                                    # in place: the next deliveries see it

    rule = Recorder()
    source, group = PoissonSource(30, 200.0, rng=1), LIFGroup(5, tau_mem=5.0, backend=backend)
    synapses = SynapseGroup.random(source, group, 0.5, 0.3, rng=2, learning_rule=rule, backend=backend)
    monitors = SpikeMonitor(source), SpikeMonitor(group)
    net = Network(source, group, synapses, *monitors)
    net.run(20.0)
    assert len(rule.calls) == 200
    for monitor, column in zip(monitors, (0, 1)):
        called = np.array([call[column] for call in rule.calls])
        steps, indices = np.nonzero(called)
        np.testing.assert_array_equal(steps, monitor.steps)
        np.testing.assert_array_equal(indices, monitor.indices)
    np.testing.assert_allclose(synapses.weights.data, 0.3 * 1.01**200)
    assert monitors[1].count.sum() > 0


def test_group_in_a_network_is_the_group_stepped_alone():
    """With only a constant current, a network group reproduces LIFGroup.step bit for bit."""
    params = dict(tau_mem=np.linspace(5.0, 30.0, 6), refractory=2.0, reset="subtract")
    alone, inside = LIFGroup(6, **params), LIFGroup(6, **params)
    trace = StateMonitor(inside)
    Network(inside, ConstantCurrent(inside, 1.7), trace).run(50.0)
    expected = []
    for _ in range(500):
        alone.step(1.7)
        expected.append(alone.v.copy())
    np.testing.assert_array_equal(trace.v, expected)


def test_poisson_source_statistics_and_seed():
    rates = np.array([10.0, 100.0, 400.0])
    counts = []
    for seed in (5, 5, 6):
        source = PoissonSource(3, rates, rng=seed)
        monitor = SpikeMonitor(source)
        Network(LIFGroup(1), source, monitor).run(2000.0)
        counts.append(monitor.count)
    trials, p = 20000, rates * 0.1 / 1000.0
    assert np.all(np.abs(counts[0] - trials * p) <= 5 * np.sqrt(trials * p * (1 - p)))
    np.testing.assert_array_equal(counts[0], counts[1])
    assert not np.array_equal(counts[0], counts[2])


def test_uncoupled_cuba_neurons_fire_at_the_lif_rate():
    """p = 0: each CUBA neuron is a LIF with v_rest above threshold; its rate is the f-I curve's, 18.9 Hz."""
    net = cuba_network(200, 0.0, rng=0)
    net.run(1000.0)
    rate = sum(m.count.sum() for m in net.monitors) / 200
    expected = float(lif_rate(0.0, **NEURON))
    assert expected == pytest.approx(18.88, abs=0.01)
    assert rate == pytest.approx(expected, rel=0.03)     # whole steps and the first interval: a few percent


def test_coupled_cuba_fires_at_a_few_hz():
    """Inhibition dominates: the coupled network fires well below the uncoupled 19 Hz (Brian2: ~5.6 Hz)."""
    net = cuba_network(2000, 0.04, rng=1)
    net.run(300.0)
    rate = sum(m.count.sum() for m in net.monitors) / 2000 / 0.3
    assert 1.0 < rate < 15.0


def test_memory_does_not_grow_with_simulated_time():
    peaks = []
    for duration in (50.0, 1000.0):
        net = cuba_network(500, 0.05, rng=2, record=False)
        net.run(1.0)
        tracemalloc.start()
        net.run(duration)
        peaks.append(tracemalloc.get_traced_memory()[1])
        tracemalloc.stop()
    assert peaks[1] < peaks[0] + 200_000


@pytest.mark.parametrize("make, message", [
    (lambda: Network().run(1.0), "at least one group"),
    (lambda: Network(LIFGroup(2), "group"), "objects"),
    (lambda: Network(LIFGroup(2)).run(-1.0), "duration"),
    (lambda: Network(LIFGroup(2), LIFGroup(2, dt=0.2)).run(1.0), "same dt"),
    (lambda: Network(LIFGroup(2), SpikeMonitor(LIFGroup(2))).run(1.0), "not in the Network"),
    (lambda: Network(LIFGroup(2), backend="gpu"), "backend"),
    (lambda: Network(LIFGroup(1), PoissonSource(2, 20000.0)).run(1.0), "rate_hz"),
])
def test_bad_networks_raise_value_error(make, message):
    with pytest.raises(ValueError, match=message):
        make()


def test_an_object_belongs_to_one_network():
    group = LIFGroup(2)
    Network(group)
    with pytest.raises(ValueError, match="already belongs"):
        Network(group)


def test_time_varying_values_must_cover_the_run():
    group = LIFGroup(2)
    net = Network(group, TimeVaryingCurrent(group, np.zeros(10)))
    net.run(1.0)
    with pytest.raises(ValueError, match="values"):
        net.run(1.0)


def test_docstring_example():
    import doctest
    assert doctest.testmod(network_module).failed == 0


def test_raster_viz_and_cuba_example_write_their_pictures(tmp_path):
    import importlib.util
    from pathlib import Path

    root = Path(__file__).resolve().parents[1]
    for path, argv in ((root / "visualizations" / "raster_viz.py", []),
                       (root / "examples" / "cuba.py", ["--n", "500", "--p", "0.1", "--duration", "100"])):
        spec = importlib.util.spec_from_file_location(f"script_{path.stem}", path)
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        module.main(argv + ["--out", str(tmp_path)])
    for name in ("raster.png", "cuba_raster.png"):
        assert (tmp_path / name).stat().st_size > 10_000
