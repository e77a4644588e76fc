"""Animated GIF of a trained 784-H-10 spiking network classifying one digit, one time step per frame.

    python visualizations/network_animation.py [--model runs/NAME/model.npz] [--digit 7] [--out figures]
                                               [--live] [--show]

Inputs as the 28x28 grid, hidden neurons on a circle, the 10 outputs in a column: colour = membrane potential,
red = spike this step, lines = the strongest synapses that carried a spike this step. Each output's bar is its
class score so far: its spike count for a spiking read-out, its membrane averaged over the steps so far for the
non-spiking read-out of SNNClassifier's default loss (ce_mem_mean). Written with pillow (no ffmpeg). --live
shows the animation in a window instead of writing it; --show writes it and shows it too. Without --model a
small model is trained first, with SNNClassifier's default recipe (a few seconds).
"""
from pathlib import Path

from spikingnn.animation import NetworkAnimation, save_gif
from spikingnn.plotting import run_script, script_parser, use_backend
from spikingnn.viz.demo import add_model_arguments, load_or_train, pick_test_digit, record_one


def main(argv=None):
    parser = add_model_arguments(script_parser(__doc__))
    parser.add_argument("--live", action="store_true", help="show the animation in a window and write no file")
    parser.add_argument("--frame-ms", type=float, default=300.0, help="how long each frame is shown, in ms "
                                                                      "(default 300)")
    parser.add_argument("--max-edges", type=int, default=80, help="how many synapses are drawn per layer and step, "
                                                                  "the strongest that carried a spike (default 80)")
    args = parser.parse_args(argv)
    if args.frame_ms <= 0:
        parser.error(f"--frame-ms must be > 0; got {args.frame_ms:g}")
    if args.max_edges < 0:
        parser.error(f"--max-edges must be >= 0; got {args.max_edges}")
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
    animation = NetworkAnimation(input_spikes, spikes, v, model.weights_, loss=model.loss, image=image,
                                 max_edges=args.max_edges, v_threshold=model.v_threshold, dt=model.dt,
                                 class_names=classes, true_label=classes.index(label), fig=fig)
    if not args.live:
        path = save_gif(animation.frames(), Path(args.out) / "network_animation.gif", frame_ms=args.frame_ms)
        print(f"wrote {path} ({animation.steps} frames)")
    if window:
        animation.play(args.frame_ms)


if __name__ == "__main__":
    run_script(main)
