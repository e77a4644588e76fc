"""Output-neuron activity of a trained classifier for one digit: raster, membrane traces, the race of the counts.

    python visualizations/output_activity.py [--model runs/NAME/model.npz] [--digit 7] [--out figures] [--show]

Without --model a small model is trained first (a few seconds). One time step is drawn as 1 ms.
"""
from spikingnn.plotting import plot_output_activity, save_figure, script_parser, use_backend
from spikingnn.viz.demo import add_model_arguments, load_or_train, record_one, pick_test_digit


def main(argv=None):
    parser = add_model_arguments(script_parser(__doc__.splitlines()[0]))
    args = parser.parse_args(argv)
    use_backend(args.show)
    model = load_or_train(args.model, seed=args.seed)
    image, label = pick_test_digit(args.digit, args.seed)
    _, spikes, v = record_one(model, image)
    classes = [int(c) for c in model.classes_]
    fig = plot_output_activity(image, spikes[-1], v[-1], v_threshold=getattr(model, "v_threshold", 1.0),
                               class_names=classes, true_label=classes.index(label))
    save_figure(fig, args.out, "output_activity.png")
    if args.show:
        import matplotlib.pyplot as plt

        plt.show()


if __name__ == "__main__":
    main()
