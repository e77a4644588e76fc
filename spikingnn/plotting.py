"""Plotting: functions that take arrays and return matplotlib figures.

Scripts, notebooks and tests share these functions. Each draws into ``ax`` when one is given (and returns
its figure), or makes a new figure. Nothing here simulates: data flows in as arrays.

The functions live in the small ``spikingnn.viz`` package (``activity``: rasters, membrane traces, rates,
output counts; ``learning``: weights, receptive fields, training curves, confusion matrix; ``classifier``:
a classifier's output neurons at work, accuracy against energy) and are imported here, so
``from spikingnn.plotting import plot_raster`` works.

The three helpers below are for the standalone scripts in ``visualizations/``: every script accepts
``--out DIR`` and ``--show``, renders headless (Agg) unless ``--show`` asks for a window, and saves PNG files.
"""
from __future__ import annotations

import argparse
from pathlib import Path

import matplotlib

from spikingnn.viz import (SpikeVisualizer, plot_accuracy_vs_energy, plot_confusion_matrix,  # noqa: F401
                           plot_membrane, plot_output_activity, plot_output_counts, plot_population_rate,
                           plot_raster, plot_raster_events, plot_receptive_fields, plot_training_curves,
                           plot_weight_histograms, smoothed_rate)


def script_parser(description: str, default_out: str = "figures") -> argparse.ArgumentParser:
    """Argument parser with the options every visualization script shares (``--out``, ``--show``)."""
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--out", default=default_out, help=f"folder for the PNG/GIF files (default: {default_out})")
    parser.add_argument("--show", action="store_true", help="also open the figures in a window")
    return parser


def use_backend(show: bool) -> None:
    """Render headless with Agg unless a window was asked for; call before the first figure is made."""
    if not show:
        matplotlib.use("Agg", force=True)


def save_figure(fig, out_dir, name: str) -> Path:
    """Save ``fig`` as ``out_dir/name`` (PNG unless ``name`` says otherwise) and return the path."""
    path = Path(out_dir) / name
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=fig.dpi, bbox_inches="tight")
    print(f"wrote {path}")
    return path


def run_figure_script(description: str, make_figure, name: str, argv=None) -> Path:
    """The whole ``main()`` of a one-picture script: parse --out/--show, pick the backend, build the figure with
    ``make_figure()``, save it as ``out/name``, and open a window if --show was given."""
    args = script_parser(description).parse_args(argv)
    use_backend(args.show)
    path = save_figure(make_figure(), args.out, name)
    if args.show:
        import matplotlib.pyplot as plt

        plt.show()
    return path
