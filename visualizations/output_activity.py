"""What the output layer of a trained classifier does with one digit, drawn as its read-out works.

    python visualizations/output_activity.py [--model runs/NAME/model.npz] [--digit 7] [--out figures] [--show]

A spiking read-out (loss ce_count or mse_count): the output raster, the membrane traces under the threshold
and the race of the spike counts. A membrane read-out (ce_mem_mean, SNNClassifier's default, or ce_mem_max):
the output neurons are leaky integrators that never fire, so their membrane traces and the race of their
score (the membrane averaged or maximised over time). Without --model a small model is trained first, with
SNNClassifier's default recipe (a few seconds). One time step is drawn as the model's dt.
"""
from spikingnn.plotting import plot_output_activity, run_script, save_figure, script_parser, use_backend
from spikingnn.viz.demo import add_model_arguments, load_or_train, pick_test_digit, record_one


def main(argv=None):
    parser = add_model_arguments(script_parser(__doc__))
    args = parser.parse_args(argv)
    use_backend(args.show)
    model = load_or_train(args.model, seed=args.seed)
    image, label = pick_test_digit(args.digit, args.seed)
    _, spikes, v = record_one(model, image)
    classes = [int(c) for c in model.classes_]
    fig = plot_output_activity(image, spikes[-1], v[-1], loss=model.loss, v_threshold=model.v_threshold,
                               dt=model.dt, class_names=classes, true_label=classes.index(label))
    save_figure(fig, args.out, "output_activity.png")
    if args.show:
        import matplotlib.pyplot as plt

        plt.show()


if __name__ == "__main__":
    run_script(main)
