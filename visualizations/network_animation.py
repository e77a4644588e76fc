"""Animated GIF of a trained 784-H-10 spiking network classifying one digit, one time step per frame.

    python visualizations/network_animation.py [--model runs/NAME/model.npz] [--digit 7] [--out figures]
                                               [--live] [--show]

Inputs as the 28x28 grid, hidden neurons on a circle, the 10 outputs in a column: colour = membrane potential,
red = spike this step, lines = the strongest synapses that carried a spike this step. Written with pillow (no
ffmpeg). --live shows the animation in a window instead of writing it; --show writes it and shows it too.
Without --model a small model is trained first (a few seconds).
"""
from pathlib import Path

from spikingnn.animation import NetworkAnimation, save_gif
from spikingnn.plotting import script_parser, use_backend
from spikingnn.viz.demo import add_model_arguments, load_or_train, pick_test_digit, record_one


def main(argv=None):
    parser = add_model_arguments(script_parser(__doc__.splitlines()[0]))
    parser.add_argument("--live", action="store_true", help="show the animation in a window, write no file")
    parser.add_argument("--frame-ms", type=float, default=300.0, help="duration of one frame (default 300 ms)")
    parser.add_argument("--max-edges", type=int, default=80, help="synapses drawn per layer and step (default 80)")
    args = parser.parse_args(argv)
    window = args.live or args.show
    use_backend(window)
    model = load_or_train(args.model, seed=args.seed)
    image, label = pick_test_digit(args.digit, args.seed)
    input_spikes, spikes, v = record_one(model, image)
    fig = None
    if window:
        import matplotlib.pyplot as plt

        fig = plt.figure(figsize=(8.0, 4.6))
    classes = [int(c) for c in model.classes_]
    animation = NetworkAnimation(input_spikes, spikes, v, model.weights_, image=image, max_edges=args.max_edges,
                                 v_threshold=model.v_threshold, dt=model.dt, class_names=classes,
                                 true_label=classes.index(label), fig=fig)
    if not args.live:
        path = save_gif(animation.frames(), Path(args.out) / "network_animation.gif", frame_ms=args.frame_ms)
        print(f"wrote {path} ({animation.steps} frames)")
    if window:
        animation.play(args.frame_ms)


if __name__ == "__main__":
    main()
