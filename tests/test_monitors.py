"""Monitors (spikingnn/monitors.py): they record what the groups emitted and held, and nothing else."""
import numpy as np
import pytest

import spikingnn.monitors
from spikingnn.groups import ALIFGroup, LIFGroup, SynapseGroup
from spikingnn.monitors import SpikeMonitor, StateMonitor, population_rate
from spikingnn.network import Network
from spikingnn.sources import ConstantCurrent, PoissonSource


def small_network(rng_seed=0):
    source = PoissonSource(40, 150.0, rng=rng_seed)
    group = ALIFGroup(12, tau_mem=np.linspace(5.0, 20.0, 12), refractory=0.5, beta_adapt=0.5)
    synapses = SynapseGroup.random(source, group, 0.3, 0.5, rng=rng_seed)
    return source, group, Network(source, group, synapses, ConstantCurrent(group, 0.5))


def test_spike_monitor_records_what_the_group_emitted():
    """Stepping the network one dt at a time and copying group.spikes gives the monitor's arrays exactly."""
    source, group, net = small_network()
    monitor = SpikeMonitor(group)
    net.add(monitor)
    emitted = []
    for _ in range(400):
        net.run(0.1)
        emitted.append(group.spikes.copy())
    steps, indices = np.nonzero(np.array(emitted))
    assert steps.size > 20
    np.testing.assert_array_equal(monitor.steps, steps)
    np.testing.assert_array_equal(monitor.indices, indices)
    np.testing.assert_allclose(monitor.times, steps * 0.1)
    np.testing.assert_array_equal(monitor.count, np.array(emitted).sum(axis=0))
    trains = monitor.spike_trains()
    assert len(trains) == group.n
    for k, train in enumerate(trains):
        np.testing.assert_allclose(train, 0.1 * np.flatnonzero(np.array(emitted)[:, k]))


def test_state_monitor_records_every_kth_step_of_the_chosen_neurons():
    source, group, net = small_network(1)
    every_step = StateMonitor(group, ("v", "a", "threshold", "refractory_left"))
    sparse = StateMonitor(group, "v", indices=[3, 7], every=4)
    net.add(every_step, sparse)
    v_after = []
    for _ in range(50):
        net.run(0.1)
        v_after.append(group.v.copy())
    np.testing.assert_array_equal(every_step.v, v_after)
    np.testing.assert_allclose(every_step.t, 0.1 * np.arange(50))
    np.testing.assert_array_equal(sparse.v, np.array(v_after)[::4][:, [3, 7]])
    np.testing.assert_allclose(sparse.t, 0.1 * np.arange(0, 50, 4))
    rho = np.exp(-0.1 / group.params.tau_adapt)      # the threshold of step t uses a decayed, before any jump
    np.testing.assert_allclose(every_step.threshold[1:], 1.0 + 0.5 * rho * every_step.a[:-1], rtol=1e-12)
    assert every_step.refractory_left.max() > 0


def test_state_monitor_of_a_lif_threshold_is_constant():
    group = LIFGroup(3, v_threshold=[1.0, 2.0, 3.0])
    monitor = StateMonitor(group, "threshold")
    Network(group, monitor).run(1.0)
    np.testing.assert_array_equal(monitor.threshold, np.tile([1.0, 2.0, 3.0], (10, 1)))


def test_population_rate_of_regular_trains():
    """n neurons firing every 10 ms for 1 s: 100 Hz everywhere away from the edges; the spike count is kept."""
    n, dt = 5, 0.5
    times = np.tile(np.arange(0.0, 1000.0, 10.0), n)
    t, rate = population_rate(times, n=n, dt=dt, window=20.0, t_stop=1000.0)
    assert t.shape == rate.shape == (2000,)
    np.testing.assert_allclose(rate[40:-40], 100.0)
    t, rate = population_rate(times, n=n, dt=dt, window=dt, t_stop=1000.0)
    assert rate.sum() * n * dt / 1000.0 == pytest.approx(times.size)


def test_population_rate_from_a_monitor():
    source = PoissonSource(500, 40.0, rng=3)
    monitor = SpikeMonitor(source)
    Network(LIFGroup(1), source, monitor).run(500.0)
    t, rate = population_rate(monitor, window=50.0)
    assert t[-1] == pytest.approx(499.9)
    assert rate.mean() == pytest.approx(40.0, rel=0.1)


@pytest.mark.parametrize("make, name", [
    (lambda: StateMonitor(LIFGroup(2), "w"), "variables"),
    (lambda: StateMonitor(LIFGroup(2), "a"), "ALIFGroup"),
    (lambda: StateMonitor(LIFGroup(2), indices=[2]), "indices"),
    (lambda: StateMonitor(LIFGroup(2), every=0), "every"),
    (lambda: population_rate(np.array([1.0, 2.0])), "n and dt"),
    (lambda: population_rate(np.array([1.0]), n=1, dt=0.1, window=0.0), "window"),
])
def test_bad_monitor_arguments_raise_value_error(make, name):
    with pytest.raises(ValueError, match=name):
        make()


def test_docstring_example():
    import doctest
    assert doctest.testmod(spikingnn.monitors).failed == 0
