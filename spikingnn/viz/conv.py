"""Convolutional spiking networks: the kernels they learned, the feature maps one picture makes, and one layer's
spikes grouped by channel.

Maps are channels-last, as the network computes them (``spikingnn.training.conv``): a layer of maps (H, W, C) is
recorded flattened, its neuron ``(y * W + x) * C + c`` being position (y, x) of channel c. ``conv_layers`` and
``record_feature_maps`` read a fitted ``SNNClassifier`` built from an ``arch`` string such as
'12C5-MP2-64C5-MP2-FC10'; the ``plot_*`` functions take arrays and return matplotlib figures; ``tile_grid`` and
``kernel_mosaic`` lay tiles out for them (and for the HTML report's plotly figures).
"""
from __future__ import annotations

import math
from typing import NamedTuple

import numpy as np

from spikingnn.viz._axes import category_colors, figure_and_axes, new_figure
from spikingnn.viz.activity import plot_raster


class ConvLayer(NamedTuple):
    """A convolutional layer of a model: its index among the layers (``model.weights_[index]``,
    ``recording.spikes[index]``), its ``arch.Stage``, and the (H, W, C) of the maps it reads and makes."""

    index: int
    stage: object
    input_shape: tuple
    output_shape: tuple

    @property
    def name(self) -> str:
        """e.g. 'layer 1: 12C5-MP2 → 12 maps of 12 × 12'."""
        height, width, channels = self.output_shape
        return f"layer {self.index + 1}: {self.stage.code} → {channels} maps of {height} × {width}"


# ------------------------------------------------------------------------------------------ a model's layers
def conv_layers(model) -> list:
    """The convolutional layers of a fitted classifier, in order (``ConvLayer`` records); a ValueError for a model
    without any (a dense one, or an object that is not an ``SNNClassifier``)."""
    if not getattr(model, "has_convolutions", False):
        layers = "-".join(map(str, getattr(model, "layer_sizes_", []))) or type(model).__name__
        raise ValueError(f"the model ({layers}) has no convolutional layers; these pictures need one trained with "
                         f"an arch such as '12C5-MP2-64C5-MP2-FC10' (spikingnn train --arch ...)")
    spec = model._built().spec
    return [ConvLayer(layer, stage, spec.map_shapes[layer], spec.map_shapes[layer + 1])
            for layer, stage in enumerate(spec.stages) if spec.conv_stage(layer) is not None]


def input_picture(model, image) -> np.ndarray:
    """``image`` (any shape holding the model's n_features_in_ values) as the (H, W, C) picture the model reads."""
    shape = model._built().spec.map_shapes[0]
    image = np.asarray(image)
    if image.size != math.prod(shape):
        raise ValueError(f"image must hold {math.prod(shape)} values, a picture of {shape}; got shape {image.shape}")
    return image.reshape(shape)


def record_feature_maps(model, image) -> list:
    """Run ``model`` on one picture; the spikes of each convolutional layer as maps (T, H, W, C) of bools,
    one array per layer of ``conv_layers(model)``."""
    recording = model.record(np.asarray(image)[None])
    steps = recording.spikes[0].shape[0]
    return [recording.spikes[layer.index][:, 0].reshape(steps, *layer.output_shape) for layer in conv_layers(model)]


# ------------------------------------------------------------------------------------------------- tiles
def tile_grid(tiles, ncols=None, gap=1, fill=np.nan):
    """Lay out ``tiles`` (n, h, w) or (n, h, w, 3) in a grid of ``ncols`` columns (default: near-square), row by row,
    ``gap`` pixels of ``fill`` between them.

    Returns (mosaic (rows (h + gap) - gap, ncols (w + gap) - gap[, 3]), owner: the tile index of each pixel, -1 in
    the gaps)."""
    tiles = np.asarray(tiles, dtype=float)
    if tiles.ndim not in (3, 4) or tiles.shape[0] < 1:
        raise ValueError(f"tiles must have shape (n, h, w) or (n, h, w, 3) with n >= 1; got {tiles.shape}")
    n, h, w = tiles.shape[:3]
    ncols = ncols or math.ceil(math.sqrt(n))
    nrows = math.ceil(n / ncols)
    mosaic = np.full((nrows * (h + gap) - gap, ncols * (w + gap) - gap, *tiles.shape[3:]), fill)
    owner = np.full(mosaic.shape[:2], -1)
    for k in range(n):
        row, col = divmod(k, ncols)
        place = np.s_[row * (h + gap):row * (h + gap) + h, col * (w + gap):col * (w + gap) + w]
        mosaic[place], owner[place] = tiles[k], k
    return mosaic, owner


def _check_kernels(weights) -> np.ndarray:
    weights = np.asarray(weights, dtype=float)
    if weights.ndim != 4 or weights.shape[0] != weights.shape[1]:
        raise ValueError(f"weights must be a convolution's kernels (k, k, c_in, c_out); got shape {weights.shape}")
    return weights


def kernel_mosaic(weights, max_filters=None, gap=1):
    """The kernels ``weights`` (k, k, c_in, c_out) as tiles of k x k: (mosaic, owner, ncols) as ``tile_grid``.

    One input channel: one tile per filter, in a near-square grid. More: one row per filter, one column per input
    channel (tile ``t`` is filter ``t // c_in``, input channel ``t % c_in``). ``max_filters``: the first ones only.
    """
    weights = _check_kernels(weights)[..., :max_filters]
    c_in, c_out = weights.shape[2:]
    tiles = weights.transpose(3, 2, 0, 1).reshape(c_out * c_in, *weights.shape[:2])   # filter-major, then channel
    ncols = c_in if c_in > 1 else math.ceil(math.sqrt(c_out))
    return (*tile_grid(tiles, ncols, gap), ncols)


def _label_tiles(ax, labels, ncols, tile, color="black"):
    """Write ``labels[k]`` at the top-left corner of tile k (tiles of ``tile`` pixels and a 1-pixel gap)."""
    fontsize = max(5, min(8, 110 // max(ncols, 1)))
    for k, label in enumerate(labels):
        row, col = divmod(k, ncols)
        ax.text(col * (tile + 1) - 0.4, row * (tile + 1) - 0.4, label, ha="left", va="top", fontsize=fontsize,
                color=color, bbox=dict(boxstyle="square,pad=0.05", fc="white", ec="none", alpha=0.6))


def _tile_figure(nrows, ncols, tile, extra_width=1.6, extra_height=0.9):
    """A figure sized for a grid of nrows x ncols tiles of ``tile`` pixels (0.18 to 0.8 inch a tile)."""
    inch = float(np.clip(8.0 / max(nrows, ncols), 0.18, 0.8)) * max(1.0, tile / 8) ** 0.3
    return figure_and_axes(None, figsize=(ncols * inch + extra_width, nrows * inch + extra_height))


# ------------------------------------------------------------------------------------------------- plots
def plot_conv_kernels(weights, *, rgb=None, max_filters=64, title=None):
    """The learned kernels of a convolution, ``weights`` (k, k, c_in, c_out) (``model.weights_[layer]``), as a grid
    of k x k tiles on one symmetric diverging scale centred at 0 (red: the input there excites the filter, blue:
    it inhibits it).

    One input channel: one tile per filter, its number in the corner. RGB input (c_in == 3, ``rgb`` None or True):
    one colour tile per filter, each channel's weight mapped to 0.5 + 0.5 w / max|w| (grey: all zero). Otherwise one
    row per filter and one column per input channel. At most ``max_filters`` filters (the first ones) are drawn.
    """
    weights = _check_kernels(weights)
    k, _, c_in, c_out = weights.shape
    shown = weights[..., :max_filters]
    n_filters = shown.shape[3]
    scale = float(np.max(np.abs(shown))) or 1.0
    rgb = c_in == 3 if rgb is None else bool(rgb)
    if rgb and c_in != 3:
        raise ValueError(f"rgb tiles need 3 input channels; these kernels have {c_in}")
    if rgb:
        colours = np.clip(0.5 + 0.5 * shown / scale, 0.0, 1.0).transpose(3, 0, 1, 2)     # (filters, k, k, 3)
        mosaic, _ = tile_grid(colours, fill=1.0)
        ncols = math.ceil(math.sqrt(n_filters))
    else:
        mosaic, _, ncols = kernel_mosaic(shown)
    nrows = -(-mosaic.shape[0] // (k + 1))
    fig, ax = _tile_figure(nrows, ncols, k)
    image = ax.imshow(mosaic, cmap=None if rgb else "RdBu_r", vmin=-scale, vmax=scale, interpolation="nearest")
    if c_in == 1 or rgb:
        _label_tiles(ax, [str(f) for f in range(n_filters)], ncols, k)
        ax.set_axis_off()
    else:
        centres = np.arange(n_filters) * (k + 1) + (k - 1) / 2
        step = max(1, n_filters // 32)
        ax.set_yticks(centres[::step], [str(f) for f in range(0, n_filters, step)], fontsize="small")
        ax.set_xticks(np.arange(c_in) * (k + 1) + (k - 1) / 2, [str(c) for c in range(c_in)], fontsize="small")
        ax.set_xlabel("input channel")
        ax.set_ylabel("filter (output channel)")
        ax.tick_params(length=0)
        for side in ax.spines.values():
            side.set_visible(False)
    if not rgb:
        fig.colorbar(image, ax=ax, shrink=min(1.0, 0.4 + 0.1 * nrows), label="weight")
    shown_note = f"the first {n_filters} of {c_out} filters" if n_filters < c_out else f"{c_out} filters"
    default = (f"{shown_note} of {k} × {k}" + (f" × {c_in} input channels" if c_in > 1 else "")
               + (" (RGB: each channel's weight, grey = 0)" if rgb else ""))
    ax.set_title(title or default, fontsize="medium")
    return fig


def plot_feature_maps(picture, counts, *, names=None, num_steps=None, title=None):
    """One picture beside the feature maps it made: for each layer, each channel's spike count over the T steps at
    every position, the channels as a grid of tiles (channel number in the corner).

    ``picture``: (H, W), (H, W, 1) or (H, W, 3) (drawn as given: grey or colour); ``counts``: one (H_l, W_l, C_l)
    array per layer (e.g. ``record_feature_maps(...)[l].sum(axis=0)``), each layer on its own colour scale from 0
    to its largest count; ``names``: one title per layer; ``num_steps``: T, named in the colour bars.
    """
    picture = np.asarray(picture)
    if picture.ndim == 3 and picture.shape[2] == 1:
        picture = picture[..., 0]
    if picture.ndim not in (2, 3) or (picture.ndim == 3 and picture.shape[2] != 3):
        raise ValueError(f"picture must have shape (H, W), (H, W, 1) or (H, W, 3); got {picture.shape}")
    counts = [np.asarray(c) for c in counts]
    if not counts or any(c.ndim != 3 for c in counts):
        raise ValueError(f"counts must be one (H, W, C) array per layer; got shapes {[c.shape for c in counts]}")
    if names is not None and len(names) != len(counts):
        raise ValueError(f"names must have one entry per layer ({len(counts)}); got {len(names)}")
    from matplotlib.ticker import MaxNLocator

    mosaics = [tile_grid(c.transpose(2, 0, 1))[0] for c in counts]
    ratios = [1.0] + [m.shape[1] / m.shape[0] * 1.25 for m in mosaics]     # each panel about as tall as the picture
    fig, axes = new_figure(1, len(counts) + 1, figsize=(2.6 * sum(ratios) + 0.6, 3.6),
                           width_ratios=ratios)
    axes = axes[0]
    grey = picture.ndim == 2
    shown = axes[0].imshow(picture, cmap="gray" if grey else None, interpolation="nearest")
    axes[0].set_title(f"input picture\n{picture.shape[0]} × {picture.shape[1]}"
                      + ("" if grey else " RGB"), fontsize="medium")
    axes[0].set_axis_off()
    if grey:
        fig.colorbar(shown, ax=axes[0], location="bottom", shrink=0.8, label="pixel value")
    for k, (ax, mosaic, count) in enumerate(zip(axes[1:], mosaics, counts)):
        ncols = math.ceil(math.sqrt(count.shape[2]))
        image = ax.imshow(mosaic, cmap="magma", vmin=0, vmax=max(1, int(count.max())), interpolation="nearest")
        _label_tiles(ax, [str(c) for c in range(count.shape[2])], ncols, count.shape[0])
        ax.set_axis_off()
        name = names[k] if names is not None else f"layer {k + 1}: {count.shape[2]} maps"
        ax.set_title(f"{name}\n{int(count.sum())} spikes", fontsize="medium")
        steps = f" in {num_steps} steps" if num_steps else ""
        bar = fig.colorbar(image, ax=ax, location="bottom", shrink=0.8, label=f"spikes per neuron{steps}")
        bar.locator = MaxNLocator(integer=True)          # counts: whole numbers, also when the largest is 1
        bar.update_ticks()
    if title:
        fig.suptitle(title)
    return fig


def plot_feature_raster(spikes, dt=1.0, ax=None, title=None):
    """Raster of one layer's spike maps ``spikes`` (T, H, W, C) for one picture, grouped by channel: row
    ``c * H * W + y * W + x`` is position (y, x) of channel c (channel-major, unlike the channels-last order the
    network stores), each channel in its own colour, the channel boundaries drawn as lines."""
    spikes = np.asarray(spikes).astype(bool)
    if spikes.ndim != 4:
        raise ValueError(f"spikes must be maps (T, H, W, C); got shape {spikes.shape}")
    steps, height, width, channels = spikes.shape
    per_channel = height * width
    rows = spikes.reshape(steps, per_channel, channels).transpose(0, 2, 1).reshape(steps, channels * per_channel)
    fig, ax = figure_and_axes(ax, figsize=(7.0, 5.0))
    colors = np.repeat(np.array(category_colors(channels)), per_channel, axis=0)
    plot_raster(rows, dt=dt, ax=ax, colors=colors, title=title)
    for boundary in range(1, channels):
        ax.axhline(boundary * per_channel - 0.5, color="0.6", lw=0.6, zorder=0)
    step = max(1, math.ceil(channels / 24))
    ax.set_yticks([(c + 0.5) * per_channel - 0.5 for c in range(0, channels, step)],
                  [str(c) for c in range(0, channels, step)], fontsize="small")
    ax.set_ylabel(f"channel ({height} × {width} = {per_channel} neurons each)")
    ax.invert_yaxis()                                   # channel 0 on top, as the tiles of the feature maps
    return fig
