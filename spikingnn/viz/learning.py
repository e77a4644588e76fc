"""What training produced: weight histograms, receptive fields, training curves, the confusion matrix.

Every function takes arrays (or the metrics a fit recorded) and returns a matplotlib Figure.
"""
from __future__ import annotations

import math

import numpy as np

from spikingnn.viz._axes import figure_and_axes, new_figure
from spikingnn.viz.classifier import readout


def plot_weight_histograms(weights_list, labels=None, before=None, bins=60):
    """One histogram of weights per layer; ``before`` (same layers, e.g. the initial weights) as an outline.

    ``weights_list``: a list of arrays, e.g. ``model.weights_`` ((n_in, n_out) each). Labels default to
    "layer k: n_in → n_out".
    """
    weights_list = [np.asarray(w, dtype=float) for w in weights_list]
    if before is not None and len(before) != len(weights_list):
        raise ValueError(f"before must have one array per layer ({len(weights_list)}); got {len(before)}")
    if labels is not None and len(labels) != len(weights_list):
        raise ValueError(f"labels must have one entry per layer ({len(weights_list)}); got {len(labels)}")
    fig, axes = new_figure(1, len(weights_list), figsize=(3.4 * len(weights_list), 2.9))
    for k, (ax, w) in enumerate(zip(axes[0], weights_list)):
        w0 = None if before is None else np.asarray(before[k], dtype=float)
        values = w.ravel() if w0 is None else np.concatenate([w.ravel(), w0.ravel()])
        edges = np.histogram_bin_edges(values, bins=bins)
        ax.hist(w.ravel(), bins=edges, color="tab:blue", alpha=0.75, label="after training")
        if w0 is not None:
            ax.hist(w0.ravel(), bins=edges, histtype="step", color="black", lw=1.2, label="before training")
            ax.legend(loc="upper left", fontsize="x-small")
        shape = " → ".join(str(s) for s in w.shape) if w.ndim == 2 else str(w.shape)
        ax.set_title(labels[k] if labels is not None else f"layer {k + 1}: {shape}", fontsize="medium")
        ax.set_xlabel("weight")
        ax.set_ylabel("synapses")
    return fig


def plot_receptive_fields(weights, image_shape=(28, 28), labels=None, ncols=None, cmap="RdBu_r"):
    """Grid of receptive fields: column ``k`` of ``weights`` (n_inputs, n_neurons) drawn as an image.

    One shared symmetric colour scale (the 99th percentile of |w|, so a few large weights don't wash the
    rest out): red pixels excite the neuron, blue ones inhibit it.
    """
    weights = np.asarray(weights, dtype=float)
    if weights.ndim != 2 or weights.shape[0] != math.prod(image_shape):
        raise ValueError(f"weights must have shape (n_inputs, n_neurons) with n_inputs = "
                         f"{math.prod(image_shape)} for image_shape {tuple(image_shape)}; got {weights.shape}")
    n = weights.shape[1]
    if labels is not None and len(labels) != n:
        raise ValueError(f"labels must have one entry per neuron ({n}); got {len(labels)}")
    ncols = ncols or math.ceil(math.sqrt(n))
    nrows = math.ceil(n / ncols)
    fig, axes = new_figure(nrows, ncols, figsize=(0.9 * ncols + 1.2, 0.9 * nrows + 0.3 * (labels is not None)))
    vmax = float(np.percentile(np.abs(weights), 99)) or 1.0
    image = None
    for k, ax in enumerate(axes.ravel()):
        if k >= n:
            ax.remove()
            continue
        image = ax.imshow(weights[:, k].reshape(image_shape), cmap=cmap, vmin=-vmax, vmax=vmax,
                          interpolation="nearest")
        ax.set_xticks([])
        ax.set_yticks([])
        if labels is not None:
            ax.set_title(str(labels[k]), fontsize="small", pad=2)
    if image is not None:
        fig.colorbar(image, ax=axes.ravel()[:n].tolist(), shrink=0.8, label="input weight")
    return fig


def _metrics_as_columns(metrics) -> dict:
    """Accept a dict of lists (e.g. read from metrics.csv) or a list of dicts (``model.history_``)."""
    if isinstance(metrics, dict):
        return {key: list(values) for key, values in metrics.items()}
    rows = list(metrics)
    keys = dict.fromkeys(key for row in rows for key in row)
    return {key: [row.get(key) for row in rows] for key in keys}


def _plot_series(ax, epochs, values, scale=1.0, **style):
    """Plot the points of one series that exist (None marks a missing value, e.g. no validation set)."""
    pairs = [(e, v * scale) for e, v in zip(epochs, values) if v is not None and np.isfinite(v)]
    if pairs:
        ax.plot(*zip(*pairs), marker="o", **style)


def plot_training_curves(metrics, loss=None):
    """Loss, accuracy and mean firing rate per epoch, from ``model.history_`` or a run's metrics.csv columns.

    Keys used (each optional): epoch, train_loss, val_loss, train_accuracy, val_accuracy (fractions in [0, 1]
    or percent), spike_rates (per epoch, one value per layer: mean spikes per neuron per time step).
    ``loss``: the model's loss; for a membrane loss the output layer is a non-spiking read-out, so its rate (0,
    the last of spike_rates) is not drawn and the panel says why.
    """
    columns = _metrics_as_columns(metrics)
    n_epochs = max((len(v) for v in columns.values()), default=0)
    epochs = columns.get("epoch") or list(range(1, n_epochs + 1))
    panels = [key for key in ("loss", "accuracy", "spike_rates")
              if any(k in columns for k in (f"train_{key}", f"val_{key}", key))]
    if not panels:
        raise ValueError(f"metrics hold none of train_loss, train_accuracy, val_accuracy, spike_rates; "
                         f"got keys {sorted(columns)}")
    spiking_output = loss is None or readout(loss).spiking
    fig, axes = new_figure(1, len(panels), figsize=(3.6 * len(panels), 3.0))
    for ax, panel in zip(axes[0], panels):
        if panel == "spike_rates":
            rates = np.array([r for r in columns["spike_rates"]], dtype=float).reshape(len(epochs), -1)
            for layer in range(rates.shape[1] - (not spiking_output)):
                name = "output" if layer == rates.shape[1] - 1 else f"hidden {layer + 1}"
                _plot_series(ax, epochs, rates[:, layer], label=name)
            if not spiking_output:
                ax.text(0.5, 0.04, f"output: a non-spiking read-out\n(loss {loss}), no spikes to count",
                        transform=ax.transAxes, ha="center", va="bottom", fontsize="small", color="0.3")
                ax.set_ylim(bottom=0.0)
            ax.set_ylabel("spikes per neuron per step")
            ax.set_title("mean firing rate", fontsize="medium")
        else:
            values = [v for key in ("train", "val") for v in columns.get(f"{key}_{panel}", []) if v is not None]
            percent = panel == "accuracy" and values and max(values) <= 1.0
            for split in ("train", "val"):
                label = "train" if split == "train" else "validation"
                _plot_series(ax, epochs, columns.get(f"{split}_{panel}", []), 100.0 if percent else 1.0,
                             label=label)
            ax.set_ylabel("accuracy (%)" if panel == "accuracy" else "loss")
            ax.set_title(panel, fontsize="medium")
        ax.set_xlabel("epoch")
        ax.xaxis.get_major_locator().set_params(integer=True)
        if ax.lines:
            ax.legend(fontsize="small")
    return fig


def plot_confusion_matrix(cm, class_names=None, ax=None):
    """Confusion matrix: row = true class, column = predicted class, each cell annotated with its count."""
    cm = np.asarray(cm)
    if cm.ndim != 2 or cm.shape[0] != cm.shape[1]:
        raise ValueError(f"cm must be a square (n_classes, n_classes) array; got {cm.shape}")
    n = cm.shape[0]
    names = [str(c) for c in range(n)] if class_names is None else [str(c) for c in class_names]
    fig, ax = figure_and_axes(ax, figsize=(0.5 * n + 2.2, 0.5 * n + 1.4))
    image = ax.imshow(cm, cmap="Blues")
    fig.colorbar(image, ax=ax, label="images")
    for i in range(n):
        for j in range(n):
            dark = cm[i, j] > 0.6 * cm.max()
            ax.text(j, i, f"{cm[i, j]:g}", ha="center", va="center", fontsize="x-small",
                    color="white" if dark else "black")
    ax.set_xticks(range(n), names)
    ax.set_yticks(range(n), names)
    ax.set_xlabel("predicted class")
    ax.set_ylabel("true class")
    total = cm.sum()
    ax.set_title(f"accuracy {100.0 * np.trace(cm) / total:.2f}% of {total:g} images" if total else "no images")
    return fig
