"""Each plotting function on small synthetic arrays draws what it says: as many raster ticks as spikes, one
line per trace plus the threshold, images equal to the data they show."""
import matplotlib.pyplot as plt
import numpy as np
import pytest

from spikingnn.plotting import (
    SpikeVisualizer,
    plot_accuracy_vs_energy,
    plot_confusion_matrix,
    plot_membrane,
    plot_output_activity,
    plot_output_counts,
    plot_population_rate,
    plot_raster,
    plot_raster_events,
    plot_receptive_fields,
    plot_training_curves,
    plot_weight_histograms,
    smoothed_rate,
)


def _points(ax):
    """All scatter points of an axes, as an (m, 2) array of (x, y)."""
    offsets = [c.get_offsets() for c in ax.collections if len(c.get_offsets())]
    return np.concatenate(offsets) if offsets else np.zeros((0, 2))


def test_raster_has_one_point_per_spike_at_its_time_and_row():
    rng = np.random.default_rng(0)
    spikes = rng.random((50, 8)) < 0.2
    fig = plot_raster(spikes, dt=0.5)
    points = _points(fig.axes[0])
    steps, neurons = np.nonzero(spikes)
    assert len(points) == spikes.sum()
    expected = sorted(zip(steps * 0.5, neurons))
    assert sorted(map(tuple, points)) == expected
    assert fig.axes[0].get_xlabel() == "time (ms)"


def test_raster_class_colouring_gives_one_legend_entry_per_class():
    rng = np.random.default_rng(1)
    spikes = rng.random((40, 6)) < 0.3
    classes = np.array([0, 0, 1, 1, 2, 2])
    fig = plot_raster(spikes, classes=classes, class_names=["exc", "inh", "other"])
    ax = fig.axes[0]
    assert [t.get_text() for t in ax.get_legend().get_texts()] == ["exc", "inh", "other"]
    assert len(_points(ax)) == spikes.sum()
    for collection, label in zip(ax.collections, (0, 1, 2)):      # each class's points are its neurons' spikes
        assert set(collection.get_offsets()[:, 1].astype(int)) <= set(np.flatnonzero(classes == label))


def test_raster_events_draws_into_given_axes_and_validates():
    fig, ax = plt.subplots()
    times, indices = np.array([1.0, 2.5, 7.0]), np.array([0, 3, 3])
    assert plot_raster_events(times, indices, n_neurons=5, ax=ax) is fig
    assert len(_points(ax)) == 3 and ax.get_ylim() == (-0.5, 4.5)
    with pytest.raises(ValueError, match="same length"):
        plot_raster_events(times, indices[:2])
    with pytest.raises(ValueError, match="n_neurons"):
        plot_raster_events(times, indices, n_neurons=3)
    with pytest.raises(ValueError, match="not both"):
        plot_raster_events(times, indices, classes=[0, 1, 0, 1], colors="red")


def test_membrane_draws_k_lines_plus_threshold_and_spike_ticks():
    rng = np.random.default_rng(2)
    v = rng.random((30, 3))
    spikes = v > 0.9
    fig = plot_membrane(v, dt=0.1, threshold=0.9, spikes=spikes, labels=["a", "b", "c"])
    ax = fig.axes[0]
    assert len(ax.lines) == 3 + 1
    for k in range(3):
        np.testing.assert_allclose(ax.lines[k].get_ydata(), v[:, k])
        np.testing.assert_allclose(ax.lines[k].get_xdata(), np.arange(30) * 0.1)
    np.testing.assert_array_equal(ax.lines[3].get_ydata(), [0.9, 0.9])
    assert len(_points(ax)) == spikes.sum()
    assert {"a", "b", "c", "threshold", "spikes"} == {t.get_text() for t in ax.get_legend().get_texts()}


def test_membrane_accepts_one_trace_and_an_adaptive_threshold_per_trace():
    v = np.linspace(0.0, 1.0, 20)
    assert len(plot_membrane(v).axes[0].lines) == 1
    theta = np.ones((20, 2)) + np.linspace(0, 0.5, 20)[:, None]
    fig = plot_membrane(np.zeros((20, 2)), threshold=theta)
    assert len(fig.axes[0].lines) == 2 + 2
    with pytest.raises(ValueError, match="threshold"):
        plot_membrane(np.zeros((20, 2)), threshold=np.ones((20, 3)))


def test_population_rate_of_all_neurons_spiking_every_step_is_1000_over_dt_hz():
    dt = 0.5
    fig = plot_population_rate(np.ones((100, 4), dtype=bool), dt=dt, window=5.0)
    np.testing.assert_allclose(fig.axes[0].lines[0].get_ydata(), 1000.0 / dt)    # edges included
    half = np.zeros((100, 4), dtype=bool)
    half[:, :2] = True
    np.testing.assert_allclose(smoothed_rate(half, dt), 500.0 / dt)


def test_population_rate_smoothing_keeps_the_mean_rate_away_from_the_edges():
    rng = np.random.default_rng(3)
    rate = np.zeros(200)
    rate[100] = 1000.0                                                           # one spike in one step
    smooth = smoothed_rate(rate, dt=1.0, window=9.0)
    assert smooth.sum() == pytest.approx(1000.0)
    assert np.count_nonzero(smooth) == 9
    assert smoothed_rate(rng.random(50), dt=1.0, window=0.1).shape == (50,)


def test_output_counts_are_cumulative_and_the_winner_is_marked():
    out = np.zeros((20, 4), dtype=bool)
    out[::2, 2] = True                     # class 2: 10 spikes
    out[::5, 0] = True                     # class 0: 4 spikes
    fig = plot_output_counts(out, dt=1.0, true_label=2)
    ax = fig.axes[0]
    assert len(ax.lines) == 4
    np.testing.assert_array_equal([line.get_ydata()[-1] for line in ax.lines], [4, 0, 10, 0])
    np.testing.assert_array_equal(ax.lines[2].get_ydata()[:-1], np.cumsum(out[:, 2]))
    assert ax.lines[2].get_linewidth() > max(ax.lines[k].get_linewidth() for k in (0, 1, 3))
    assert "2 (winner)" in [t.get_text() for t in ax.get_legend().get_texts()]
    assert "prediction: 2" in ax.get_title()
    assert "no output spikes" in plot_output_counts(np.zeros((5, 3))).axes[0].get_title()


def test_output_activity_shows_the_image_and_every_output_neuron_in_each_panel():
    rng = np.random.default_rng(6)
    spikes, v = rng.random((15, 10)) < 0.3, rng.random((15, 10))
    image = rng.integers(0, 256, size=(28, 28))
    fig = plot_output_activity(image.ravel(), spikes, v, loss="ce_count", v_threshold=0.8, true_label=3)
    axes = {ax.get_title(): ax for ax in fig.axes}
    np.testing.assert_array_equal(axes["input (label 3)"].images[0].get_array(), image)
    assert len(_points(axes["output spikes"])) == spikes.sum()
    assert len(axes["output membrane potentials"].lines) == 10 + 1
    counts_ax = next(ax for title, ax in axes.items() if title.startswith("prediction"))
    assert len(counts_ax.lines) == 10
    with pytest.raises(ValueError, match="shape"):
        plot_output_activity(image, spikes, v[:, :3], loss="ce_count")


def test_weight_histograms_count_every_weight_before_and_after():
    rng = np.random.default_rng(4)
    after = [rng.normal(size=(20, 5)), rng.normal(size=(5, 3))]
    before = [rng.normal(size=(20, 5)), rng.normal(size=(5, 3))]
    fig = plot_weight_histograms(after, before=before)
    assert len(fig.axes) == 2
    for ax, w in zip(fig.axes, after):
        filled, outline = ax.patches[:-1], ax.patches[-1]
        assert sum(p.get_height() for p in filled) == w.size
        assert not outline.get_fill()          # the "before" distribution: an unfilled step outline
        assert ax.get_title().endswith("→ " + str(w.shape[1]))
    with pytest.raises(ValueError, match="before"):
        plot_weight_histograms(after, before=before[:1])


def test_receptive_field_grid_has_one_image_per_neuron_equal_to_its_weights():
    rng = np.random.default_rng(5)
    weights = rng.normal(size=(12, 7))
    fig = plot_receptive_fields(weights, image_shape=(3, 4), labels=[f"h{k}" for k in range(7)])
    images = [im for ax in fig.axes for im in ax.images]
    assert len(images) == 7
    for k, image in enumerate(images):
        np.testing.assert_array_equal(image.get_array(), weights[:, k].reshape(3, 4))
    assert [ax.get_title() for ax in fig.axes if ax.images] == [f"h{k}" for k in range(7)]
    with pytest.raises(ValueError, match="n_inputs"):
        plot_receptive_fields(weights, image_shape=(28, 28))


def test_training_curves_accept_history_rows_or_csv_columns():
    history = [dict(epoch=e, train_loss=1.0 / e, train_accuracy=0.5 + 0.1 * e, val_accuracy=None if e == 1
                    else 0.55 + 0.1 * e, spike_rates=[0.1 * e, 0.05]) for e in (1, 2, 3)]
    columns = {key: [row[key] for row in history] for key in history[0]}
    for metrics in (history, columns):
        loss_ax, acc_ax, rate_ax = plot_training_curves(metrics).axes
        np.testing.assert_allclose(loss_ax.lines[0].get_ydata(), [1.0, 0.5, 1 / 3])
        train, val = acc_ax.lines
        np.testing.assert_allclose(train.get_ydata(), [60.0, 70.0, 80.0])        # fractions shown in %
        np.testing.assert_allclose(val.get_xdata(), [2, 3])                       # epoch 1 had no validation
        assert [line.get_label() for line in rate_ax.lines] == ["hidden 1", "output"]
    with pytest.raises(ValueError, match="none of"):
        plot_training_curves({"seconds": [1.0]})


def test_training_curves_say_a_membrane_read_out_has_no_rate_instead_of_drawing_zero():
    history = [dict(epoch=e, train_loss=1.0 / e, spike_rates=[0.1 * e, 0.0]) for e in (1, 2)]
    rate_ax = plot_training_curves(history, loss="ce_mem_mean").axes[1]
    assert [line.get_label() for line in rate_ax.lines] == ["hidden 1"]
    assert any("non-spiking read-out" in text.get_text() and "ce_mem_mean" in text.get_text()
               for text in rate_ax.texts)
    spiking = plot_training_curves(history, loss="ce_count").axes[1]
    assert [line.get_label() for line in spiking.lines] == ["hidden 1", "output"] and not spiking.texts
    with pytest.raises(ValueError, match="loss"):
        plot_training_curves(history, loss="hinge")


def test_confusion_matrix_image_equals_cm_and_every_cell_is_annotated():
    cm = np.array([[5, 1, 0], [2, 7, 1], [0, 0, 9]])
    fig = plot_confusion_matrix(cm, class_names=["a", "b", "c"])
    ax = fig.axes[0]
    np.testing.assert_array_equal(ax.images[0].get_array(), cm)
    assert sorted(t.get_text() for t in ax.texts) == sorted(str(x) for x in cm.ravel())
    assert f"{100 * 21 / 25:.2f}%" in ax.get_title()
    with pytest.raises(ValueError, match="square"):
        plot_confusion_matrix(np.zeros((2, 3)))


def test_accuracy_vs_energy_has_one_point_per_t_and_the_ann_line():
    fig = plot_accuracy_vs_energy([5, 10, 25], [0.9, 0.95, 0.97], [5e4, 1e5, 2.5e5], ann_energy_pj=3e5,
                                  source="Horowitz 2014")
    ax = fig.axes[0]
    snn, ann = ax.lines
    np.testing.assert_allclose(snn.get_xdata(), [50.0, 100.0, 250.0])                # nJ
    np.testing.assert_allclose(snn.get_ydata(), [90.0, 95.0, 97.0])                  # %
    np.testing.assert_allclose(ann.get_xdata(), [300.0, 300.0])
    assert [t.get_text() for t in ax.texts] == ["T=5", "T=10", "T=25"]
    assert any("Horowitz" in t.get_text() for t in fig.texts)
    with pytest.raises(ValueError, match="one length"):
        plot_accuracy_vs_energy([5, 10], [0.9], [1.0, 2.0])


def test_spike_visualizer_shortcuts():
    viz = SpikeVisualizer(dt=2.0)
    train = np.array([0, 1, 0, 0, 1, 1], dtype=bool)
    points = _points(viz.plot_spike_train(train).axes[0])
    np.testing.assert_array_equal(points[:, 0], [2.0, 8.0, 10.0])
    ax = viz.plot_membrane_potential(np.linspace(0, 1.5, 6), threshold=1.2).axes[0]
    assert len(ax.lines) == 2 and ax.lines[1].get_ydata()[0] == 1.2
    with pytest.raises(ValueError, match="dt"):
        SpikeVisualizer(dt=0.0)
