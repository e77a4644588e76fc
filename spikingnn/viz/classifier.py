"""Views of a spiking classifier at work on one image: the picture, what its output neurons did, who won.

What the output layer is depends on the model's loss (``spikingnn.training.losses``): with a count loss
(``SPIKE_LOSSES``) its neurons spike and the class scores are spike counts; with a membrane loss they are leaky
integrators that never fire, and the scores are their membranes averaged or maximised over time. Every view
here takes the ``loss`` and draws what that read-out does: spikes and counts, or membranes and their score,
never a threshold nor a raster that a non-spiking read-out cannot have.
"""
from __future__ import annotations

from typing import NamedTuple

import numpy as np

from spikingnn._validation import check_choice
from spikingnn.training.losses import LOSSES, SPIKE_LOSSES, output_scores
from spikingnn.viz._axes import category_colors
from spikingnn.viz.activity import plot_membrane, plot_output_counts, plot_raster, plot_score_race

_MEMBRANE_SCORES = {"ce_mem_mean": "read-out membrane (time-averaged)",
                    "ce_mem_max": "read-out membrane (maximum over time)"}


class Readout(NamedTuple):
    spiking: bool          # True: the output neurons spike and the scores are spike counts
    score_name: str        # what the class scores are, for axis labels and titles


def readout(loss: str) -> Readout:
    """What the output layer of a model trained with ``loss`` is (e.g. ``readout(model.loss)``)."""
    check_choice("loss", loss, LOSSES)
    return Readout(loss in SPIKE_LOSSES, _MEMBRANE_SCORES.get(loss, "spike count"))


def running_scores(loss: str, output_spikes, output_v) -> np.ndarray:
    """(T, n_classes): row t holds the class scores of ``loss`` had the run stopped after step t.

    ``output_spikes`` and ``output_v``: (T, n_classes) for one image. The last row is the model's score
    (``output_scores``), whose argmax is its prediction.
    """
    s, v = np.asarray(output_spikes, dtype=float), np.asarray(output_v, dtype=float)
    if s.shape != v.shape or s.ndim != 2:
        raise ValueError(f"output_spikes and output_v must both have shape (T, n_classes); got {s.shape} and "
                         f"{v.shape}")
    return np.stack([output_scores(loss, s[:t + 1, None], v[:t + 1, None])[0] for t in range(s.shape[0])])


def _image_panel(ax, image, names, true_label, title="input"):
    ax.imshow(np.asarray(image).reshape(28, 28) if np.size(image) == 784 else image, cmap="gray_r")
    ax.set_title(title + ("" if true_label is None else f" (label {names[int(true_label)]})"))
    ax.set_axis_off()


def _readout_panels(axes, output_spikes, output_v, loss, v_threshold, dt, names, true_label):
    """Draw the ``activity`` panel (raster, or the non-spiking membranes) and the ``race`` panel (counts, or the
    running score); for a spiking read-out also the ``membrane`` panel, with its threshold, if given."""
    kind = readout(loss)
    if kind.spiking:
        plot_raster(output_spikes, dt, ax=axes["activity"], colors=category_colors(len(names)), title="output spikes")
        axes["activity"].set_yticks(range(len(names)), names)
        axes["activity"].set_ylabel("output neuron (class)")
        if "membrane" in axes:
            plot_membrane(output_v, dt, threshold=v_threshold, labels=names, ax=axes["membrane"])
            axes["membrane"].set_title("output membrane potentials")
        plot_output_counts(output_spikes, dt, ax=axes["race"], class_names=names, true_label=true_label)
        return
    plot_membrane(output_v, dt, ax=axes["activity"], ylabel="read-out membrane v")   # the race names the colours
    axes["activity"].set_title(f"read-out membranes (non-spiking leaky integrators, loss {loss})")
    plot_score_race(running_scores(loss, output_spikes, output_v), dt, ax=axes["race"], class_names=names,
                    true_label=true_label, score_name=kind.score_name)


def _checked(output_spikes, output_v, class_names):
    output_spikes = np.asarray(output_spikes, dtype=bool)
    if np.shape(output_v) != output_spikes.shape or output_spikes.ndim != 2:
        raise ValueError(f"output_spikes and output_v must both have shape (T, n_classes); got "
                         f"{output_spikes.shape} and {np.shape(output_v)}")
    n_classes = output_spikes.shape[1]
    return output_spikes, [str(c) for c in (range(n_classes) if class_names is None else class_names)]


def plot_output_activity(image, output_spikes, output_v, *, loss, v_threshold=1.0, dt=1.0, class_names=None,
                         true_label=None):
    """The input picture and what the output layer did with it, as the read-out of ``loss`` works.

    ``output_spikes`` and ``output_v``: (T, n_classes) for one image (``model.record``); ``loss``: the model's
    loss. A spiking read-out: the raster, the membrane traces under the threshold ``v_threshold``, and the race
    of the cumulative counts. A membrane read-out: the membrane traces (no threshold: these neurons never fire)
    and the race of their score (see ``running_scores``). Each output neuron keeps one colour in every panel;
    the winner is drawn thick in the race.
    """
    import matplotlib.pyplot as plt

    output_spikes, names = _checked(output_spikes, output_v, class_names)
    layout = ([["image", "activity", "activity"], ["membrane", "membrane", "race"]] if readout(loss).spiking
              else [["image", "activity", "activity"], ["race", "race", "race"]])
    fig, axes = plt.subplot_mosaic(layout, figsize=(13.0, 7.0), layout="constrained", width_ratios=[1.0, 1.3, 1.3])
    _image_panel(axes["image"], image, names, true_label)
    _readout_panels(axes, output_spikes, output_v, loss, v_threshold, dt, names, true_label)
    return fig


def plot_prediction(image, output_spikes, output_v, *, loss, dt=1.0, class_names=None):
    """The picture as the network sees it, then the output layer as the read-out of ``loss`` works: the raster and
    the race of the spike counts, or the non-spiking membranes and the race of their score (``spikingnn
    predict --raster``). Arrays as in ``plot_output_activity``."""
    import matplotlib.pyplot as plt

    output_spikes, names = _checked(output_spikes, output_v, class_names)
    fig, axes = plt.subplot_mosaic([["image", "activity", "race"]], figsize=(13.0, 3.6), layout="constrained",
                                   width_ratios=[1.0, 2.0, 2.0])
    _image_panel(axes["image"], image, names, None, title="input (prepared, 28x28)")
    _readout_panels(axes, output_spikes, output_v, loss, None, dt, names, None)
    return fig


def plot_accuracy_vs_energy(num_steps, accuracy, snn_energy_pj, ann_energy_pj=None, source=None):
    """Accuracy against estimated energy per inference, one point per number of time steps T.

    ``accuracy``: fractions in [0, 1]; energies in picojoules per image. ``ann_energy_pj``: the same architecture
    run as an ANN, drawn as a vertical line. ``source``: where the per-operation energies come from, printed
    under the plot (an estimate must say so).
    """
    import matplotlib.pyplot as plt

    num_steps, accuracy, energy = (np.asarray(a, dtype=float) for a in (num_steps, accuracy, snn_energy_pj))
    if not num_steps.shape == accuracy.shape == energy.shape or num_steps.ndim != 1:
        raise ValueError(f"num_steps, accuracy and snn_energy_pj must be 1-D of one length; got "
                         f"{num_steps.shape}, {accuracy.shape} and {energy.shape}")
    fig, ax = plt.subplots(figsize=(6.4, 4.2), layout="constrained")
    ax.plot(energy / 1e3, 100.0 * accuracy, marker="o", color="tab:blue", label="spiking network")
    for steps, x, y in zip(num_steps, energy / 1e3, 100.0 * accuracy):
        ax.annotate(f"T={steps:g}", (x, y), xytext=(4, -12), textcoords="offset points", fontsize="small")
    if ann_energy_pj is not None:
        ax.axvline(ann_energy_pj / 1e3, color="tab:red", ls="--", label="same network as an ANN")
    ax.set_xlim(left=0.0)
    ax.set_xlabel("estimated energy per inference (nJ)")
    ax.set_ylabel("test accuracy (%)")
    ax.set_title("accuracy against energy as the number of time steps T grows")
    ax.legend(loc="lower right", fontsize="small")
    if source:
        fig.text(0.01, -0.01, source, fontsize="x-small", va="top", wrap=True)
    return fig
