"""A picture as spikes: the original beside its rate and latency spike rasters and what decoders recover.

    python visualizations/encoding_viz.py [--image any.png] [--size 32] [--steps 50] [--out figures] [--show]

Rate code: each pixel fires at every step with probability x (intensity in [0, 1]); decoded from counts.
Latency code: each pixel fires once, brighter earlier; decoded from the first-spike time. The default picture
is the project's own data/brain_icon.png (drawn by data/make_brain_icon.py).
"""
from pathlib import Path

import numpy as np
from PIL import Image

from spikingnn.encoding import LATENCY_METHODS, decode_latency, decode_rate, image_to_spikes, load_grayscale
from spikingnn.plotting import plot_raster, run_script, save_figure, script_parser, use_backend

DARK = 0.01   # the latency code's default threshold: pixels at or below it stay silent
DEFAULT_IMAGE = Path(__file__).resolve().parent.parent / "data" / "brain_icon.png"


def encoding_figure(image_path, size, num_steps, max_rate, latency_method, seed):
    import matplotlib.pyplot as plt

    dt = 1.0
    gray = load_grayscale(image_path, (size, size))
    rate = image_to_spikes(gray, size=None, method="rate", num_steps=num_steps, rng=seed, max_rate=max_rate, dt=dt)
    latency = image_to_spikes(gray, size=None, method="latency", num_steps=num_steps, latency_method=latency_method)
    decoded = {"rate": decode_rate(rate, max_rate, dt), "latency": decode_latency(latency, latency_method)}

    fig = plt.figure(figsize=(12, 7.6), layout="constrained")
    top, bottom = fig.subfigures(2, 1, height_ratios=[1, 1.2])
    axes = top.subplots(1, 4)
    with Image.open(image_path) as original:
        axes[0].imshow(original.convert("RGB"))
        axes[0].set_title(f"original\n{original.width} x {original.height} px")
    panels = [(gray, f"input: grayscale {size} x {size}\n{gray.size} input neurons")]
    for name, spikes in (("rate", rate), ("latency", latency)):
        rms = np.sqrt(np.mean((decoded[name] - gray) ** 2))
        panels.append((decoded[name], f"decoded from the {name} code\n{spikes.sum():,} spikes, RMS error {rms:.3f}"))
    for ax, (picture, title) in zip(axes[1:], panels):
        shown = ax.imshow(picture, cmap="gray", vmin=0.0, vmax=1.0)
        ax.set_title(title)
    for ax in axes:
        ax.set_xticks([])
        ax.set_yticks([])
    top.colorbar(shown, ax=axes, label="intensity x", shrink=0.9)

    order = np.argsort(gray.ravel(), kind="stable")          # brightest pixel on the top row of the raster
    n_dark = int(np.sum(gray <= DARK))
    titles = {"rate": f"rate code: Bernoulli p = x $\\cdot$ {max_rate:g} Hz $\\cdot$ {dt:g} ms per step",
              "latency": f"latency code ({latency_method}): one spike at most, brighter earlier"}
    for ax, (name, spikes) in zip(bottom.subplots(1, 2), (("rate", rate), ("latency", latency))):
        plot_raster(spikes.reshape(num_steps, -1)[:, order], dt=dt, ax=ax, title=titles[name])
        ax.set_ylabel("input neuron (sorted by intensity)")
        ax.axhline(n_dark - 0.5, color="tab:red", linestyle="--", linewidth=1)
        ax.text(0.98 * num_steps * dt, n_dark / 2, f"{n_dark} dark pixels (x $\\leq$ {DARK:g})",
                ha="right", va="center", color="tab:red")
    fig.suptitle(f"{Path(image_path).name} as spike trains over {num_steps} steps of {dt:g} ms")
    return fig


def main(argv=None):
    parser = script_parser(__doc__)
    parser.add_argument("--image", default=str(DEFAULT_IMAGE), help="any picture pillow reads (default: brain icon)")
    parser.add_argument("--size", type=int, default=32, help="side of the square input in pixels (default 32)")
    parser.add_argument("--steps", type=int, default=50, help="number of time steps of 1 ms (default 50)")
    parser.add_argument("--max-rate", type=float, default=1000.0, help="rate of a white pixel in Hz (default 1000)")
    parser.add_argument("--latency-method", choices=LATENCY_METHODS, default="linear",
                        help="how brightness maps to spike time in the latency code (default linear)")
    parser.add_argument("--seed", type=int, default=0, help="seed of the rate code's random numbers")
    args = parser.parse_args(argv)
    use_backend(args.show)
    fig = encoding_figure(args.image, args.size, args.steps, args.max_rate, args.latency_method, args.seed)
    save_figure(fig, args.out, "encoding.png")
    if args.show:
        import matplotlib.pyplot as plt
        plt.show()


if __name__ == "__main__":
    run_script(main)
