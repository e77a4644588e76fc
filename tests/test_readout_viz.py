"""The views of a classifier draw its output layer as it works: a spiking read-out as spikes and counts, a
membrane read-out (the neurons never fire) as membranes and the score its loss predicts from, with no threshold
and no raster. Scores in the pictures are the loss's own (``losses.output_scores``)."""
import numpy as np
import pytest

from spikingnn.plotting import plot_output_activity, plot_prediction, readout, running_scores
from spikingnn.training.losses import LOSSES, SPIKE_LOSSES, output_scores


def _activity(seed, steps=12, n_classes=4):
    rng = np.random.default_rng(seed)
    return rng.random((steps, n_classes)) < 0.3, rng.normal(size=(steps, n_classes)), rng.integers(0, 256, (28, 28))


def _points(ax):
    offsets = [c.get_offsets() for c in ax.collections if len(c.get_offsets())]
    return np.concatenate(offsets) if offsets else np.zeros((0, 2))


def _horizontal_lines_at(ax, level):
    return [line for line in ax.lines if np.allclose(line.get_ydata(), level) and len(set(line.get_ydata())) == 1]


def test_readout_follows_the_losses_that_make_the_output_spike():
    for loss in LOSSES:
        kind = readout(loss)
        assert kind.spiking == (loss in SPIKE_LOSSES)
        assert (kind.score_name == "spike count") == kind.spiking      # every membrane loss names its own score
    assert readout("ce_mem_mean").score_name == "read-out membrane (time-averaged)"
    with pytest.raises(ValueError, match="loss must be one of"):
        readout("hinge")


@pytest.mark.parametrize("loss", LOSSES)
def test_running_scores_end_on_the_models_scores_and_grow_one_step_at_a_time(loss):
    spikes, v, _ = _activity(1)
    running = running_scores(loss, spikes, v)
    np.testing.assert_allclose(running[-1], output_scores(loss, spikes[:, None], v[:, None])[0])
    np.testing.assert_allclose(running[3], output_scores(loss, spikes[:4, None], v[:4, None])[0])
    with pytest.raises(ValueError, match="shape"):
        running_scores(loss, spikes, v[:, :2])


def test_membrane_read_out_has_no_threshold_no_raster_and_the_race_of_its_time_averaged_membrane():
    spikes, v, image = _activity(2)
    fig = plot_output_activity(image, spikes, v, loss="ce_mem_mean", v_threshold=0.5, true_label=1)
    data_axes = [ax for ax in fig.axes if ax.lines]
    assert len(data_axes) == 2
    membrane_ax = next(ax for ax in data_axes if ax.get_ylabel() == "read-out membrane v")
    race_ax = next(ax for ax in data_axes if ax.get_ylabel() == "read-out membrane (time-averaged)")
    assert "non-spiking" in membrane_ax.get_title()
    for ax in fig.axes:
        assert not _horizontal_lines_at(ax, 0.5) and len(_points(ax)) == 0          # no threshold, no raster
        assert "threshold" not in [t.get_text() for t in (ax.get_legend().get_texts() if ax.get_legend() else [])]
        assert "spike" not in ax.get_ylabel() and "spike" not in ax.get_title()
    np.testing.assert_allclose([line.get_ydata() for line in membrane_ax.lines], v.T)
    np.testing.assert_allclose([line.get_ydata()[-1] for line in race_ax.lines], v.mean(axis=0))
    winner = int(np.argmax(v.mean(axis=0)))
    assert race_ax.get_title().startswith(f"prediction: {winner}") and "(true: 1)" in race_ax.get_title()


def test_spiking_read_out_shows_the_recorded_spikes_the_threshold_and_the_counts():
    spikes, v, image = _activity(3)
    fig = plot_output_activity(image, spikes, v, loss="mse_count", v_threshold=0.5)
    raster_ax = next(ax for ax in fig.axes if ax.get_title() == "output spikes")
    steps, neurons = np.nonzero(spikes)
    assert sorted(map(tuple, _points(raster_ax))) == sorted(zip(steps * 1.0, neurons))
    membrane_ax = next(ax for ax in fig.axes if ax.get_title() == "output membrane potentials")
    assert len(_horizontal_lines_at(membrane_ax, 0.5)) == 1
    counts_ax = next(ax for ax in fig.axes if ax.get_ylabel() == "cumulative spike count")
    np.testing.assert_array_equal([line.get_ydata()[-1] for line in counts_ax.lines], spikes.sum(axis=0))


@pytest.mark.parametrize("loss", ["ce_count", "ce_mem_max"])
def test_prediction_picture_names_the_class_the_model_predicts(loss):
    spikes, v, image = _activity(4)
    fig = plot_prediction(image, spikes, v, loss=loss, class_names=["a", "b", "c", "d"])
    predicted = "abcd"[int(np.argmax(output_scores(loss, spikes[:, None], v[:, None])[0]))]
    titles = [ax.get_title() for ax in fig.axes]
    assert f"prediction: {predicted}" in titles
    assert any(len(_points(ax)) for ax in fig.axes) == (loss == "ce_count")
