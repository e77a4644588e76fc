"""spikingnn.nir: hand-built NIR graphs against the book's neuron and the closed form, round trips through the
file format, and hostile files refused by name."""
import math
import os

import h5py
import nir
import numpy as np
import pytest

from spikingnn.neurons import FirstOrderLIF
from spikingnn.nir import from_nir, read, to_nir, write
from spikingnn.training.model import SNNClassifier


def one_lif_graph(current, tau_ms, r, reset="zero", v_threshold=1.0):
    """Input (1) -> Affine (weight 0, bias = the current) -> LIF -> Output: a constant current into one neuron."""
    lif = nir.LIF(tau=np.array([tau_ms / 1000]), r=np.array([r]), v_leak=np.zeros(1),
                  v_threshold=np.array([v_threshold]), v_reset=np.zeros(1), metadata={"reset": reset})
    return nir.NIRGraph.from_list(nir.Affine(weight=np.zeros((1, 1)), bias=np.array([current])), lif)


def run_one_lif(graph, steps, dt, **options):
    model = from_nir(graph, dt, encoding="current", num_steps=steps, dtype="float64", **options)
    return np.flatnonzero(model.record(np.zeros((1, 1))).spikes[-1][:, 0, 0])


@pytest.mark.parametrize("reset", ["zero", "subtract"])
@pytest.mark.parametrize("integrator", ["exact", "euler"])
def test_one_lif_node_fires_like_first_order_lif(reset, integrator):
    """A LIF node fed a constant current spikes in the very steps of FirstOrderLIF with the same continuous
    parameters (tau in s there, ms here), for both integrators and both resets."""
    graph = one_lif_graph(1.5, tau_ms=10.0, r=2.0, reset=reset)
    expected = FirstOrderLIF(tau_mem=10.0, resistance=2.0, reset=reset, dt=0.1, integrator=integrator)
    np.testing.assert_array_equal(run_one_lif(graph, 1000, 0.1, integrator=integrator),
                                  expected.simulate(np.full(1000, 1.5))[1])


def test_one_lif_node_fires_at_the_continuous_spike_times_rounded_up_to_the_step():
    """Closed form: from v = 0 the neuron reaches threshold after t* = tau ln(rI / (rI - thr)); the exact step
    detects it at the end of the first step past t*, so with reset to zero spike k falls in step k ceil(t*/dt) - 1."""
    t_star = 10.0 * math.log(3.0 / (3.0 - 1.0))                   # 4.0546 ms: 40.5 steps of 0.1 ms
    period = math.ceil(t_star / 0.1)
    spikes = run_one_lif(one_lif_graph(1.5, tau_ms=10.0, r=2.0), 1000, 0.1)
    np.testing.assert_array_equal(spikes, period * np.arange(1, len(spikes) + 1) - 1)
    assert len(spikes) == 1000 // period


def test_below_rheobase_never_fires():
    assert run_one_lif(one_lif_graph(0.49, tau_ms=10.0, r=2.0), 2000, 0.1).size == 0


def trained(rng, **options):
    X = rng.integers(0, 256, (200, 6, 6), dtype=np.uint8)
    y = rng.integers(0, 3, 200)
    options = {"hidden": (8,), "num_steps": 10, "epochs": 1, **options}
    return SNNClassifier(**options).fit(X, y, progress=False), X


@pytest.mark.parametrize("options", [{}, {"loss": "ce_count", "reset": "zero", "recurrent": True},
                                     {"hidden": (8, 8, 8), "residual": True, "recurrent": True},
                                     {"encoding": "current", "integrator": "euler", "dt": 0.5}])
def test_round_trip_through_a_file_gives_identical_spikes_and_membranes(tmp_path, options):
    """to_nir -> write -> nir.read (NIR's own reader) and spikingnn.nir.read -> from_nir: the same network."""
    rng = np.random.default_rng(1)
    integrator, dt = options.pop("integrator", "exact"), options.pop("dt", None)
    model, X = trained(rng, **options)
    path = write(to_nir(model, dt=dt, integrator=integrator), tmp_path / "model.nir")
    expected = model.record(X[:50])
    for graph in (nir.read(path), read(path)):
        copy = from_nir(graph)
        got = copy.record(X[:50])
        for a, b in zip(expected.spikes + expected.v, got.spikes + got.v):
            np.testing.assert_array_equal(a, b)
        assert (copy.loss, copy.reset, copy.encoding, copy.num_steps) == (model.loss, model.reset, model.encoding,
                                                                           model.num_steps)


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


@pytest.mark.parametrize("how, message", [("unknown type", "'lif0' has the unknown type 'Spiky'"),
                                          ("missing parameter", "'lif0' \\(LIF\\) is malformed.*tau"),
                                          ("NaN", "'lif0' \\(LIF\\): parameter tau must be finite"),
                                          ("wrong shape", "'fc0' \\(Affine\\): weight must have shape \\(8, 36\\)"),
                                          ("truncated", "truncated or corrupt"),
                                          ("not HDF5", "truncated or corrupt")])
def test_bad_files_are_refused_with_a_message_naming_the_file_and_node(tmp_path, how, message):
    model, _ = trained(np.random.default_rng(5), loss="ce_count")
    path = write(to_nir(model), tmp_path / "model.nir")
    if how == "truncated":
        path.write_bytes(path.read_bytes()[:2000])
    elif how == "not HDF5":
        path.write_text("weights: 1, 2, 3\n")
    else:
        damage(path, how)
    with pytest.raises(ValueError, match=message) as error:
        from_nir(path)
    assert str(path) in str(error.value)
