"""Activity over time: spike rasters, membrane traces, population rate, output spike counts.

Every function takes time-first arrays (step ``t`` is drawn at ``t * dt`` ms) and returns the matplotlib
Figure it drew on: the figure of ``ax`` when ``ax`` is given, otherwise a new one.
"""
from __future__ import annotations

import numpy as np

from spikingnn._validation import check_positive
from spikingnn.viz._axes import as_time_first_2d, category_colors, figure_and_axes


def plot_raster_events(times, indices, n_neurons=None, *, classes=None, class_names=None, colors=None,
                       duration=None, ax=None, title=None):
    """Raster from monitor-style compact arrays: spike ``k`` is neuron ``indices[k]`` at ``times[k]`` ms.

    ``classes`` (one label per neuron, e.g. excitatory/inhibitory or the digit a neuron prefers) colours each
    neuron by its class and adds a legend (names from ``class_names``, a mapping or a sequence indexed by
    class). Otherwise ``colors`` is one colour (a name or an RGB tuple) for every spike, or a list / array with
    one colour per neuron.
    """
    times = np.asarray(times, dtype=float).ravel()
    indices = np.asarray(indices).ravel().astype(int)
    if times.shape != indices.shape:
        raise ValueError(f"times and indices must have the same length; got {times.size} and {indices.size}")
    if indices.size and indices.min() < 0:
        raise ValueError(f"indices must be >= 0; got {indices.min()}")
    if n_neurons is None:
        n_neurons = int(indices.max()) + 1 if indices.size else 1
    if indices.size and indices.max() >= n_neurons:
        raise ValueError(f"indices must be < n_neurons = {n_neurons}; got {indices.max()}")
    if classes is not None and colors is not None:
        raise ValueError("give classes (colour by class) or colors (explicit colours), not both")
    fig, ax = figure_and_axes(ax)
    size = float(np.clip(3000.0 / n_neurons, 4.0, 150.0))      # marker area: shorter ticks for many neurons
    width = 1.5 if n_neurons <= 20 else 1.0
    if classes is None:
        color = "black" if colors is None else colors
        if isinstance(color, (list, np.ndarray)):                # one colour per neuron
            if len(color) != n_neurons:
                raise ValueError(f"colors must be one colour or a list of {n_neurons}; got {len(color)}")
            color = [color[i] for i in indices]
        ax.scatter(times, indices, s=size, c=color, marker="|", linewidths=width)
    else:
        classes = np.asarray(classes)
        if classes.shape != (n_neurons,):
            raise ValueError(f"classes must hold one label per neuron, shape ({n_neurons},); got {classes.shape}")
        labels = np.unique(classes)
        for label, color in zip(labels, category_colors(len(labels))):
            on = classes[indices] == label
            name = str(label) if class_names is None else str(class_names[label])
            ax.scatter(times[on], indices[on], s=size, color=color, marker="|", linewidths=width, label=name)
        ax.legend(title="class", loc="upper right", fontsize="small", markerscale=1.5)
    ax.set_ylim(-0.5, n_neurons - 0.5)
    if duration is not None:
        ax.set_xlim(0.0, duration)
    ax.set_xlabel("time (ms)")
    ax.set_ylabel("neuron")
    if title:
        ax.set_title(title)
    return fig


def plot_raster(spikes, dt=1.0, ax=None, colors=None, *, classes=None, class_names=None, title=None):
    """Raster of a (T, n) boolean spike array: one tick per spike, neuron ``i`` on row ``i``.

    Accepts (T,) for a single neuron. ``colors``, ``classes`` and ``class_names`` as in plot_raster_events.
    """
    check_positive("dt", dt, "ms")
    spikes = as_time_first_2d("spikes", spikes).astype(bool)
    steps, neurons = np.nonzero(spikes)
    return plot_raster_events(steps * dt, neurons, spikes.shape[1], classes=classes, class_names=class_names,
                              colors=colors, duration=spikes.shape[0] * dt, ax=ax, title=title)


def plot_membrane(v, dt=1.0, threshold=None, spikes=None, labels=None, ax=None, ylabel="membrane potential v"):
    """Membrane traces ``v`` (T,) or (T, k), one line each, with the threshold and the spikes.

    ``threshold``: a number (one dashed horizontal line) or a trace (T,) / (T, k) for adaptive thresholds
    (dashed, in the colour of its neuron). ``spikes`` (same shape as ``v``): a tick above the traces at each
    spike. ``labels``: one legend entry per trace.
    """
    check_positive("dt", dt, "ms")
    v = as_time_first_2d("v", v, dtype=float)
    time = np.arange(v.shape[0]) * dt
    if labels is not None and len(labels) != v.shape[1]:
        raise ValueError(f"labels must have one entry per trace ({v.shape[1]}); got {len(labels)}")
    fig, ax = figure_and_axes(ax)
    colors = category_colors(v.shape[1])
    for k in range(v.shape[1]):
        ax.plot(time, v[:, k], color=colors[k], lw=1.2, label=None if labels is None else labels[k])
    if threshold is not None and np.ndim(threshold) == 0:
        ax.axhline(float(threshold), color="gray", ls="--", lw=1.0, label="threshold")
    elif threshold is not None:
        theta = as_time_first_2d("threshold", threshold, dtype=float)
        if theta.shape[0] != v.shape[0] or theta.shape[1] not in (1, v.shape[1]):
            raise ValueError(f"threshold trace must have shape (T,) or {v.shape}; got {np.shape(threshold)}")
        for k in range(theta.shape[1]):
            color = "gray" if theta.shape[1] == 1 else colors[k]
            ax.plot(time, theta[:, k], color=color, ls="--", lw=1.0, label="threshold" if k == 0 else None)
    if spikes is not None:
        spikes = as_time_first_2d("spikes", spikes).astype(bool)
        if spikes.shape != v.shape:
            raise ValueError(f"spikes must have the shape of v {v.shape}; got {spikes.shape}")
        top = max(np.nanmax(v), float(np.nanmax(threshold)) if threshold is not None else -np.inf)
        span = top - min(np.nanmin(v), 0.0) or 1.0
        for k in range(v.shape[1]):
            ax.scatter(time[spikes[:, k]], np.full(spikes[:, k].sum(), top + 0.08 * span * (1 + k)),
                       marker="|", s=60, color=colors[k], label="spikes" if k == 0 else None)
    ax.set_xlabel("time (ms)")
    ax.set_ylabel(ylabel)
    if labels is not None or threshold is not None or spikes is not None:
        ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0), fontsize="small")
    return fig


def smoothed_rate(spikes_or_rate, dt, window=5.0) -> np.ndarray:
    """Population rate in Hz, smoothed by a centred box of ``window`` ms (edges averaged over what exists).

    A (T, n) spike array gives the fraction of neurons spiking per step / dt; a (T,) array is taken as a rate
    in Hz already. r(t) = (1 / n) sum_i s_i(t) / dt.
    """
    check_positive("dt", dt, "ms")
    check_positive("window", window, "ms")
    data = np.asarray(spikes_or_rate, dtype=float)
    if data.ndim not in (1, 2):
        raise ValueError(f"spikes_or_rate must have shape (T, n) spikes or (T,) rate in Hz; got {data.shape}")
    rate = data.mean(axis=1) * 1000.0 / dt if data.ndim == 2 else data
    box = np.ones(max(1, int(round(window / dt))))
    return np.convolve(rate, box, mode="same") / np.convolve(np.ones_like(rate), box, mode="same")


def plot_population_rate(spikes_or_rate, dt=1.0, window=5.0, ax=None, label=None):
    """Population firing rate (Hz) over time, smoothed over ``window`` ms (see ``smoothed_rate``)."""
    rate = smoothed_rate(spikes_or_rate, dt, window)
    fig, ax = figure_and_axes(ax)
    ax.plot(np.arange(rate.size) * dt, rate, color="tab:blue", lw=1.2, label=label)
    ax.set_xlabel("time (ms)")
    ax.set_ylabel(f"population rate (Hz, {window:g} ms window)")
    ax.set_ylim(bottom=0.0)
    if label is not None:
        ax.legend(loc="best", fontsize="small")
    return fig


def plot_output_counts(output_spikes, dt=1.0, ax=None, class_names=None, true_label=None):
    """Cumulative spike count of each output neuron over time: the race to the decision of a spiking read-out.

    The winner (most spikes at the end; the first on ties) is drawn thick and named in the legend and title;
    ``true_label`` (a class index), if given, is named in the title too.
    """
    check_positive("dt", dt, "ms")
    counts = np.cumsum(as_time_first_2d("output_spikes", output_spikes).astype(int), axis=0)
    winner = int(np.argmax(counts[-1])) if counts[-1].max() > 0 else None
    time = np.arange(counts.shape[0] + 1) * dt              # count after step t holds until (t + 1) dt
    fig, ax = figure_and_axes(ax)
    _draw_race(ax, time, np.vstack([counts, counts[-1:]]), winner, class_names, true_label, "steps-post",
               lambda count: f"{count} spikes", "no output spikes")
    ax.set_ylabel("cumulative spike count")
    return fig


def plot_score_race(running_scores, dt=1.0, ax=None, class_names=None, true_label=None, score_name="score"):
    """Each class's score over time, ``running_scores[t]`` being what it would be if the run stopped after step t.

    For a membrane read-out (``spikingnn.viz.classifier.running_scores``) this is the race that
    ``plot_output_counts`` draws for spikes: the prediction is the class with the highest score at the end
    (the first on ties), drawn thick and named in the legend and title. ``score_name`` labels the y axis.
    """
    check_positive("dt", dt, "ms")
    scores = as_time_first_2d("running_scores", running_scores, dtype=float)
    fig, ax = figure_and_axes(ax)
    _draw_race(ax, np.arange(scores.shape[0]) * dt, scores, int(np.argmax(scores[-1])), class_names, true_label,
               "default", lambda score: f"{score:.3g}", None)
    ax.set_ylabel(score_name)
    return fig


def _draw_race(ax, time, values, winner, class_names, true_label, drawstyle, describe, nobody):
    """One line per class (values: (len(time), n_classes)); the ``winner`` (an index, or None: title ``nobody``)
    thick, annotated with ``describe(its final value)`` and named in the legend and title."""
    n_classes = values.shape[1]
    names = [str(c) for c in range(n_classes)] if class_names is None else [str(c) for c in class_names]
    for k, color in enumerate(category_colors(n_classes)):
        won = k == winner
        ax.plot(time, values[:, k], drawstyle=drawstyle, color=color, lw=3.0 if won else 1.2,
                alpha=1.0 if won else 0.7, zorder=3 if won else 2, label=f"{names[k]} (winner)" if won else names[k])
    if winner is not None:
        ax.annotate(f"{names[winner]}: {describe(values[-1, winner])}", (time[-1], values[-1, winner]),
                    xytext=(-4, 6), textcoords="offset points", ha="right", fontweight="bold")
        low, high = min(values.min(), 0.0), values.max()
        ax.set_ylim(low - 0.02 * (high - low), high + 0.12 * (high - low) + 0.5 * (high == low))
    verdict = nobody if winner is None else f"prediction: {names[winner]}"
    if true_label is not None:
        verdict += f"  (true: {names[int(true_label)]})"
    ax.set_title(verdict)
    ax.set_xlabel("time (ms)")
    ax.legend(title="output neuron", loc="best", fontsize="small", ncol=2)
