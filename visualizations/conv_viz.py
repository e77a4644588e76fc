"""Inside a convolutional spiking network: the kernels its first convolution learned, the feature maps one test
digit makes in every convolutional layer, and one layer's spikes over time grouped by channel.

    python visualizations/conv_viz.py [--model runs/conv] [--digit 3] [--layer 1] [--out figures] [--show]

--model takes a saved model (.npz) or a run folder of ``spikingnn train --arch ...`` (holding model.npz), as
``spikingnn evaluate`` does; a dense model is refused. Without it a small 8C5-MP2-16C5-MP2-FC10 network is
trained first on demo digits (MNIST if it is on this machine, else synthetic numerals; a few seconds). Writes
conv_kernels.png (the first layer's k x k kernels: red excites, blue inhibits), conv_feature_maps.png (the
picture, then each channel's spike count at every position) and conv_raster.png (the spikes of --layer's neurons
over the T steps, channel by channel).
"""
import numpy as np

from spikingnn import cli
from spikingnn.plotting import run_script, save_figure, script_parser, use_backend
from spikingnn.viz.conv import (
    conv_layers,
    input_picture,
    plot_conv_kernels,
    plot_feature_maps,
    plot_feature_raster,
    record_feature_maps,
)
from spikingnn.viz.demo import demo_digits, pick_test_digit

# the quick model: a few seconds on 2 cores, ~90 % on MNIST test digits (~98 % on the synthetic ones)
QUICK_ARCH, QUICK_IMAGES, QUICK_STEPS = "8C5-MP2-16C5-MP2-FC10", 3000, 8


def quick_model(seed=0):
    """A small convolutional SNNClassifier (QUICK_ARCH, analog input current, T = QUICK_STEPS) trained for one
    epoch on QUICK_IMAGES demo digits, at a learning rate (1e-2) that one epoch is enough for."""
    from spikingnn.training.model import SNNClassifier

    images, labels, source = demo_digits(QUICK_IMAGES, "train", rng=seed)
    print(f"no --model given: training a small {QUICK_ARCH} convolutional network on {len(images)} {source}, "
          f"1 epoch (a few seconds; to draw a trained one: --model RUN_FOLDER or FILE.npz) ...")
    model = SNNClassifier(arch=QUICK_ARCH, encoding="current", num_steps=QUICK_STEPS, epochs=1, batch_size=64,
                          lr=1e-2, random_state=seed)
    return model.fit(images, labels, progress=False)


def main(argv=None):
    parser = script_parser(__doc__)
    parser.add_argument("--model", help=f"a saved model (.npz) or a run folder holding model.npz, trained with "
                                        f"--arch. Without it a small {QUICK_ARCH} network is trained first.")
    parser.add_argument("--digit", type=int, choices=range(10), metavar="0-9",
                        help="show a test image of this class (default: the first test image)")
    parser.add_argument("--layer", type=int, default=1, metavar="N",
                        help="the convolutional layer whose spikes conv_raster.png shows, 1 = the first (default 1)")
    parser.add_argument("--seed", type=int, default=0, help="seed of the quick model and of the test images drawn "
                                                            "(default 0)")
    args = parser.parse_args(argv)
    use_backend(args.show)
    model = (quick_model(args.seed) if args.model is None
             else cli._load_model(cli._model_file(args.model), "--model"))
    layers = conv_layers(model)                    # a dense model ends here, with one line naming what is needed
    if not 1 <= args.layer <= len(layers):
        raise ValueError(f"--layer must be in [1, {len(layers)}] (the model's convolutional layers); got {args.layer}")
    image, label = pick_test_digit(args.digit, args.seed)
    picture = input_picture(model, image)
    maps = record_feature_maps(model, picture)
    predicted = model.predict(picture.reshape(1, -1))[0]
    about = f"test digit {label} (predicted {predicted}), T = {model.num_steps} steps, {model.encoding} input"

    first = layers[0]
    fig = plot_conv_kernels(model.weights_[first.index])
    fig.suptitle(f"kernels of the first convolution ({first.name})")
    save_figure(fig, args.out, "conv_kernels.png")

    fig = plot_feature_maps(picture, [spikes.sum(axis=0) for spikes in maps], names=[lay.name for lay in layers],
                            num_steps=model.num_steps, title=f"feature maps of {model.arch}: {about}")
    save_figure(fig, args.out, "conv_feature_maps.png")

    chosen = layers[args.layer - 1]
    spikes = maps[args.layer - 1]
    fig = plot_feature_raster(spikes, dt=model.dt, title=f"{chosen.name}: {int(np.sum(spikes))} spikes\n{about}")
    save_figure(fig, args.out, "conv_raster.png")
    if args.show:
        import matplotlib.pyplot as plt

        plt.show()


if __name__ == "__main__":
    run_script(main)
