"""spikingnn.nir and spikingnn.nir_graph: hand-built NIR graphs against the book's neurons and synapses and
against closed forms, exported classifiers run node by node, round trips through the file format, and graphs,
parameters and files refused by name."""
import math
import os
from types import SimpleNamespace

import h5py
import nir
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from spikingnn.groups import LIFGroup, SynapseGroup
from spikingnn.neurons import FirstOrderLIF, lif_membrane_closed_form
from spikingnn.nir import from_nir, read, to_nir, write
from spikingnn.nir_graph import simulate
from spikingnn.synapses import FirstOrderSynapse
from spikingnn.training.model import SNNClassifier

SEEDS = st.integers(0, 2**32 - 1)


def one_lif_graph(current, tau_ms, r, reset="zero", v_threshold=1.0, v_leak=0.0, v_reset=0.0):
    """Input (1) -> Affine (weight 0, bias = the current) -> LIF -> Output: a constant current into one neuron."""
    lif = nir.LIF(tau=np.array([tau_ms / 1000]), r=np.array([r]), v_leak=np.array([v_leak]),
                  v_threshold=np.array([v_threshold]), v_reset=np.array([v_reset]), metadata={"reset": reset})
    return nir.NIRGraph.from_list(nir.Affine(weight=np.zeros((1, 1)), bias=np.array([current])), lif)


def run_one_lif(graph, steps, dt, via="from_nir", **options):
    """The spike steps of the graph's LIF node, through an imported classifier or through the runner."""
    if via == "simulate":
        return np.flatnonzero(simulate(graph, np.zeros((steps, 1, 1)), dt, **options).outputs["lif"][:, 0, 0])
    model = from_nir(graph, dt, encoding="current", num_steps=steps, dtype="float64", **options)
    return np.flatnonzero(model.record(np.zeros((1, 1))).spikes[-1][:, 0, 0])


VIAS = pytest.mark.parametrize("via", ["from_nir", "simulate"])


@VIAS
@pytest.mark.parametrize("reset", ["zero", "subtract"])
@pytest.mark.parametrize("integrator", ["exact", "euler"])
def test_one_lif_node_fires_like_first_order_lif(reset, integrator, via):
    """A LIF node fed a constant current spikes in the very steps of FirstOrderLIF with the same continuous
    parameters (tau in s there, ms here), for both integrators and both resets, imported or run."""
    graph = one_lif_graph(1.5, tau_ms=10.0, r=2.0, reset=reset)
    expected = FirstOrderLIF(tau_mem=10.0, resistance=2.0, reset=reset, dt=0.1, integrator=integrator)
    np.testing.assert_array_equal(run_one_lif(graph, 1000, 0.1, via, integrator=integrator),
                                  expected.simulate(np.full(1000, 1.5))[1])


@VIAS
def test_one_lif_node_fires_at_the_continuous_spike_times_rounded_up_to_the_step(via):
    """Closed form: from v = 0 the neuron reaches threshold after t* = tau ln(rI / (rI - thr)); the exact step
    detects it at the end of the first step past t*, so with reset to zero spike k falls in step k ceil(t*/dt) - 1."""
    t_star = 10.0 * math.log(3.0 / (3.0 - 1.0))                   # 4.0546 ms: 40.5 steps of 0.1 ms
    period = math.ceil(t_star / 0.1)
    spikes = run_one_lif(one_lif_graph(1.5, tau_ms=10.0, r=2.0), 1000, 0.1, via)
    np.testing.assert_array_equal(spikes, period * np.arange(1, len(spikes) + 1) - 1)
    assert len(spikes) == 1000 // period


@VIAS
def test_below_rheobase_never_fires(via):
    assert run_one_lif(one_lif_graph(0.49, tau_ms=10.0, r=2.0), 2000, 0.1, via).size == 0


# ------------------------------------------------------------------------------ the runner against the book
@given(seed=SEEDS, integrator=st.sampled_from(["exact", "euler"]), reset=st.sampled_from(["zero", "subtract"]))
def test_the_runner_steps_a_lif_node_as_first_order_lif_for_any_parameters(seed, integrator, reset):
    """Rest, reset value, threshold, r, tau, dt and current drawn at random: the runner's spikes are
    FirstOrderLIF's and its membrane (after the reset) is FirstOrderLIF's at every step."""
    rng = np.random.default_rng(seed)
    tau, dt, v_leak, v_reset, r = rng.uniform(2, 50), rng.uniform(0.05, 1.0), rng.uniform(-0.5, 0.5), \
        rng.uniform(-1.0, 0.0), rng.uniform(0.2, 3.0)
    v_threshold = max(v_reset, v_leak) + rng.uniform(0.2, 2.0)
    current = (v_threshold - v_leak) / r * rng.uniform(0.5, 3.0)          # v_inf from below to above threshold
    graph = one_lif_graph(current, tau, r, reset, v_threshold, v_leak, v_reset)
    run = simulate(graph, np.zeros((400, 1, 1)), dt, integrator=integrator)
    neuron = FirstOrderLIF(tau_mem=tau, resistance=r, v_rest=v_leak, v_reset=v_reset, v_threshold=v_threshold,
                           reset=reset, dt=dt, integrator=integrator)
    v, spikes = neuron.simulate(np.full(400, current))
    np.testing.assert_array_equal(np.flatnonzero(run.outputs["lif"][:, 0, 0]), spikes)
    np.testing.assert_allclose(run.states["lif"]["v"][:, 0, 0], v, rtol=1e-9, atol=1e-9)


def cuba_chain(weights, cells):
    """Input -> (Affine(weight, bias 0) -> cell) for each layer -> Output."""
    layers = [node for weight, cell in zip(weights, cells)
              for node in (nir.Affine(weight=weight, bias=np.zeros(len(weight))), cell)]
    return nir.NIRGraph.from_list(*layers)


@given(seed=SEEDS, reset=st.sampled_from(["zero", "subtract"]))
def test_a_cuba_lif_node_is_first_order_synapse_then_first_order_lif(seed, reset):
    """Input -> Affine(w) -> CubaLIF(w_in = 1 / (1 - alpha)) -> Output under random input spikes: the synaptic
    current, the membrane and the spikes of FirstOrderSynapse(weight w) feeding FirstOrderLIF, step for step."""
    rng = np.random.default_rng(seed)
    dt, tau_syn, tau_mem, r = rng.uniform(0.05, 0.5), rng.uniform(1, 10), rng.uniform(2, 20), rng.uniform(0.5, 2)
    v_leak, v_reset = rng.uniform(-0.3, 0.3), rng.uniform(-0.5, 0.0)
    v_threshold, rate = max(v_reset, v_leak) + rng.uniform(0.5, 1.5), rng.uniform(0.1, 0.6)
    alpha = FirstOrderSynapse(tau_syn=tau_syn, dt=dt).alpha      # the mean current w rate / (1 - alpha) drives
    weight = (v_threshold - v_leak) / r * (1 - alpha) / rate * rng.uniform(0.5, 3)   # v to 0.5 - 3x threshold
    synapse = FirstOrderSynapse(tau_syn=tau_syn, weight=weight, dt=dt)
    neuron = FirstOrderLIF(tau_mem=tau_mem, resistance=r, v_rest=v_leak, v_reset=v_reset, v_threshold=v_threshold,
                           reset=reset, dt=dt)
    cell = nir.CubaLIF(tau_syn=np.array([tau_syn / 1000]), tau_mem=np.array([tau_mem / 1000]), r=np.array([r]),
                       v_leak=np.array([v_leak]), v_threshold=np.array([v_threshold]), v_reset=np.array([v_reset]),
                       w_in=np.array([1 / (1 - synapse.alpha)]), metadata={"reset": reset})
    pre = rng.random(400) < rate
    run = simulate(cuba_chain([np.array([[synapse.weight]])], [cell]), pre[:, None, None], dt)
    expected = np.array([(synapse.step(s), neuron.step(synapse.i_syn), neuron.v) for s in pre])
    np.testing.assert_allclose(run.states["cubalif"]["i_syn"][:, 0, 0], expected[:, 0], rtol=1e-9, atol=1e-12)
    np.testing.assert_array_equal(run.outputs["cubalif"][:, 0, 0], expected[:, 1])
    np.testing.assert_allclose(run.states["cubalif"]["v"][:, 0, 0], expected[:, 2], rtol=1e-9, atol=1e-9)


@settings(max_examples=15)
@given(seed=SEEDS, reset=st.sampled_from(["zero", "subtract"]))
def test_a_two_layer_cuba_chain_is_the_book_s_synapse_groups_and_populations(seed, reset):
    """Input (3) -> Affine -> CubaLIF (4) -> Affine -> CubaLIF (2) -> Output, per-neuron membranes, two input
    sequences at once: each sequence is SynapseGroup -> LIFGroup -> SynapseGroup -> LIFGroup, step for step."""
    rng = np.random.default_rng(seed)
    dt, widths, steps = rng.uniform(0.05, 0.3), (3, 4, 2), 200
    pre = rng.random((steps, 2, widths[0])) < 0.3
    cells, weights, books = [], [], []
    for n_pre, n in zip(widths, widths[1:]):
        tau_syn, tau_mem, r = rng.uniform(1, 8), rng.uniform(3, 20, n), rng.uniform(0.5, 2, n)
        v_leak, v_threshold = rng.uniform(-0.2, 0.2, n), rng.uniform(0.5, 1.0, n)
        group = LIFGroup(n, dt=dt, backend="numpy", tau_mem=tau_mem, resistance=r, v_rest=v_leak,
                         v_threshold=v_threshold, reset=reset)
        source = SimpleNamespace(n=n_pre, spikes=None) if not books else books[-1][1]
        synapse = SynapseGroup(source, group, rng.uniform(-0.2, 1.0, (n_pre, n)) * 2 / n_pre / r, tau_syn=tau_syn,
                               backend="numpy")
        books.append((synapse, group))
        weights.append(synapse.weights.T)
        cells.append(nir.CubaLIF(tau_syn=np.full(n, tau_syn / 1000), tau_mem=tau_mem / 1000, r=r, v_leak=v_leak,
                                 v_threshold=v_threshold, v_reset=np.zeros(n), w_in=np.full(n, 1 / (1 - synapse.alpha)),
                                 metadata={"reset": reset}))
    run = simulate(cuba_chain(weights, cells), pre, dt)
    names = ("cubalif", "cubalif_1")
    book = {name: np.zeros((3, *run.outputs[name].shape)) for name in names}     # spikes, i_syn, v
    for sequence in range(2):
        for synapse, group in books:
            synapse.reset_state()
            group.reset_state()
        for t in range(steps):
            spikes = pre[t, sequence]
            for (synapse, group), name in zip(books, names):
                spikes = group.step(synapse.step(spikes))
                book[name][:, t, sequence] = spikes, synapse.i_syn, group.v
    for name in names:
        np.testing.assert_array_equal(run.outputs[name], book[name][0], err_msg=name)
        np.testing.assert_allclose(run.states[name]["i_syn"], book[name][1], rtol=1e-9, atol=1e-12, err_msg=name)
        np.testing.assert_allclose(run.states[name]["v"], book[name][2], rtol=1e-9, atol=1e-9, err_msg=name)
    assert run.outputs["cubalif"].any(), "the case should make the first layer spike"


# ----------------------------------------------------------------------- the runner against closed forms
def constant_drive(node, x, steps, dt, integrator):
    """Run Input -> node -> Output with the same input x (one value per element) at every step."""
    x = np.asarray(x, dtype=float)
    return simulate(nir.NIRGraph.from_list(node), np.broadcast_to(x, (steps, 1, *x.shape)), dt,
                    integrator=integrator)


@given(seed=SEEDS, integrator=st.sampled_from(["exact", "euler"]))
def test_li_and_i_nodes_follow_their_solutions_for_a_constant_input(seed, integrator):
    """LI from rest v_leak: v(t) = v_inf + (v_leak - v_inf) exp(-t / tau), v_inf = v_leak + r x, at every step
    ('exact', the closed form of neurons.py), or with (1 - dt / tau)^n in place of exp(-t / tau) ('euler', its
    step's own solution). I from 0: v = r x t exactly, for both integrators."""
    rng = np.random.default_rng(seed)
    n, dt, steps = 3, rng.uniform(0.05, 1.0), 200
    tau, r, v_leak, x = rng.uniform(2, 50, n), rng.uniform(0.2, 3, n), rng.uniform(-1, 1, n), rng.uniform(-2, 2, n)
    li = constant_drive(nir.LI(tau=tau / 1000, r=r, v_leak=v_leak), x, steps, dt, integrator).outputs["li"][:, 0]
    t = dt * np.arange(1, steps + 1)[:, None]
    if integrator == "exact":
        expected = [lif_membrane_closed_form(t[:, 0], v_leak[i], x[i], tau_mem=tau[i], v_rest=v_leak[i],
                                             resistance=r[i]) for i in range(n)]
        np.testing.assert_allclose(li, np.transpose(expected), rtol=1e-9, atol=1e-9)
    else:
        v_inf = v_leak + r * x
        np.testing.assert_allclose(li, v_inf + (v_leak - v_inf) * (1 - dt / tau) ** (t / dt), rtol=1e-9, atol=1e-9)
    integrated = constant_drive(nir.I(r=r), x, steps, dt, integrator).outputs["i"][:, 0]
    np.testing.assert_allclose(integrated, r * x * t / 1000, rtol=1e-9, atol=1e-12)    # t in s: r is per second


@given(seed=SEEDS, integrator=st.sampled_from(["exact", "euler"]))
def test_a_cuba_li_node_is_its_step_s_closed_form_and_near_the_continuous_solution(seed, integrator):
    """CubaLI from rest under a constant x, c = w_in x, with the synapse's and the membrane's decays a and d:
    i_n = c (1 - a^n) and v_n = v_leak + r c (1 - d^n - (1 - d) a (a^n - d^n) / (a - d)), the closed form of its
    two steps. With 'exact' i_n is the continuous i(t) = c (1 - exp(-t / tau_syn)), and v_n is within
    r |c| (1 - a) (the current's rise over one step) of the continuous
    v(t) = v_leak + r c (1 - (tau_mem exp(-t / tau_mem) - tau_syn exp(-t / tau_syn)) / (tau_mem - tau_syn))."""
    rng = np.random.default_rng(seed)
    n, dt, steps = 3, rng.uniform(0.05, 0.5), 300
    tau_mem = rng.uniform(2, 30, n)
    tau_syn = tau_mem * np.where(rng.random(n) < 0.5, rng.uniform(0.3, 0.9, n), rng.uniform(1.1, 3, n))  # != tau_mem
    r, v_leak, w_in, x = rng.uniform(0.2, 3, n), rng.uniform(-1, 1, n), rng.uniform(0.5, 5, n), rng.uniform(-2, 2, n)
    node = nir.CubaLI(tau_syn=tau_syn / 1000, tau_mem=tau_mem / 1000, r=r, v_leak=v_leak, w_in=w_in)
    run = constant_drive(node, x, steps, dt, integrator)
    if integrator == "exact":
        a, d = np.exp(-dt / tau_syn), np.exp(-dt / tau_mem)
    else:
        a, d = 1 - dt / tau_syn, 1 - dt / tau_mem
    k, c = np.arange(1, steps + 1)[:, None], w_in * x
    i, v = run.states["cubali"]["i_syn"][:, 0], run.outputs["cubali"][:, 0]
    np.testing.assert_allclose(i, c * (1 - a ** k), rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(v, v_leak + r * c * (1 - d ** k - (1 - d) * a * (a ** k - d ** k) / (a - d)),
                               rtol=1e-8, atol=1e-10)
    if integrator == "exact":
        t = dt * k
        np.testing.assert_allclose(i, c * (1 - np.exp(-t / tau_syn)), rtol=1e-9, atol=1e-12)
        continuous = v_leak + r * c * (1 - (tau_mem * np.exp(-t / tau_mem) - tau_syn * np.exp(-t / tau_syn))
                                       / (tau_mem - tau_syn))
        assert np.all(np.abs(v - continuous) <= r * np.abs(c) * (1 - a) + 1e-9)



@given(seed=SEEDS)
def test_scale_delay_threshold_and_a_branch_are_their_definitions(seed):
    """Input (3) -> Scale(s) -> Delay(k dt) -> Threshold(thr) -> Output, and Input -> Output beside them (NIR sums
    both at the Output): y[t] = x[t] + (s x[t - k] > thr), x = 0 before the first step, k per element (one
    delay 0, one longer than the run)."""
    rng = np.random.default_rng(seed)
    dt, steps = rng.uniform(0.05, 1.0), 40
    scale, threshold, lags = rng.uniform(-2, 2, 3), rng.uniform(0, 1, 3), np.array([0, rng.integers(1, 30), 45])
    nodes = {"input": nir.Input(np.array([3])), "scale": nir.Scale(scale=scale),
             "delay": nir.Delay(delay=lags * dt / 1000), "threshold": nir.Threshold(threshold=threshold),
             "output": nir.Output(np.array([3]))}
    edges = [("input", "scale"), ("scale", "delay"), ("delay", "threshold"), ("threshold", "output"),
             ("input", "output")]
    x = rng.normal(0, 1, (steps, 2, 3))
    run = simulate(nir.NIRGraph(nodes=nodes, edges=edges), x, dt)
    past = np.zeros_like(x)
    for i, lag in enumerate(lags[lags < steps]):
        past[lag:, :, i] = x[:steps - lag, :, i]
    np.testing.assert_array_equal(run.outputs["delay"], scale * past)
    np.testing.assert_array_equal(run.outputs["output"], x + (scale * past > threshold))


def test_flatten_then_affine_is_a_reshape_then_the_matrix_product():
    """Input (2, 3) -> Flatten (all dims; no batch in NIR's shapes) -> Affine (4, 6) -> Output."""
    rng = np.random.default_rng(6)
    weight, bias, x = rng.normal(size=(4, 6)), rng.normal(size=4), rng.normal(size=(7, 5, 2, 3))
    graph = nir.NIRGraph.from_list(nir.Flatten(input_type={"input": np.array([2, 3])}, start_dim=0),
                                   nir.Affine(weight=weight, bias=bias))
    run = simulate(graph, x, 1.0)
    assert run.outputs["flatten"].shape == (7, 5, 6)
    np.testing.assert_allclose(run.outputs["output"], x.reshape(7, 5, 6) @ weight.T + bias, rtol=1e-12)


# ------------------------------------------------------------------ exported classifiers, in and run
def trained(rng, **options):
    X = rng.integers(0, 256, (200, 6, 6), dtype=np.uint8)
    y = rng.integers(0, 3, 200)
    options = {"hidden": (8,), "num_steps": 10, "epochs": 1, **options}
    return SNNClassifier(**options).fit(X, y, progress=False), X


EXPORTS = pytest.mark.parametrize("options", [{}, {"loss": "ce_count", "reset": "zero", "recurrent": True},
                                              {"hidden": (8, 8, 8), "residual": True, "recurrent": True},
                                              {"encoding": "current", "integrator": "euler", "dt": 0.5}])


def exported(path, options):
    """A classifier trained with ``options`` (but 'integrator' and 'dt', which are its export's), written to
    ``path`` as NIR, and its recording of 50 images."""
    options = dict(options)
    integrator, dt = options.pop("integrator", "exact"), options.pop("dt", None)
    model, X = trained(np.random.default_rng(1), **options)
    return model, write(to_nir(model, dt=dt, integrator=integrator), path), model.record(X[:50]), X[:50]


@EXPORTS
def test_round_trip_through_a_file_gives_identical_spikes_and_membranes(tmp_path, options):
    """to_nir -> write -> nir.read (NIR's own reader) and spikingnn.nir.read -> from_nir: the same network."""
    model, path, expected, X = exported(tmp_path / "model.nir", options)
    for graph in (nir.read(path), read(path)):
        copy = from_nir(graph)
        got = copy.record(X)
        for a, b in zip(expected.spikes + expected.v, got.spikes + got.v):
            np.testing.assert_array_equal(a, b)
        assert (copy.loss, copy.reset, copy.encoding, copy.num_steps) == (model.loss, model.reset, model.encoding,
                                                                           model.num_steps)


@EXPORTS
def test_an_exported_classifier_run_node_by_node_spikes_as_the_classifier(tmp_path, options):
    """to_nir -> write -> simulate on the classifier's own input spikes (its dt and integrator from the file's
    metadata): every layer spikes in the classifier's steps, the recurrent ones through the graph's cycle one step
    late, the residual sums at the Affine nodes, and a read-out's membrane is the classifier's (float32 there)."""
    model, path, expected, _ = exported(tmp_path / "model.nir", options)
    run = simulate(path, expected.input_spikes)
    for layer, (spikes, v) in enumerate(zip(expected.spikes, expected.v)):
        if f"li{layer}" in run.outputs:
            np.testing.assert_allclose(run.outputs[f"li{layer}"], v, rtol=1e-5, atol=1e-5)
        else:
            cell = f"lif{layer}.lif" if f"lif{layer}.lif" in run.outputs else f"lif{layer}"   # recurrent: inside
            np.testing.assert_array_equal(run.outputs[cell], spikes, err_msg=cell)
            assert spikes.any(), f"layer {layer} should spike"
    assert (run.dt, run.integrator) == (pytest.approx(options.get("dt", model.dt)), options.get("integrator", "exact"))
    only_output = simulate(path, expected.input_spikes, record=[])
    assert list(only_output.outputs) == ["output"] and only_output.states == {}
    np.testing.assert_array_equal(only_output.outputs["output"], run.outputs["output"])


@pytest.mark.skipif(not os.environ.get("SPIKINGNN_DATA"), reason="needs MNIST (SPIKINGNN_DATA)")
def test_round_trip_on_1000_mnist_test_images(tmp_path):
    import spikingnn as snn

    X, y = snn.load_mnist("train")
    model = SNNClassifier(hidden=(32,), epochs=1).fit(X[:3000], y[:3000], progress=False)
    copy = from_nir(write(to_nir(model), tmp_path / "mnist.nir"))
    X_test, _ = snn.load_mnist("test")
    for a, b in zip(model.record(X_test[:1000]).spikes, copy.record(X_test[:1000]).spikes):
        np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize("integrator", ["exact", "euler"])
def test_exported_neurons_step_back_to_the_trained_leak_with_unit_gain(integrator):
    """The exported (tau, r) are the continuous neuron whose step of dt is the layer: d = beta, (1 - d) r = 1."""
    model, _ = trained(np.random.default_rng(2), loss="ce_count")
    graph = to_nir(model, dt=0.5, integrator=integrator)
    lif = graph.nodes["lif0"]
    decay = np.exp(-0.5e-3 / lif.tau) if integrator == "exact" else 1 - 0.5e-3 / lif.tau
    np.testing.assert_allclose(decay, model.params_["beta0"], rtol=1e-6)
    np.testing.assert_allclose((1 - decay) * lif.r, 1.0, rtol=1e-6)
    np.testing.assert_array_equal(graph.nodes["fc0"].weight, model.params_["weights0"].T)
    assert lif.metadata["reset"] == graph.metadata["reset"] == "subtract" and graph.metadata["dt"] == 0.5e-3


def test_snntorch_style_graph_with_scalar_parameters_imports_with_euler():
    """snnTorch writes tau = dt / (1 - beta), r = tau / dt with dt = 1e-4 s, parameters of shape (): Euler at
    dt = 0.1 ms gives back its beta, and the unit gain leaves the weights as they are."""
    rng = np.random.default_rng(3)
    weights = [rng.normal(size=(5, 4)), rng.normal(size=(3, 5))]
    tau = np.array(1e-4 / (1 - 0.9))
    cells = [nir.LIF(tau=tau, r=tau / 1e-4, v_leak=np.array(0.0), v_threshold=np.array(1.0), v_reset=np.array(0.0))
             for _ in weights]
    nodes = {"input": nir.Input(input_type={"input": np.array([4])}), "output": nir.Output(output_type=np.array([3]))}
    nodes.update({"0": nir.Affine(weight=weights[0], bias=np.zeros(5)), "1": cells[0],
                  "2": nir.Linear(weight=weights[1]), "3": cells[1]})
    graph = nir.NIRGraph(nodes=nodes, edges=[("input", "0"), ("0", "1"), ("1", "2"), ("2", "3"), ("3", "output")],
                         type_check=False)
    model = from_nir(graph, 0.1, integrator="euler", dtype="float64")
    np.testing.assert_allclose(model.params_["beta1"], 0.9)
    np.testing.assert_allclose(model.params_["weights0"], weights[0].T)
    assert model.params_["weights1"].shape == (5, 3) and model.loss == "ce_count" and model.reset == "zero"
    expected = model.record(rng.random((20, 4)))                    # and the runner spikes as the import does
    run = simulate(graph, expected.input_spikes, 0.1, integrator="euler")
    for name, spikes in zip(("1", "3"), expected.spikes):
        np.testing.assert_array_equal(run.outputs[name], spikes, err_msg=name)
    assert expected.spikes[0].any()


# ---------------------------------------------------------------------------------------- refusals
def test_alif_and_a_leak_without_time_constant_are_refused_by_layer():
    model, _ = trained(np.random.default_rng(4), neuron="alif")
    with pytest.raises(ValueError, match="ALIF.*no primitive"):
        to_nir(model)
    model, _ = trained(np.random.default_rng(4))
    model.params_["beta0"][0] = 0.0
    with pytest.raises(ValueError, match="layer 0.*leaks"):
        to_nir(model)


def test_unsupported_nodes_are_refused_by_name():
    graph = nir.NIRGraph.from_list(
        nir.Affine(weight=np.ones((2, 2)), bias=np.zeros(2)),
        nir.CubaLIF(tau_syn=np.ones(2), tau_mem=np.ones(2), r=np.ones(2), v_leak=np.zeros(2), v_threshold=np.ones(2)))
    with pytest.raises(ValueError, match="'cubalif' \\(CubaLIF\\) has no spikingnn classifier layer"):
        from_nir(graph, 1.0)


def test_dt_is_required_when_the_graph_does_not_carry_it():
    with pytest.raises(ValueError, match="dt must be"):
        from_nir(one_lif_graph(1.0, 10.0, 1.0), None)


def damage(path, how):
    """Edit one NIR file in place, as a hostile or broken writer would."""
    with h5py.File(path, "r+") as f:
        lif = f["node/nodes/lif0"]
        if how == "unknown type":
            del lif["type"]
            lif.create_dataset("type", data="Spiky", dtype=h5py.string_dtype())
        elif how == "missing parameter":
            del lif["tau"]
        elif how == "NaN":
            lif["tau"][0] = np.nan
        elif how == "wrong shape":
            del f["node/nodes/fc0/weight"]
            f["node/nodes/fc0"].create_dataset("weight", data=np.zeros((8, 35), np.float32))


@VIAS
@pytest.mark.parametrize("how, message", [("unknown type", "'lif0' has the unknown type 'Spiky'"),
                                          ("missing parameter", "'lif0' \\(LIF\\) is malformed.*tau"),
                                          ("NaN", "'lif0' \\(LIF\\): parameter tau must be finite"),
                                          ("wrong shape", "'fc0' \\(Affine\\): weight must have shape \\(8, 36\\)"),
                                          ("truncated", "truncated or corrupt"),
                                          ("not HDF5", "truncated or corrupt")])
def test_bad_files_are_refused_with_a_message_naming_the_file_and_node(tmp_path, how, message, via):
    model, _ = trained(np.random.default_rng(5), loss="ce_count")
    path = write(to_nir(model), tmp_path / "model.nir")
    if how == "truncated":
        path.write_bytes(path.read_bytes()[:2000])
    elif how == "not HDF5":
        path.write_text("weights: 1, 2, 3\n")
    else:
        damage(path, how)
    with pytest.raises(ValueError, match=message) as error:
        from_nir(path) if via == "from_nir" else simulate(path, np.zeros((2, 1, 36)))
    assert str(path) in str(error.value)


def lif_node(n=3, **changes):
    fields = dict(tau=np.full(n, 0.01), r=np.ones(n), v_leak=np.zeros(n), v_threshold=np.ones(n), v_reset=np.zeros(n))
    return nir.LIF(**{**fields, **changes})


def cuba_node(n=3, **changes):
    fields = dict(tau_syn=np.full(n, 0.005), tau_mem=np.full(n, 0.01), r=np.ones(n), v_leak=np.zeros(n),
                  v_threshold=np.ones(n))
    return nir.CubaLIF(**{**fields, **changes})


def affine(n_out=3, n_in=3):
    return nir.Affine(weight=np.ones((n_out, n_in)), bias=np.zeros(n_out))


def graph_of(nodes, edges):
    return nir.NIRGraph(nodes=nodes, edges=edges, type_check=False)


def chain(*nodes):
    return nir.NIRGraph.from_list(*nodes, type_check=False)


CONV = nir.Conv2d(input_shape=(3, 1), weight=np.ones((1, 1, 1, 1)), stride=1, padding=0, dilation=1, groups=1,
                  bias=np.zeros(1))
REFUSED = {   # what: (graph, inputs (T, batch, 3), options, message)
    "convolution": (graph_of({"input": nir.Input(np.array([3])), "conv": CONV}, [("input", "conv")]), None, {},
                    "'conv' \\(Conv2d\\) cannot be run: simulate runs Input, Output"),
    "threshold at reset": (chain(affine(), lif_node(v_reset=np.ones(3))), None, {},
                           "'lif' \\(LIF\\): v_threshold must be > v_reset"),
    "negative tau": (chain(affine(), lif_node(tau=-np.ones(3))), None, {},
                     "'lif' \\(LIF\\): tau must be > 0 s"),
    "Euler past tau_syn": (chain(affine(), cuba_node(tau_syn=np.full(3, 5e-5))), None,
                           {"integrator": "euler"}, "'cubalif' \\(CubaLIF\\): forward Euler needs dt <= tau_syn"),
    "NaN parameter": (chain(affine(), cuba_node(tau_mem=np.array([0.01, np.nan, 0.01]))), None, {},
                      "'cubalif' \\(CubaLIF\\): parameter tau_mem must be finite"),
    "parameter shape": (chain(affine(), lif_node(n=2)), None, {},
                        "'lif' \\(LIF\\): parameter \\w+ must have shape \\(3,\\) or be a scalar; got \\(2,\\)"),
    "weight shape": (graph_of({"input": nir.Input(np.array([3])), "affine": affine(2, 4)}, [("input", "affine")]),
                     None, {}, "'affine' \\(Affine\\): weight must have shape \\(2, 3\\)"),
    "delay between steps": (chain(nir.Delay(delay=np.full(3, 1.5e-4))), None, {},
                            "'delay' \\(Delay\\): every delay must be a whole number >= 0 of steps of dt = 0.1 ms"),
    "shapes summed": (graph_of({"input": nir.Input(np.array([3])), "affine": affine(2), "output": nir.Output(None)},
                               [("input", "affine"), ("affine", "output"), ("input", "output")]), None, {},
                      "'output' \\(Output\\) sums inputs of different shapes"),
    "unreachable node": (graph_of({"input": nir.Input(np.array([3])), "output": nir.Output(None), "stray": affine()},
                                  [("input", "output")]), None, {},
                         "'stray' \\(Affine\\) is not reachable from an Input node"),
    "unknown reset": (chain(affine(), lif_node(metadata={"reset": "soft"})), None, {},
                      "'lif' \\(LIF\\): its metadata reset is 'soft'"),
    "input shape": (chain(affine()), np.zeros((5, 1, 4)), {},
                    "inputs of Input node 'input' must have shape \\(T, batch, 3\\); got \\(5, 1, 4\\)"),
    "NaN input": (chain(affine()), np.full((5, 1, 3), np.nan), {},
                  "inputs of Input node 'input' must be finite"),
    "unknown recorded node": (chain(affine()), None, {"record": ["affine", "nope"]},
                              "record names nodes the graph does not have: \\['nope'\\]"),
    "no dt": (chain(affine()), None, {"dt": None}, "dt must be a time step > 0 ms"),
}


@pytest.mark.parametrize("what", REFUSED)
def test_the_runner_refuses_what_it_cannot_run_naming_the_node(what):
    graph, inputs, options, message = REFUSED[what]
    with pytest.raises(ValueError, match=message):
        simulate(graph, np.zeros((5, 1, 3)) if inputs is None else inputs, **{"dt": 0.1, **options})
