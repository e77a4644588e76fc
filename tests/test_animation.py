"""The network animation: one frame per time step, edges only from neurons that spiked, spikes in red, and a GIF
that pillow reads back with the same frames."""
import numpy as np
import pytest
from PIL import Image

from spikingnn.animation import NetworkAnimation, _strongest_edges, save_gif


def _activity(rng, steps=6, n_in=16, n_hidden=9, n_classes=3):
    input_spikes = rng.random((steps, n_in)) < 0.3
    spikes = [rng.random((steps, n_hidden)) < 0.3, rng.random((steps, n_classes)) < 0.3]
    v = [rng.random((steps, n_hidden)), rng.random((steps, n_classes))]
    weights = [rng.normal(size=(n_in, n_hidden)), rng.normal(size=(n_hidden, n_classes))]
    return input_spikes, spikes, v, weights


def test_one_frame_per_step_of_the_requested_size_and_a_gif_with_the_same_frames(tmp_path):
    rng = np.random.default_rng(0)
    input_spikes, spikes, v, weights = _activity(rng)
    animation = NetworkAnimation(input_spikes, spikes, v, weights, loss="ce_count", image_shape=(4, 4),
                                 figsize=(4.0, 2.5), dpi=50)
    frames = animation.frames()
    assert len(frames) == 6
    assert all(frame.size == (200, 125) and frame.mode == "RGB" for frame in frames)
    path = save_gif(frames, tmp_path / "net.gif", frame_ms=100, hold_last_ms=900)
    with Image.open(path) as gif:
        assert gif.n_frames == 6 and gif.size == (200, 125) and gif.is_animated
        durations = []
        for k in range(gif.n_frames):
            gif.seek(k)
            durations.append(gif.info["duration"])
    assert durations == [100] * 5 + [900]


def test_edges_start_only_at_neurons_that_spiked_and_keep_the_strongest():
    rng = np.random.default_rng(1)
    input_spikes, spikes, v, weights = _activity(rng)
    animation = NetworkAnimation(input_spikes, spikes, v, weights, loss="ce_count", image_shape=(4, 4), max_edges=5)
    for t in range(6):
        animation.draw_step(t)
        segments = animation.edges_in.get_segments()
        n_active = input_spikes[t].sum()
        assert len(segments) == min(5, n_active * 9)
        starts = {tuple(np.round(seg[0], 9)) for seg in segments}
        assert starts <= {tuple(np.round(xy, 9)) for xy in animation.input_xy[input_spikes[t]]}


def test_strongest_edges_are_the_largest_weights_leaving_active_neurons():
    rng = np.random.default_rng(4)
    weights, active = rng.normal(size=(12, 5)), rng.random(12) < 0.5
    pre, post = _strongest_edges(weights, active, 7)
    assert active[pre].all() and len(set(zip(pre, post))) == 7
    np.testing.assert_allclose(np.sort(np.abs(weights[pre, post])), np.sort(np.abs(weights[active]).ravel())[-7:])
    assert len(_strongest_edges(weights, np.zeros(12, dtype=bool), 7)[0]) == 0


def test_spiking_neurons_flash_red_and_the_title_follows_the_output_counts():
    rng = np.random.default_rng(2)
    input_spikes, spikes, v, weights = _activity(rng)
    spikes[1][:] = False
    spikes[1][2, 1] = True                          # output 1 spikes at step 2, nobody else
    animation = NetworkAnimation(input_spikes, spikes, v, weights, loss="ce_count", image_shape=(4, 4), dt=0.5,
                                 true_label=1)
    animation.draw_step(1)
    assert "no output spike yet" in animation.title.get_text()
    animation.draw_step(2)
    assert "step 3/6 (1.5 ms)" in animation.title.get_text()
    assert "prediction so far: 1" in animation.title.get_text()
    red = np.array([1.0, 0.0, 0.0, 1.0])
    hidden = animation.hidden_nodes.get_facecolors()
    np.testing.assert_array_equal(np.all(hidden == red, axis=1), spikes[0][2])
    np.testing.assert_array_equal(np.all(animation.output_nodes.get_facecolors() == red, axis=1), [0, 1, 0])


def test_a_membrane_read_out_shows_its_running_score_and_never_flashes_or_waits_for_a_spike():
    rng = np.random.default_rng(5)
    input_spikes, spikes, v, weights = _activity(rng)
    spikes[1][:] = True                             # even if a recording held spikes, a read-out does not fire
    animation = NetworkAnimation(input_spikes, spikes, v, weights, loss="ce_mem_mean", image_shape=(4, 4))
    red = np.array([1.0, 0.0, 0.0, 1.0])
    for t in (0, 3):
        animation.draw_step(t)
        running_mean = v[1][:t + 1].mean(axis=0)
        assert f"prediction so far: {int(np.argmax(running_mean))}" in animation.title.get_text()
        assert [text.get_text() for text in animation.score_texts] == [f"{x:.2f}" for x in running_mean]
        np.testing.assert_allclose([bar.get_width() for bar in animation.bars], running_mean * animation.bar_scale)
        assert not np.all(animation.output_nodes.get_facecolors() == red, axis=1).any()
    assert any("read-out membrane" in text.get_text() for text in animation.ax.texts)
    assert not any("spike count" in text.get_text() for text in animation.ax.texts)


def test_bad_shapes_and_steps_are_refused():
    rng = np.random.default_rng(3)
    input_spikes, spikes, v, weights = _activity(rng)
    with pytest.raises(ValueError, match="image_shape"):
        NetworkAnimation(input_spikes, spikes, v, weights, loss="ce_count", image_shape=(28, 28))
    with pytest.raises(ValueError, match="hidden v"):
        NetworkAnimation(input_spikes, spikes, [v[0][:, :3], v[1]], weights, loss="ce_count", image_shape=(4, 4))
    with pytest.raises(ValueError, match="one hidden layer"):
        NetworkAnimation(input_spikes, spikes + spikes[:1], v, weights, loss="ce_count", image_shape=(4, 4))
    animation = NetworkAnimation(input_spikes, spikes, v, weights, loss="ce_count", image_shape=(4, 4))
    with pytest.raises(ValueError, match="t must be"):
        animation.draw_step(6)
    with pytest.raises(ValueError, match="at least one"):
        save_gif([], "unused.gif")
