"""Views of a spiking classifier at work on one image: the picture, what its output neurons did, who won."""
from __future__ import annotations

import numpy as np

from spikingnn.viz._axes import category_colors
from spikingnn.viz.activity import plot_membrane, plot_output_counts, plot_raster


def plot_output_activity(image, output_spikes, output_v, v_threshold=1.0, dt=1.0, class_names=None,
                         true_label=None):
    """The input picture, the raster and membrane traces of the output neurons, and their cumulative counts.

    ``output_spikes`` and ``output_v``: (T, n_classes) for one image. Each output neuron keeps one colour in
    all three panels; the winner (most spikes) is drawn thick in the counts panel.
    """
    import matplotlib.pyplot as plt

    output_spikes = np.asarray(output_spikes, dtype=bool)
    if np.shape(output_v) != output_spikes.shape or output_spikes.ndim != 2:
        raise ValueError(f"output_spikes and output_v must both have shape (T, n_classes); got "
                         f"{output_spikes.shape} and {np.shape(output_v)}")
    n_classes = output_spikes.shape[1]
    names = [str(c) for c in (range(n_classes) if class_names is None else class_names)]
    fig, axes = plt.subplot_mosaic([["image", "raster", "raster"], ["membrane", "membrane", "counts"]],
                                   figsize=(13.0, 7.0), layout="constrained", width_ratios=[1.0, 1.3, 1.3])
    axes["image"].imshow(np.asarray(image).reshape(28, 28) if np.size(image) == 784 else image, cmap="gray_r")
    axes["image"].set_title("input" + ("" if true_label is None else f" (label {names[int(true_label)]})"))
    axes["image"].set_axis_off()
    colors = category_colors(n_classes)
    plot_raster(output_spikes, dt, ax=axes["raster"], colors=colors, title="output spikes")
    axes["raster"].set_yticks(range(n_classes), names)
    axes["raster"].set_ylabel("output neuron (class)")
    plot_membrane(output_v, dt, threshold=v_threshold, labels=names, ax=axes["membrane"])
    axes["membrane"].set_title("output membrane potentials")
    plot_output_counts(output_spikes, dt, ax=axes["counts"], class_names=names, true_label=true_label)
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
