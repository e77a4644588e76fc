"""Training curves of a run: loss, accuracy and mean firing rate per epoch, read from the run's metrics.csv.

    python visualizations/training_curves.py --run runs/NAME [--out figures] [--show]

``spikingnn train --out runs/NAME`` writes ``runs/NAME/metrics.csv`` (one row per epoch) and ``model.npz``.
When the run's model.npz is there, its loss says whether the output layer spikes: a membrane read-out (the
default loss, ce_mem_mean) never does, so no output rate is drawn for it.
"""
from pathlib import Path

from spikingnn.cli import read_metrics
from spikingnn.plotting import plot_training_curves, run_script, save_figure, script_parser, use_backend
from spikingnn.serialization import load


def main(argv=None):
    parser = script_parser(__doc__)
    parser.add_argument("--run", required=True, help="the run folder holding metrics.csv (or the CSV file itself)")
    args = parser.parse_args(argv)
    use_backend(args.show)
    path = Path(args.run)
    run = path if path.is_dir() else path.parent
    csv_path = run / "metrics.csv" if path.is_dir() else path
    if not csv_path.is_file():
        parser.error(f"--run: no metrics.csv at {csv_path}")
    history = read_metrics(csv_path)
    if not history:
        parser.error(f"--run: {csv_path} holds no epoch yet")
    loss = load(run / "model.npz").loss if (run / "model.npz").is_file() else None
    fig = plot_training_curves(history, loss=loss)
    fig.suptitle(f"training run {run.name}")
    save_figure(fig, args.out, "training_curves.png")
    if args.show:
        import matplotlib.pyplot as plt

        plt.show()


if __name__ == "__main__":
    run_script(main)
