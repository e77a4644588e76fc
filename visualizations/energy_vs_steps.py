"""Accuracy against estimated energy per inference as the number of time steps T varies.

    python visualizations/energy_vs_steps.py [--model runs/NAME/model.npz] [--steps 2 5 10 15 20 25 30]
                                             [--images 500] [--out figures] [--show]

The model (trained at its own T) is run on test images with each T in --steps; each point is its accuracy
and the energy of its synaptic operations (spikingnn.energy: SynOps x 0.9 pJ, an estimate from Horowitz,
ISSCC 2014, 45 nm); the dashed line is the same architecture run once as an ANN (MACs x 4.6 pJ).
Without --model a small model is trained first (a few seconds).
"""
from spikingnn import energy
from spikingnn.plotting import plot_accuracy_vs_energy, run_script, save_figure, script_parser, use_backend
from spikingnn.viz.demo import add_model_arguments, demo_digits, load_or_train


def main(argv=None):
    parser = add_model_arguments(script_parser(__doc__), digit=False)
    parser.add_argument("--steps", type=int, nargs="+", default=[2, 5, 10, 15, 20, 25, 30], metavar="T",
                        help="numbers of time steps to try (default: 2 5 10 15 20 25 30)")
    parser.add_argument("--images", type=int, default=500, help="test images per point (default 500)")
    args = parser.parse_args(argv)
    use_backend(args.show)
    model = load_or_train(args.model, seed=args.seed)
    X, y, source = demo_digits(args.images, "test", rng=args.seed)
    trained_steps, rows = model.num_steps, []
    for steps in args.steps:
        model.num_steps = steps
        cost = energy.measure(model, X)
        rows.append((steps, model.score(X, y), cost.snn_energy_pj))
        print(f"T = {steps:3d}: accuracy {100 * rows[-1][1]:6.2f}%, SynOps {cost.synops.sum():12,.0f}, "
              f"energy {cost.snn_energy_pj / 1e3:8.2f} nJ per image")
    model.num_steps = trained_steps
    print(f"ANN of the same architecture: {cost.ann_macs.sum():,.0f} MACs, {cost.ann_energy_pj / 1e3:.2f} nJ per image")
    fig = plot_accuracy_vs_energy(*zip(*rows), ann_energy_pj=cost.ann_energy_pj,
                                  source=f"{len(X)} {source} test images; model trained at T = {trained_steps}. "
                                         f"Energy: {energy.ENERGY_SOURCE}")
    save_figure(fig, args.out, "energy_vs_steps.png")
    if args.show:
        import matplotlib.pyplot as plt

        plt.show()


if __name__ == "__main__":
    run_script(main)
