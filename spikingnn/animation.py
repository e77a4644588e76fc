"""Watching a network think: a 784-H-10 spiking classifier processing one image, one time step per frame.

Each frame shows the three layers side by side:

* the inputs as the image's grid (28 x 28 for MNIST): the picture in grey on white, the pixels that spike
  this step in red;
* the hidden neurons on a circle, grouped by the output class each one excites most;
* the output neurons in a column labelled with their class, each with a bar of its class score so far: its
  spike count for a spiking read-out, its membrane averaged (or maximised) over the steps so far for the
  non-spiking read-out of a membrane loss (``spikingnn.viz.classifier.readout``).

A neuron's colour is its membrane potential v, on a scale from a low value (the 5th percentile of the
recording, but no lower than -2 thresholds) to the threshold; a neuron that spikes this step flashes red. A
non-spiking read-out has no threshold: its neurons get a colour scale of their own, from their lowest to their
highest v. Lines are drawn only for synapses that carried a spike this step, at most ``max_edges`` per
projection (the largest |w|), orange for excitatory (w > 0) and blue for inhibitory (w < 0), more opaque when
stronger. The title gives the step and the running prediction, the class with the highest score so far.

``NetworkAnimation`` holds the figure and redraws it for any step (``draw_step``); ``frames`` renders every
step to PIL images and ``save_gif`` writes them with pillow (no ffmpeg needed). For a window, give the
animation a pyplot figure and call ``play``.
"""
from __future__ import annotations

import math

import numpy as np
from PIL import Image

from spikingnn._io import atomic_write
from spikingnn._validation import check_non_negative, check_positive
from spikingnn.viz.classifier import readout, running_scores

SPIKE_COLOR = "red"
EXCITATORY_COLOR = np.array([0.95, 0.5, 0.1])
INHIBITORY_COLOR = np.array([0.15, 0.35, 0.85])


def _rgba(color) -> np.ndarray:
    """A matplotlib colour (name or tuple) as an RGBA array."""
    import matplotlib.colors

    return np.array(matplotlib.colors.to_rgba(color))


def _strongest_edges(weights, active, max_edges):
    """(pre, post) indices of the ``max_edges`` largest-|w| synapses leaving the ``active`` presynaptic neurons."""
    pre = np.flatnonzero(active)
    if pre.size == 0 or max_edges == 0:
        return np.zeros(0, dtype=int), np.zeros(0, dtype=int)
    strength = np.abs(weights[pre]).ravel()
    keep = np.arange(strength.size)
    if strength.size > max_edges:
        keep = np.argpartition(strength, strength.size - max_edges)[-max_edges:]
    rows, post = np.divmod(keep, weights.shape[1])
    return pre[rows], post


def _edge_colors(w, w_max):
    """RGBA per synapse: orange if excitatory, blue if inhibitory, opacity growing with |w|."""
    rgba = np.empty((w.size, 4))
    rgba[:, :3] = np.where((w > 0)[:, None], EXCITATORY_COLOR, INHIBITORY_COLOR)
    rgba[:, 3] = 0.1 + 0.6 * np.clip(np.abs(w) / w_max, 0.0, 1.0)
    return rgba


class NetworkAnimation:
    """A figure of one input -> hidden -> output network, redrawn for each time step with ``draw_step(t)``.

    input_spikes (T, n_in) bool; spikes and v: [hidden (T, H), output (T, C)]; weights: [W1 (n_in, H),
    W2 (H, C)]; ``loss``: the model's loss, which says what the output layer is (``readout``). image: the
    picture (n_in values, shown in grey under the input spikes), default the input spike counts. ``fig``: a
    matplotlib figure to draw into (a pyplot one for a live window); default an off-screen Agg figure of
    ``figsize`` inches at ``dpi``.
    """

    def __init__(self, input_spikes, spikes, v, weights, *, loss, image=None, image_shape=(28, 28), v_threshold=1.0,
                 dt=None, max_edges=80, class_names=None, true_label=None, fig=None, figsize=(8.0, 4.6), dpi=90):
        self.input_spikes = np.asarray(input_spikes, dtype=bool)
        if len(spikes) != 2 or len(v) != 2 or len(weights) != 2:
            raise ValueError(f"the animation shows one hidden layer: spikes, v and weights must hold 2 layers "
                             f"(hidden, output); got {len(spikes)}, {len(v)} and {len(weights)}")
        self.hidden_spikes, self.output_spikes = (np.asarray(s, dtype=bool) for s in spikes)
        self.hidden_v, self.output_v = (np.asarray(x, dtype=float) for x in v)
        self.w_in, self.w_out = (np.asarray(w, dtype=float) for w in weights)
        steps, n_in = self.input_spikes.shape
        n_hidden, n_classes = self.w_out.shape
        expected = {"input_spikes": (steps, n_in), "hidden spikes": (steps, n_hidden), "hidden v": (steps, n_hidden),
                    "output spikes": (steps, n_classes), "output v": (steps, n_classes),
                    "hidden weights": (n_in, n_hidden)}
        arrays = (self.input_spikes, self.hidden_spikes, self.hidden_v, self.output_spikes, self.output_v, self.w_in)
        for (name, shape), array in zip(expected.items(), arrays):
            if array.shape != shape:
                raise ValueError(f"{name} must have shape {shape}; got {array.shape}")
        if math.prod(image_shape) != n_in:
            raise ValueError(f"image_shape {tuple(image_shape)} must hold the {n_in} inputs")
        check_non_negative("max_edges", max_edges)
        if dt is not None:
            check_positive("dt", dt, "ms")
        self.steps, self.dt, self.max_edges, self.image_shape = steps, dt, int(max_edges), tuple(image_shape)
        self.class_names = [str(c) for c in (range(n_classes) if class_names is None else class_names)]
        self.true_label = true_label
        self.readout = readout(loss)
        if not self.readout.spiking:        # a read-out neuron never fires, whatever its recorded spikes say
            self.output_spikes = np.zeros_like(self.output_spikes)
        self.scores = running_scores(loss, self.output_spikes, self.output_v)
        background = self.input_spikes.sum(axis=0) if image is None else np.asarray(image, dtype=float).ravel()
        self.background = background / (background.max() or 1.0)
        self._build_figure(fig, figsize, dpi, v_threshold)

    # -- layout ------------------------------------------------------------------------------------------------
    def _build_figure(self, fig, figsize, dpi, v_threshold):
        import matplotlib
        from matplotlib import cm, colors, patches
        from matplotlib.collections import LineCollection
        from matplotlib.figure import Figure

        if fig is None:
            from matplotlib.backends.backend_agg import FigureCanvasAgg

            fig = Figure(figsize=figsize, dpi=dpi, facecolor="white")
            FigureCanvasAgg(fig)
        self.fig = fig
        ax = self.ax = fig.add_axes((0.0, 0.13, 1.0, 0.8))
        ax.set_xlim(0.0, 10.0)
        ax.set_ylim(0.0, 5.6)
        ax.set_aspect("equal")
        ax.axis("off")
        rows, cols = self.image_shape
        pixel = 3.0 / max(rows, cols)                             # the grid fills a 3 x 3 box at x 0.2..3.2
        self.grid = ax.imshow(np.zeros((rows, cols, 3)), extent=(0.2, 0.2 + cols * pixel, 1.2, 1.2 + rows * pixel),
                              interpolation="nearest", zorder=2)
        ax.add_patch(patches.Rectangle((0.2, 1.2), cols * pixel, rows * pixel, fill=False,
                                       edgecolor="0.4", linewidth=0.8, zorder=3))
        r, c = np.divmod(np.arange(rows * cols), cols)
        self.input_xy = np.column_stack([0.2 + (c + 0.5) * pixel, 1.2 + rows * pixel - (r + 0.5) * pixel])
        n_hidden, n_classes = self.w_out.shape
        order = np.lexsort((-self.w_out.max(axis=1), self.w_out.argmax(axis=1)))   # group by preferred class
        angle = np.empty(n_hidden)
        angle[order] = math.pi / 2 - 2 * math.pi * np.arange(n_hidden) / n_hidden
        self.hidden_xy = np.column_stack([5.3 + 1.75 * np.cos(angle), 2.7 + 1.75 * np.sin(angle)])
        self.output_xy = np.column_stack([np.full(n_classes, 8.4), np.linspace(4.9, 0.5, n_classes)])
        self.edges_in = LineCollection([], linewidths=0.6, zorder=1)
        self.edges_out = LineCollection([], linewidths=0.9, zorder=1)
        ax.add_collection(self.edges_in)
        ax.add_collection(self.edges_out)
        spiking_v = [self.hidden_v.ravel()] + ([self.output_v.ravel()] if self.readout.spiking else [])
        v_min = float(np.clip(np.percentile(np.concatenate(spiking_v), 5), -2.0 * abs(v_threshold), 0.0))
        self.norm = colors.Normalize(vmin=v_min, vmax=v_threshold, clip=True)        # deep lows: one colour
        self.output_norm = (self.norm if self.readout.spiking
                            else colors.Normalize(self.output_v.min(), self.output_v.max()))
        self.cmap = matplotlib.colormaps["viridis"]
        node_size = float(np.clip(6000.0 / n_hidden, 8.0, 80.0))
        self.hidden_nodes = ax.scatter(*self.hidden_xy.T, s=node_size, edgecolors="none", zorder=3)
        self.output_nodes = ax.scatter(*self.output_xy.T, s=170, edgecolors="black", linewidths=0.5, zorder=3)
        bar_height = 0.7 * (self.output_xy[0, 1] - self.output_xy[1, 1])
        # bars of length 1.1 for the whole range of the scores, from a zero at 8.75 for non-negative ones
        low, high = min(self.scores.min(), 0.0), max(self.scores.max(), 0.0)
        self.bar_scale = 1.1 / ((high - low) or 1.0)
        self.bar_zero = 8.75 - low * self.bar_scale
        self.bars = ax.barh(self.output_xy[:, 1], np.zeros(n_classes), height=bar_height, left=self.bar_zero,
                            color="0.6", linewidth=0, zorder=2)
        self.score_texts = [ax.text(8.8, y, "", va="center", fontsize=7, zorder=4) for y in self.output_xy[:, 1]]
        for name, (x, y) in zip(self.class_names, self.output_xy):
            ax.text(x - 0.3, y, name, ha="right", va="center", fontsize=10, fontweight="bold")
        output_heading = ("output (spike count)" if self.readout.spiking
                          else self.readout.score_name.replace(" (", "\n("))
        headings = ((1.7, f"input spikes ({rows}×{cols})"), (5.3, f"hidden layer ({n_hidden} LIF)"),
                    (8.9, output_heading))
        for x, heading in headings:
            ax.text(x, 5.35, heading, ha="center", va="center", fontsize=10)
        self.title = fig.text(0.5, 0.96, "", ha="center", va="center", fontsize=12)
        if self.readout.spiking:
            bars = [((0.3, 0.11, 0.4, 0.025), self.norm, "both", "membrane potential v (red: spike this step)")]
        else:
            bars = [((0.06, 0.11, 0.4, 0.025), self.norm, "both", "hidden membrane v (red: spike this step)"),
                    ((0.56, 0.11, 0.4, 0.025), self.output_norm, "neither",
                     "read-out membrane v (non-spiking, no threshold)")]
        for box, norm, extend, label in bars:
            fig.colorbar(cm.ScalarMappable(norm, self.cmap), cax=fig.add_axes(box), orientation="horizontal",
                         extend=extend, label=label)

    # -- one step ----------------------------------------------------------------------------------------------
    def _node_colors(self, v, spiked, norm):
        colors = self.cmap(norm(v))
        colors[spiked] = _rgba(SPIKE_COLOR)
        return colors

    def _edges(self, collection, weights, active, pre_xy, post_xy):
        pre, post = _strongest_edges(weights, active, self.max_edges)
        collection.set_segments(np.stack([pre_xy[pre], post_xy[post]], axis=1) if pre.size else [])
        collection.set_color(_edge_colors(weights[pre, post], np.abs(weights).max() or 1.0))

    def draw_step(self, t: int):
        """Redraw the figure for time step ``t`` (0-based); returns the changed artists (for FuncAnimation)."""
        if not 0 <= t < self.steps:
            raise ValueError(f"t must be in [0, {self.steps - 1}]; got {t}")
        rgb = np.repeat(1.0 - 0.55 * self.background[:, None], 3, axis=1)      # ink grey on white
        rgb[self.input_spikes[t]] = _rgba(SPIKE_COLOR)[:3]
        self.grid.set_data(rgb.reshape(*self.image_shape, 3))
        self._edges(self.edges_in, self.w_in, self.input_spikes[t], self.input_xy, self.hidden_xy)
        self._edges(self.edges_out, self.w_out, self.hidden_spikes[t], self.hidden_xy, self.output_xy)
        self.hidden_nodes.set_facecolors(self._node_colors(self.hidden_v[t], self.hidden_spikes[t], self.norm))
        self.output_nodes.set_facecolors(self._node_colors(self.output_v[t], self.output_spikes[t], self.output_norm))
        scores = self.scores[t]
        leader = int(np.argmax(scores))
        decided = not self.readout.spiking or scores.any()        # a spiking read-out decides from its first spike
        for k, (bar, text) in enumerate(zip(self.bars, self.score_texts)):
            bar.set_width(scores[k] * self.bar_scale)
            bar.set_color("tab:green" if k == leader and decided else "0.6")
            shown = scores[k] != 0 or not self.readout.spiking
            text.set_text((f"{scores[k]:.0f}" if self.readout.spiking else f"{scores[k]:.2f}") if shown else "")
            text.set_x(self.bar_zero + max(scores[k], 0.0) * self.bar_scale + 0.05)
        clock = f"step {t + 1}/{self.steps}" + (f" ({(t + 1) * self.dt:g} ms)" if self.dt else "")
        guess = f"prediction so far: {self.class_names[leader]}" if decided else "no output spike yet"
        truth = "" if self.true_label is None else f"   (true: {self.class_names[int(self.true_label)]})"
        self.title.set_text(f"{clock}   {guess}{truth}")
        return [self.grid, self.edges_in, self.edges_out, self.hidden_nodes, self.output_nodes, self.title,
                *self.bars, *self.score_texts]

    def frame(self, t: int) -> Image.Image:
        """Step ``t`` rendered to an RGB PIL image (size: figsize x dpi pixels)."""
        self.draw_step(t)
        self.fig.canvas.draw()
        return Image.fromarray(np.asarray(self.fig.canvas.buffer_rgba())).convert("RGB")

    def frames(self) -> list[Image.Image]:
        """Every step rendered, in order: ``steps`` images."""
        return [self.frame(t) for t in range(self.steps)]

    def play(self, frame_ms: float = 300.0) -> None:
        """Loop the steps in a window (the figure must be a pyplot one, e.g. ``fig=plt.figure()``)."""
        import matplotlib.pyplot as plt
        from matplotlib.animation import FuncAnimation

        self.player = FuncAnimation(self.fig, self.draw_step, frames=self.steps, interval=frame_ms)  # keep alive
        plt.show()


def save_gif(frames, path, frame_ms: float = 250.0, hold_last_ms: float = 2000.0, colors: int = 64):
    """Write ``frames`` (PIL images) as a looping animated GIF with pillow; the last frame is held longer.

    All frames share one palette of ``colors`` colours (taken from the first, middle and last frame), which keeps
    the file small and the colours steady from frame to frame; 64 keep the 25 frames of a 720 x 414 animation
    under 1 MB.
    """
    check_positive("frame_ms", frame_ms, "ms")
    frames = list(frames)
    if not frames:
        raise ValueError("frames must hold at least one image; got none")
    width, height = frames[0].size
    samples = [frames[0], frames[len(frames) // 2], frames[-1]]
    strip = Image.new("RGB", (width, height * len(samples)))
    for k, sample in enumerate(samples):
        strip.paste(sample, (0, k * height))
    palette = strip.quantize(colors=colors, method=Image.Quantize.MEDIANCUT)
    indexed = [frame.convert("RGB").quantize(palette=palette, dither=Image.Dither.NONE) for frame in frames]
    durations = [int(frame_ms)] * (len(frames) - 1) + [int(max(frame_ms, hold_last_ms))]
    with atomic_write(path, "wb") as handle:
        indexed[0].save(handle, format="GIF", save_all=True, append_images=indexed[1:], duration=durations,
                        loop=0, optimize=False)
    return path
