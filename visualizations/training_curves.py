"""Training curves of a run: loss, accuracy and mean firing rate per epoch, read from the run's metrics.csv.

    python visualizations/training_curves.py --run runs/NAME [--out figures] [--show]

``spikingnn train --out runs/NAME`` writes ``runs/NAME/metrics.csv`` (one row per epoch).
"""
from pathlib import Path

from spikingnn.cli import read_metrics
from spikingnn.plotting import plot_training_curves, save_figure, script_parser, use_backend


def main(argv=None):
    parser = script_parser(__doc__.splitlines()[0])
    parser.add_argument("--run", required=True, help="run folder holding metrics.csv (or the CSV file itself)")
    args = parser.parse_args(argv)
    use_backend(args.show)
    path = Path(args.run)
    history = read_metrics(path / "metrics.csv" if path.is_dir() else path)
    if not history:
        parser.error(f"{path} holds no epoch yet")
    fig = plot_training_curves(history)
    fig.suptitle(f"training run {path.name if path.is_dir() else path.parent.name}")
    save_figure(fig, args.out, "training_curves.png")
    if args.show:
        import matplotlib.pyplot as plt

        plt.show()


if __name__ == "__main__":
    main()
