"""SynOps, MACs and the energy estimate, checked against counts made by hand from their definitions."""
import numpy as np
import pytest

from spikingnn.energy import ADD_PJ, MAC_PJ, InferenceCost, count_operations, describe, fan_out, macs, synops


def test_synops_of_a_hand_built_network():
    """Input 3 neurons -> hidden 2 -> output 2, two images of T = 3 steps; one input synapse is missing.

    Input fan-outs: neuron 0 -> 2 synapses, neuron 1 -> 1 (w[1, 0] = 0), neuron 2 -> 2.
    Image A: input spikes n0 at t=0,1 ; n1 at t=2            -> 2*2 + 1*1 = 5 accumulates
    Image B: input spikes n1 at t=0 ; n2 at t=0,1,2          -> 1*1 + 3*2 = 7 accumulates
    => input projection: (5 + 7) / 2 = 6 SynOps per image.
    Hidden fan-out 2 each (dense 2x2). Image A: 3 hidden spikes, image B: 1  -> (6 + 2) / 2 = 4 per image.
    """
    input_spikes = np.zeros((3, 2, 3), dtype=bool)
    input_spikes[[0, 1], 0, 0] = True
    input_spikes[2, 0, 1] = True
    input_spikes[0, 1, 1] = True
    input_spikes[:, 1, 2] = True
    hidden_spikes = np.zeros((3, 2, 2), dtype=bool)
    hidden_spikes[0, 0, 0] = hidden_spikes[1, 0, 1] = hidden_spikes[2, 0, 0] = True
    hidden_spikes[2, 1, 1] = True
    output_spikes = np.zeros((3, 2, 2), dtype=bool)
    output_spikes[2, :, 0] = True
    w_in = np.array([[0.5, -0.2], [0.0, 0.3], [1.0, 0.1]])
    w_out = np.array([[0.4, 0.4], [-0.7, 0.2]])

    np.testing.assert_array_equal(fan_out(w_in), [2, 1, 2])
    assert synops(input_spikes, w_in) == 6.0
    assert synops(hidden_spikes, w_out) == 4.0
    cost = count_operations([hidden_spikes, output_spikes], [(input_spikes, w_in), (hidden_spikes, w_out)],
                            [w_in, w_out])
    np.testing.assert_array_equal(cost.synops, [6.0, 4.0])
    np.testing.assert_array_equal(cost.ann_macs, [5, 4])              # one MAC per synapse (non-zero weight)
    np.testing.assert_array_equal(cost.snn_macs, [0, 0])
    np.testing.assert_allclose(cost.spike_rates, [4 / 12, 2 / 12])    # spikes / (T * images * neurons)
    assert cost.snn_energy_pj == pytest.approx(10 * 0.9)
    assert cost.ann_energy_pj == pytest.approx(9 * 4.6)


def test_every_neuron_spiking_every_step_costs_T_times_the_ann():
    """If all inputs spike at every step, each synapse accumulates once per step: SynOps = T * MACs."""
    rng = np.random.default_rng(3)
    weights = rng.normal(size=(20, 7)) * (rng.random((20, 7)) < 0.6)
    steps = 9
    assert synops(np.ones((steps, 4, 20), dtype=bool), weights) == steps * macs(weights)


def test_synops_add_up_over_time_and_average_over_images():
    """SynOps is a sum over steps (two recordings back to back cost the sum) and a mean over images."""
    rng = np.random.default_rng(4)
    weights = rng.normal(size=(30, 5))
    first, second = rng.random((6, 8, 30)) < 0.2, rng.random((4, 8, 30)) < 0.3
    assert synops(np.concatenate([first, second]), weights) == pytest.approx(
        synops(first, weights) + synops(second, weights))
    other = rng.random((6, 8, 30)) < 0.4
    both = np.concatenate([first, other], axis=1)                      # 16 images
    assert synops(both, weights) == pytest.approx(0.5 * (synops(first, weights) + synops(other, weights)))


def test_analog_input_layer_counts_macs_once_per_image():
    """With the current encoding the first layer multiplies pixel values: MACs once per image, no SynOps."""
    rng = np.random.default_rng(5)
    pixels = rng.random((5, 3, 12))
    hidden = rng.random((5, 3, 4)) < 0.5
    w_in, w_out = rng.normal(size=(12, 4)), rng.normal(size=(4, 2))
    cost = count_operations([hidden, hidden[..., :2]], [(pixels, w_in), (hidden, w_out)], [w_in, w_out],
                            analog_input=True)
    assert cost.synops[0] == 0 and cost.snn_macs[0] == 48
    assert cost.snn_energy_pj == pytest.approx(48 * MAC_PJ + cost.synops[1] * ADD_PJ)


def test_energy_figures_are_horowitz_2014():
    """45 nm, 32-bit float: add 0.9 pJ, multiply-add 3.7 + 0.9 = 4.6 pJ; the report names its source."""
    assert ADD_PJ == 0.9 and MAC_PJ == pytest.approx(4.6)
    cost = InferenceCost(spike_rates=np.array([0.1, 0.2]), synops=np.array([1000.0, 50.0]),
                         snn_macs=np.zeros(2), ann_macs=np.array([78400.0, 1000.0]))
    text = describe(cost)
    assert "Horowitz" in text and "ISSCC 2014" in text and "estimate" in text
    assert f"{cost.ann_energy_pj / 1e3:,.2f} nJ" in text


def fitted(**options):
    from spikingnn.training.model import SNNClassifier

    rng = np.random.default_rng(6)
    X, y = rng.integers(0, 256, (60, 784)).astype(np.uint8), rng.integers(0, 10, 60)
    model = SNNClassifier(num_steps=6, batch_size=30, epochs=1, lr=5e-3, **options).fit(X, y, progress=False)
    return model, X


def test_measure_counts_the_spikes_of_the_models_recording():
    """Dense layers: every input spike costs n_hidden accumulates, every hidden spike 10 (one per output)."""
    from spikingnn.energy import measure

    model, X = fitted(hidden=(12,))
    recording = model.record(X)
    cost = measure(model, X)
    np.testing.assert_allclose(cost.synops, [recording.input_spikes.sum() * 12 / 60,
                                             recording.spikes[0].sum() * 10 / 60])
    np.testing.assert_allclose(cost.spike_rates, [s.mean() for s in recording.spikes])
    np.testing.assert_array_equal(cost.ann_macs, [784 * 12, 12 * 10])


def test_measure_with_recurrence_residuals_and_analog_input():
    """Recurrent synapses add n_hidden accumulates per hidden spike; the residual layer passes s_2 + s_1 on;
    the current-encoded input layer costs 784 * 10 MACs per image; batching does not change the averages."""
    from spikingnn.energy import measure

    model, X = fitted(hidden=(10, 10), recurrent=True, residual=True, encoding="current")
    recording = model.record(X)
    s1, s2 = (s.astype(int) for s in recording.spikes[:2])
    cost = measure(model, X)
    expected = [0.0, s1.sum() * 10 / 60, (s2 + s1).sum() * 10 / 60, s1.sum() * 10 / 60, s2.sum() * 10 / 60]
    np.testing.assert_allclose(cost.synops, expected)
    np.testing.assert_array_equal(cost.snn_macs, [784 * 10, 0, 0, 0, 0])
    batched = measure(model, X, batch_size=7)
    np.testing.assert_allclose(batched.synops, cost.synops)
    np.testing.assert_allclose(batched.spike_rates, cost.spike_rates)
