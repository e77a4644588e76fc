"""Plotting: functions that take arrays and return matplotlib figures.

Scripts, notebooks and tests share these functions. Each draws into ``ax`` when one is given (and returns
its figure), or makes a new figure. Nothing here simulates: data flows in as arrays.

The functions live in the small ``spikingnn.viz`` package (``activity``: rasters, membrane traces, rates,
the race of output counts or scores; ``learning``: weights, receptive fields, training curves, confusion
matrix; ``classifier``: a classifier's output neurons at work, drawn as its read-out works, accuracy against
energy) and are imported here, so ``from spikingnn.plotting import plot_raster`` works.

The helpers below are for the standalone scripts in ``visualizations/``: every script accepts
``--out DIR`` and ``--show``, renders headless (Agg) unless ``--show`` asks for a window, saves PNG files, and
ends bad input with one line (``run_script``).
"""
from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

import matplotlib

from spikingnn.viz import (  # noqa: F401
    SpikeVisualizer,
    plot_accuracy_vs_energy,
    plot_confusion_matrix,
    plot_membrane,
    plot_output_activity,
    plot_output_counts,
    plot_population_rate,
    plot_prediction,
    plot_raster,
    plot_raster_events,
    plot_receptive_fields,
    plot_score_race,
    plot_training_curves,
    plot_weight_histograms,
    readout,
    running_scores,
    smoothed_rate,
)


def script_parser(doc: str, default_out: str = "figures") -> argparse.ArgumentParser:
    """Argument parser with the options every visualization script shares (``--out``, ``--show``); its --help
    description is the first paragraph of ``doc`` (the script's docstring), whole sentences however it wraps."""
    parser = argparse.ArgumentParser(description=" ".join(doc.strip().split("\n\n")[0].split()))
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


def run_figure_script(doc: str, make_figure, name: str, argv=None) -> Path:
    """The whole ``main()`` of a one-picture script: parse --out/--show (``doc``: the script's docstring), pick the
    backend, build the figure with ``make_figure()``, save it as ``out/name``, and open a window if --show was
    given."""
    args = script_parser(doc).parse_args(argv)
    use_backend(args.show)
    path = save_figure(make_figure(), args.out, name)
    if args.show:
        import matplotlib.pyplot as plt

        plt.show()
    return path


def run_script(main) -> None:
    """Run a script's ``main()`` as the ``spikingnn`` command does: bad input (a ValueError or OSError, raised
    where a value or file is checked, naming it) ends in one line on stderr and exit status 2, not a traceback;
    SPIKINGNN_DEBUG=1 shows the traceback."""
    try:
        main()
    except (ValueError, OSError) as exc:
        if os.environ.get("SPIKINGNN_DEBUG"):
            raise
        print(f"{Path(sys.argv[0]).name}: error: {' '.join(str(exc).split())}", file=sys.stderr)
        sys.exit(2)
