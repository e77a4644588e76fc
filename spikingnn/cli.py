"""The ``spikingnn`` command: train a spiking classifier, evaluate it, and use it on your own pictures.

    spikingnn train --dataset mnist --hidden 100 --steps 25 --encoding rate --epochs 5 --out runs/mnist
    spikingnn train --out runs/mnist --resume                     # continue an interrupted run
    spikingnn evaluate --model runs/mnist/model.npz                # accuracy, confusion matrix, SynOps, energy
    spikingnn predict --model runs/mnist/model.npz --image my_digit.png --raster raster.png

(``python -m spikingnn ...`` is the same command.) A training run keeps everything in its ``--out`` folder:

- ``config.json``: the options of the run (what ``--resume`` reads back);
- ``model.npz``: the checkpoint, rewritten atomically after every epoch and on Ctrl-C (``spikingnn.load``);
- ``metrics.csv``: one row per epoch: epoch, train_loss, train_accuracy, val_accuracy (measured on the test
  split), seconds, images_per_second, lr, spike_rate_1 ... spike_rate_L (mean spikes per neuron per step of
  each layer, hidden layers first, the output layer last); :func:`read_metrics` reads it back;
- ``training_curves.png``: loss, accuracy and firing rate per epoch, drawn when the run ends or is interrupted.

``--config run.toml`` sets options from a TOML file (the flags' names, ``-`` or ``_``; e.g. ``hidden = [200]``,
``lr = 1e-3``); flags given on the command line override it. An optional ``[model]`` table passes further
keywords to ``SNNClassifier`` (e.g. ``beta = 0.9``, ``surrogate = "arctan"``). Bad input (a missing or corrupt
file, an unknown option, a picture that is not one) prints one line and exits with status 2; Ctrl-C exits
with status 130 after saving a checkpoint.
"""
from __future__ import annotations

import argparse
import csv
import io
import json
import os
import sys
from pathlib import Path

import numpy as np

from spikingnn._io import atomic_write
from spikingnn._validation import check_choice

DATASETS = ("mnist", "fashion-mnist")
# None: SNNClassifier's default (its tuned defaults: 784-100-10, T = 25, rate coding, 5 epochs, ...)
TRAIN_DEFAULTS = {"dataset": "mnist", "hidden": None, "steps": None, "encoding": None, "epochs": None,
                  "batch_size": None, "lr": None, "lr_schedule": None, "loss": None, "neuron": None, "seed": None, "limit": None,
                  "data_dir": None}
# command-line option -> SNNClassifier keyword (the other options describe the data)
MODEL_KEYWORDS = {"hidden": "hidden", "steps": "num_steps", "encoding": "encoding", "epochs": "epochs",
                  "batch_size": "batch_size", "lr": "lr", "lr_schedule": "lr_schedule", "loss": "loss", "neuron": "neuron", "seed": "random_state"}
RESUME_MAY_CHANGE = ("epochs", "data_dir")          # everything else must stay as the run began
VALIDATION_LIMIT = 10_000                           # test images used for the per-epoch validation


# ------------------------------------------------------------------------------------------ small file helpers
def _write_text(path: Path, text: str) -> None:
    with atomic_write(path, "w") as handle:
        handle.write(text)


def _read_json(path: Path) -> dict:
    try:
        return json.loads(Path(path).read_text())
    except json.JSONDecodeError as exc:
        raise ValueError(f"{path} is not valid JSON ({exc})") from None


def _save_png(fig, path: Path) -> Path:
    """Render ``fig`` to PNG in memory, then write it atomically (a crash never leaves half a picture)."""
    import matplotlib.pyplot as plt

    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=110)
    plt.close(fig)
    with atomic_write(path, "wb") as handle:
        handle.write(buffer.getvalue())
    return path


def write_metrics(path, history) -> None:
    """Write ``model.history_`` (a list of per-epoch metrics dicts) as ``metrics.csv``, one row per epoch."""
    rows = []
    for metrics in history:
        row = {key: value for key, value in metrics.items() if key != "spike_rates"}
        row.update({f"spike_rate_{k + 1}": rate for k, rate in enumerate(metrics.get("spike_rates") or [])})
        rows.append(row)
    columns = list(dict.fromkeys(key for row in rows for key in row))
    text = io.StringIO()
    writer = csv.DictWriter(text, fieldnames=columns, lineterminator="\n")
    writer.writeheader()
    writer.writerows({key: ("" if value is None else value) for key, value in row.items()} for row in rows)
    _write_text(Path(path), text.getvalue())


def read_metrics(path) -> list[dict]:
    """Read a run's ``metrics.csv`` back into a list of metrics dicts like ``model.history_``."""
    history = []
    with open(path, newline="") as handle:
        for row in csv.DictReader(handle):
            metrics = {key: (None if value == "" else float(value)) for key, value in row.items()
                       if not key.startswith("spike_rate_")}
            metrics["epoch"] = int(metrics["epoch"])
            rates = sorted((int(key.rsplit("_", 1)[1]), float(value)) for key, value in row.items()
                           if key.startswith("spike_rate_") and value != "")
            metrics["spike_rates"] = [rate for _, rate in rates]
            history.append(metrics)
    return history


# ------------------------------------------------------------------------------------------------ options
def _read_config(path) -> tuple[dict, dict]:
    """Options and ``[model]`` keywords from a TOML file; unknown keys are refused."""
    if sys.version_info >= (3, 11):
        import tomllib
    else:
        import tomli as tomllib
    try:
        with open(path, "rb") as handle:
            table = tomllib.load(handle)
    except tomllib.TOMLDecodeError as exc:
        raise ValueError(f"{path} is not valid TOML ({exc})") from None
    model_keywords = table.pop("model", {})
    options = {key.replace("-", "_"): value for key, value in table.items()}
    unknown = sorted(set(options) - set(TRAIN_DEFAULTS))
    if unknown:
        raise ValueError(f"{path}: unknown option(s) {', '.join(unknown)}; known: {', '.join(TRAIN_DEFAULTS)} "
                         f"and a [model] table of SNNClassifier keywords")
    overlap = sorted(set(model_keywords) & set(MODEL_KEYWORDS.values()))
    if overlap:
        raise ValueError(f"{path}: set {', '.join(overlap)} with the top-level options, not in [model]")
    if "hidden" in options and not isinstance(options["hidden"], list):
        options["hidden"] = [options["hidden"]]
    return options, model_keywords


def _train_options(args) -> tuple[dict, dict]:
    """Resolve the run's options: defaults < TOML file < flags; on --resume, the run's own config.json, where
    the options hold the values the model was built with."""
    given = {key: value for key, value in vars(args).items() if key in TRAIN_DEFAULTS and value is not None}
    if not args.resume:
        from_file, model_keywords = _read_config(args.config) if args.config else ({}, {})
        options = {**TRAIN_DEFAULTS, **from_file, **given}
        check_choice("dataset", options["dataset"], DATASETS)
        return options, model_keywords
    if args.config:
        raise ValueError("--config cannot be combined with --resume: a resumed run keeps its own config.json")
    config_path = Path(args.out) / "config.json"
    if not config_path.is_file():
        raise ValueError(f"nothing to resume in {args.out}: {config_path} does not exist")
    saved = _read_json(config_path)
    options = saved["options"]
    changed = sorted(key for key, value in given.items()
                     if key not in RESUME_MAY_CHANGE and value != options.get(key))
    if changed:
        raise ValueError(f"cannot change {', '.join(changed)} when resuming {args.out} "
                         f"(only {', '.join(RESUME_MAY_CHANGE)} may change)")
    options.update({key: given[key] for key in RESUME_MAY_CHANGE if key in given})
    return options, saved.get("model", {})


def _build_model(options: dict, model_keywords: dict):
    from spikingnn.training.model import SNNClassifier

    keywords = {MODEL_KEYWORDS[key]: options[key] for key in MODEL_KEYWORDS if options.get(key) is not None}
    if "hidden" in keywords:
        keywords["hidden"] = tuple(keywords["hidden"])
    if keywords.get("lr_schedule") == "constant":
        keywords["lr_schedule"] = None
    try:
        return SNNClassifier(**model_keywords, **keywords)
    except TypeError as exc:
        raise ValueError(f"bad model option: {exc}") from None


def _effective_options(options: dict, model) -> dict:
    """``options`` with each model option left unset (None) filled in with the value the model uses."""
    params = model.get_params()
    return {key: params[MODEL_KEYWORDS[key]] if value is None and key in MODEL_KEYWORDS else value
            for key, value in options.items()}


def _load_split(dataset: str, split: str, data_dir=None, limit=None):
    """Images and labels of one split of a dataset, the first ``limit`` of them if given."""
    from spikingnn.datasets import load_dataset

    images, labels = load_dataset(dataset, split, data_dir)
    if limit is not None:
        if limit < 1:
            raise ValueError(f"--limit must be >= 1; got {limit}")
        images, labels = images[:limit], labels[:limit]
    return images, labels


# ---------------------------------------------------------------------------------------------- commands
def cmd_train(args) -> int:
    from spikingnn.serialization import load, save

    out = Path(args.out)
    checkpoint = out / "model.npz"
    options, model_keywords = _train_options(args)
    if args.resume:
        model = load(checkpoint)
        print(f"resuming {checkpoint}: {model.epoch_} epoch(s) done, {model.batch_in_epoch_} batch(es) into the next")
    elif checkpoint.exists():
        raise ValueError(f"{out} already holds a model ({checkpoint}); add --resume to continue it, "
                         f"or choose another --out")
    else:
        model = _build_model(options, model_keywords)
    options = _effective_options(options, model)
    model.epochs = options["epochs"]                 # --resume --epochs N extends the run (and its lr schedule)
    X, y = _load_split(options["dataset"], "train", options["data_dir"], options["limit"])
    X_val, y_val = _load_split(options["dataset"], "test", options["data_dir"],
                               min(options["limit"] or VALIDATION_LIMIT, VALIDATION_LIMIT))
    _write_text(out / "config.json", json.dumps({"options": options, "model": model_keywords}, indent=2) + "\n")

    def end_of_epoch(model, metrics):
        save(model, checkpoint)
        write_metrics(out / "metrics.csv", model.history_)
        print(f"  saved {checkpoint} and {out / 'metrics.csv'}")

    try:
        model.fit(X, y, validation_data=(X_val, y_val), epochs=options["epochs"], callbacks=[end_of_epoch])
    except KeyboardInterrupt:
        if not hasattr(model, "weights_"):
            print("\ninterrupted before the first batch finished; nothing to save", file=sys.stderr)
            return 130
        save(model, checkpoint)
        _plot_history(model, out)
        print(f"\ninterrupted after epoch {model.epoch_} + {model.batch_in_epoch_} batch(es); checkpoint saved "
              f"to {checkpoint}\nresume with: spikingnn train --out {out} --resume", file=sys.stderr)
        return 130
    last = model.history_[-1] if model.history_ else {}
    accuracy = last.get("val_accuracy")
    summary = f"test accuracy {accuracy:.2%} ({len(y_val)} images); " if accuracy is not None else ""
    _plot_history(model, out)
    print(f"done: {model.epoch_} epoch(s); {summary}model saved to {checkpoint}")
    return 0


def _plot_history(model, out: Path) -> None:
    """Draw training_curves.png from the model's whole history (at the end of a run: drawing takes ~1 s)."""
    if model.history_:
        from spikingnn.plotting import plot_training_curves

        print(f"wrote {_save_png(plot_training_curves(model.history_), out / 'training_curves.png')}")


def confusion_matrix(y_true, y_pred, classes) -> np.ndarray:
    """Counts ``cm[i, j]`` of images of class ``classes[i]`` predicted as ``classes[j]``."""
    classes = np.asarray(classes)
    index = {label: k for k, label in enumerate(classes.tolist())}
    unknown = set(np.unique(y_true).tolist()) - set(index)
    if unknown:
        raise ValueError(f"labels {sorted(unknown)} are not classes the model knows ({classes.tolist()})")
    true = np.array([index[label] for label in np.asarray(y_true).tolist()])
    pred = np.array([index[label] for label in np.asarray(y_pred).tolist()])
    return np.bincount(true * len(classes) + pred, minlength=len(classes) ** 2).reshape(len(classes), -1)


def cmd_evaluate(args) -> int:
    from spikingnn import energy
    from spikingnn.plotting import plot_confusion_matrix
    from spikingnn.serialization import load

    model_path = Path(args.model)
    model = load(model_path)
    run_config = model_path.parent / "config.json"
    run_options = _read_json(run_config)["options"] if run_config.is_file() else {}
    dataset = args.dataset or run_options.get("dataset", "mnist")
    X, y = _load_split(dataset, "test", args.data_dir or run_options.get("data_dir"), args.limit)
    predictions = model.predict(X)
    cm = confusion_matrix(y, predictions, model.classes_)
    per_class = np.diag(cm) / np.maximum(cm.sum(axis=1), 1)
    accuracy = float(np.trace(cm) / cm.sum())
    cost = energy.measure(model, X)
    print(f"{dataset} test set, {len(y)} images: accuracy {accuracy:.2%}")
    print("per-class accuracy: " + ", ".join(f"{c}: {a:.1%}" for c, a in zip(model.classes_, per_class)))
    print(energy.describe(cost))
    out = Path(args.out) if args.out else model_path.parent
    figure = _save_png(plot_confusion_matrix(cm, class_names=model.classes_), out / "confusion_matrix.png")
    report = {"dataset": dataset, "images": len(y), "accuracy": accuracy,
              "per_class_accuracy": per_class.tolist(), "confusion_matrix": cm.tolist(),
              "spike_rates": cost.spike_rates.tolist(), "synops_per_image": cost.synops.tolist(),
              "snn_macs_per_image": cost.snn_macs.tolist(), "ann_macs_per_image": cost.ann_macs.tolist(),
              "snn_energy_pj": cost.snn_energy_pj, "ann_energy_pj": cost.ann_energy_pj,
              "energy_note": energy.ENERGY_SOURCE}
    _write_text(out / "evaluation.json", json.dumps(report, indent=2) + "\n")
    print(f"wrote {figure} and {out / 'evaluation.json'}")
    return 0


def cmd_predict(args) -> int:
    from spikingnn.preprocess import prepare_digit
    from spikingnn.serialization import load

    if not Path(args.image).is_file():
        raise ValueError(f"no such picture: {args.image}")
    digit = prepare_digit(args.image)
    model = load(args.model)
    record = model.record(digit[None])          # same spikes as predict: inference encoding is seeded per batch
    predicted = model.predict(digit[None])[0]
    output = np.asarray(record.spikes[-1])[:, 0, :]                 # (T, n_classes)
    print(f"predicted class: {predicted}")
    print(f"output spike counts over {output.shape[0]} steps:")
    for label, count in zip(model.classes_, output.sum(axis=0).astype(int)):
        print(f"  {label}: {count:3d}{'  <- predicted' if label == predicted else ''}")
    membrane = None
    if model.loss.startswith("ce_mem"):
        # The output layer of a membrane loss integrates without firing (its counts are all zero): its class
        # scores are the membrane potentials, averaged or maximised over time as in training.
        membrane = np.asarray(record.v[-1])[:, 0, :]
        scores = membrane.mean(axis=0) if model.loss == "ce_mem_mean" else membrane.max(axis=0)
        print(f"output membrane scores ({'mean' if model.loss == 'ce_mem_mean' else 'max'} over time):")
        for label, score in zip(model.classes_, scores):
            print(f"  {label}: {score:7.3f}{'  <- predicted' if label == predicted else ''}")
    if args.raster:
        figure = _prediction_figure(digit, output, membrane, model.classes_, model.dt)
        print(f"wrote {_save_png(figure, Path(args.raster))}")
    return 0


def _prediction_figure(digit: np.ndarray, output: np.ndarray, membrane, classes, dt: float):
    """The picture as the network sees it, the output raster, and the race of the spike counts (or, for a
    non-spiking read-out layer, its membrane potentials)."""
    import matplotlib.pyplot as plt

    from spikingnn.plotting import plot_membrane, plot_output_counts, plot_raster

    fig, (ax_digit, ax_raster, ax_counts) = plt.subplots(1, 3, figsize=(13, 3.6), width_ratios=[1, 2, 2],
                                                         layout="constrained")
    ax_digit.imshow(digit, cmap="gray", vmin=0, vmax=255)
    ax_digit.set_title("input (prepared, 28x28)")
    ax_digit.set_axis_off()
    plot_raster(output, dt=dt, ax=ax_raster, title="output neurons")
    ax_raster.set_yticks(range(len(classes)), [str(c) for c in classes])
    ax_raster.set_ylabel("output neuron (class)")
    if membrane is None:
        plot_output_counts(output, dt=dt, ax=ax_counts, class_names=classes)
    else:
        plot_membrane(membrane, dt=dt, labels=[str(c) for c in classes], ax=ax_counts)
        ax_counts.set_title("read-out membranes (the class scores)")
    return fig


# ------------------------------------------------------------------------------------------------ parser
def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="spikingnn", description="Train and use spiking neural networks.")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    from spikingnn.training.model import SNNClassifier

    default = SNNClassifier().get_params()          # the class's defaults, shown in --help
    train = commands.add_parser("train", help="train a spiking classifier on MNIST or Fashion-MNIST")
    train.add_argument("--dataset", choices=DATASETS, help="default mnist")
    train.add_argument("--hidden", type=int, nargs="+", metavar="N",
                       help=f"hidden layer sizes (default {' '.join(map(str, default['hidden']))})")
    train.add_argument("--steps", type=int, help=f"time steps per image, T (default {default['num_steps']})")
    train.add_argument("--encoding", help=f"rate, latency or current (default {default['encoding']})")
    train.add_argument("--epochs", type=int, help=f"total epochs to train to (default {default['epochs']})")
    train.add_argument("--batch-size", type=int, help=f"default {default['batch_size']}")
    train.add_argument("--lr", type=float, help=f"learning rate (default {default['lr']:g})")
    train.add_argument("--lr-schedule", choices=("constant", "step", "cosine"),
                       help=f"learning-rate schedule (default {default['lr_schedule'] or 'constant'})")
    train.add_argument("--loss", help=f"ce_count, ce_mem_max, ce_mem_mean or mse_count (default {default['loss']})")
    train.add_argument("--neuron", help=f"lif or alif (default {default['neuron']})")
    train.add_argument("--seed", type=int, help=f"random_state (default {default['random_state']})")
    train.add_argument("--limit", type=int, help="train on the first N images only (quick runs)")
    train.add_argument("--data-dir", help="folder holding the dataset's IDX files")
    train.add_argument("--out", required=True, help="run folder, e.g. runs/mnist")
    train.add_argument("--config", help="TOML file of options (flags override it)")
    train.add_argument("--resume", action="store_true", help="continue the run in --out from its checkpoint")
    train.set_defaults(run=cmd_train)

    evaluate = commands.add_parser("evaluate", help="test accuracy, confusion matrix, SynOps and energy")
    evaluate.add_argument("--model", required=True, help="a saved model, e.g. runs/mnist/model.npz")
    evaluate.add_argument("--dataset", choices=DATASETS, help="default: the run's dataset, else mnist")
    evaluate.add_argument("--data-dir", help="folder holding the dataset's IDX files")
    evaluate.add_argument("--limit", type=int, help="evaluate the first N test images only")
    evaluate.add_argument("--out", help="folder for confusion_matrix.png (default: the model's folder)")
    evaluate.set_defaults(run=cmd_evaluate)

    predict = commands.add_parser("predict", help="classify a picture of a digit")
    predict.add_argument("--model", required=True, help="a saved model, e.g. runs/mnist/model.npz")
    predict.add_argument("--image", required=True, help="any picture pillow reads (PNG, JPEG, ...)")
    predict.add_argument("--raster", help="also save the output raster to this PNG file")
    predict.set_defaults(run=cmd_predict)
    return parser


def main(argv=None) -> int:
    """Entry point of the ``spikingnn`` console script; returns the exit status."""
    args = build_parser().parse_args(argv)
    from spikingnn.plotting import use_backend

    use_backend(show=False)
    try:
        return args.run(args)
    except KeyboardInterrupt:
        print("\ninterrupted", file=sys.stderr)
        return 130
    except (ValueError, OSError) as exc:
        if os.environ.get("SPIKINGNN_DEBUG"):
            raise
        print(f"spikingnn {args.command}: error: {exc}", file=sys.stderr)
        return 2
