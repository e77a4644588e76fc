"""What a trained classifier's weights learned: their distributions before and after training, and the hidden
neurons' input weights as 28x28 receptive fields.

    python visualizations/weights_viz.py [--model runs/NAME/model.npz] [--fields 100] [--out figures] [--show]

Without --model a small model is trained first (a few seconds). The weights before training are recomputed
from the model's random_state (SNNClassifier draws its initial weights from it).
"""
import numpy as np

from spikingnn.plotting import (
    plot_receptive_fields,
    plot_weight_histograms,
    run_script,
    save_figure,
    script_parser,
    use_backend,
)
from spikingnn.viz.demo import add_model_arguments, initial_weights, load_or_train


def main(argv=None):
    parser = add_model_arguments(script_parser(__doc__), digit=False)
    parser.add_argument("--fields", type=int, default=100, help="how many receptive fields are shown at most "
                                                                "(default 100)")
    args = parser.parse_args(argv)
    if args.fields < 1:
        parser.error(f"--fields must be >= 1; got {args.fields}")
    use_backend(args.show)
    model = load_or_train(args.model, seed=args.seed)
    sizes = model.layer_sizes_
    names = ["input", *(f"hidden {k}" for k in range(1, len(sizes) - 1)), "output"]
    labels = [f"{a} → {b} ({m} → {n})" for a, b, m, n in zip(names, names[1:], sizes, sizes[1:])]
    fig = plot_weight_histograms(model.weights_, labels=labels, before=initial_weights(model))
    save_figure(fig, args.out, "weight_histograms.png")
    w_in = model.weights_[0]
    if len(sizes) == 3:                                   # label each hidden neuron with the class it drives most
        preferred = np.argmax(model.weights_[1], axis=1)
        order = np.argsort(preferred, kind="stable")[:args.fields]
        field_labels = [f"→ {model.classes_[preferred[k]]}" for k in order]
    else:
        order, field_labels = np.arange(min(args.fields, w_in.shape[1])), None
    fig = plot_receptive_fields(w_in[:, order], labels=field_labels)
    fig.suptitle(f"input weights of {len(order)} of the {w_in.shape[1]} first-layer hidden neurons"
                 + (" (→ the output class each one excites most)" if field_labels else ""))
    save_figure(fig, args.out, "receptive_fields.png")
    if args.show:
        import matplotlib.pyplot as plt

        plt.show()


if __name__ == "__main__":
    run_script(main)
