"""What each neuron of the Diehl & Cook network learned: its 784 input weights as a 28x28 image, with its label.

    python visualizations/receptive_fields.py --weights runs/stdp400/network.npz [--out DIR] [--show]
    python visualizations/receptive_fields.py          # no file: a quick training of 36 neurons on 1,000 digits

--weights takes a network saved by ``DiehlCookNetwork.save`` (``examples/stdp_mnist.py`` writes
OUT/network.npz). Each tile is one excitatory neuron's receptive field (dark = strong weight); the number in
its corner is the digit it was labelled with (the class it fired for most; '-' if never labelled).
Writes receptive_fields.png.
"""
from __future__ import annotations

import math

import numpy as np

from spikingnn.diehl_cook import DiehlCookNetwork
from spikingnn.plotting import run_script, save_figure, script_parser, use_backend


def quick_network(images, labels, n_neurons=36, seed=0) -> DiehlCookNetwork:
    """Train a small network on ``images`` and label it with them (1,000 images: half a minute), with progress bars."""
    print(f"no --weights given: training a {n_neurons}-neuron Diehl & Cook network on {len(images):,} MNIST "
          f"images, then labelling its neurons (about half a minute; to draw a saved network: --weights FILE)")
    net = DiehlCookNetwork(n_neurons, seed=seed).train(images, progress=True)
    net.label_neurons(images, labels, progress=True)
    return net


def tiles(weights, image_shape=(28, 28), gap=1) -> np.ndarray:
    """Arrange the columns of ``weights`` (n_pixels, n) as images in a near-square mosaic (NaN between tiles)."""
    n, (h, w) = weights.shape[1], image_shape
    cols = math.ceil(math.sqrt(n))
    rows = math.ceil(n / cols)
    mosaic = np.full((rows * (h + gap) - gap, cols * (w + gap) - gap), np.nan)
    for k in range(n):
        r, c = divmod(k, cols)
        mosaic[r * (h + gap):r * (h + gap) + h, c * (w + gap):c * (w + gap) + w] = weights[:, k].reshape(h, w)
    return mosaic


def plot_receptive_field_mosaic(plt, weights, assignments, title):
    n = weights.shape[1]
    cols = math.ceil(math.sqrt(n))
    size = min(9.0, 2.0 + 0.35 * cols)
    fig, ax = plt.subplots(figsize=(size + 1.0, size), layout="constrained")
    image = ax.imshow(tiles(weights), cmap="hot_r", vmin=0.0, vmax=float(np.percentile(weights, 99.9)),
                      interpolation="nearest")
    for k, label in enumerate(assignments):
        r, c = divmod(k, cols)
        ax.text(c * 29 + 1, r * 29 + 1, "-" if label < 0 else str(label), color="tab:blue", va="top", ha="left",
                fontsize=max(5, min(9, 90 // cols)), fontweight="bold")
    ax.set_axis_off()
    ax.set_title(title, fontsize="medium")
    fig.colorbar(image, ax=ax, shrink=0.6, label="input weight")
    return fig


def main(argv=None) -> None:
    parser = script_parser(__doc__)
    parser.add_argument("--weights", default=None, help="a network .npz saved by DiehlCookNetwork.save. Without "
                                                        "it a small one is trained first on 1,000 MNIST images.")
    args = parser.parse_args(argv)
    use_backend(args.show)
    import matplotlib.pyplot as plt

    if args.weights:
        net = DiehlCookNetwork.load(args.weights)
    else:
        from spikingnn.datasets import ENV_VAR, load_mnist

        try:
            images, labels = load_mnist("train")
        except FileNotFoundError:
            parser.error(f"without --weights a network is trained on MNIST, which is not on this machine and could "
                         f"not be downloaded; set {ENV_VAR}=DIR with the four IDX files in DIR/mnist")
        net = quick_network(images[:1000], labels[:1000])
    counts = np.bincount(net.assignments[net.assignments >= 0], minlength=10)
    title = (f"Receptive fields of the {net.n_neurons} excitatory neurons after {net.images_seen:,} training "
             f"images\nneurons per label 0-9: {' '.join(str(c) for c in counts)}")
    save_figure(plot_receptive_field_mosaic(plt, net.weights, net.assignments, title), args.out,
                "receptive_fields.png")
    if args.show:
        plt.show()


if __name__ == "__main__":
    run_script(main)
