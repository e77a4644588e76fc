"""The ``spikingnn`` command: train a spiking classifier, evaluate it, and use it on your own pictures.

    spikingnn train --dataset mnist --hidden 100 --steps 25 --encoding rate --epochs 5 --out runs/mnist
    spikingnn train --out runs/mnist --resume                     # continue an interrupted run
    spikingnn evaluate --model runs/mnist                          # accuracy, confusion matrix, SynOps, energy
    spikingnn predict --model runs/mnist --image my_digit.png --raster raster.png
    spikingnn export --model runs/mnist --out mnist.nir            # to NIR, for snnTorch, Norse, chips
    spikingnn report runs/mnist                                    # runs/mnist/report.html, interactive
    spikingnn sweep examples/sweeps/headline_bptt.toml --out runs/headline   # seeds x settings on dask

(``python -m spikingnn ...`` is the same command; ``--model`` takes a model file, a NIR file (``.nir``, with
``--dt``, see ``spikingnn.nir``) or a run folder.) Every
option of ``train`` left out takes ``SNNClassifier``'s default, so ``spikingnn train --out DIR`` trains the
library's default recipe. ``--limit N`` trains on the first N training images; each epoch's validation uses
the whole test split, or its first ``--val-limit N`` images, or, with ``--holdout N``, the last N training images
(which the run does not train on: to choose hyper-parameters without the test set). A training run keeps everything
in its ``--out`` folder:

- ``config.json``: the options of the run (what ``--resume`` reads back);
- ``model.npz``: the checkpoint, rewritten atomically after every epoch and on Ctrl-C (``spikingnn.load``);
- ``metrics.csv``: one row per epoch: epoch, train_loss, train_accuracy, val_accuracy (measured on the test
  split, or the held-out images), seconds, images_per_second, lr, spike_rate_1 ... spike_rate_L (mean spikes per
  neuron per step of each layer, hidden layers first, the output layer last); :func:`read_metrics` reads it back;
- ``training_curves.png``: loss, accuracy and firing rate per epoch, drawn when the run ends or is interrupted.

``--config run.toml`` sets options from a TOML file (the flags' names, ``-`` or ``_``; e.g. ``hidden = [200]``,
``lr = 1e-3``); flags given on the command line override it. An optional ``[model]`` table passes further
keywords to ``SNNClassifier`` (e.g. ``beta = 0.9``, ``surrogate = "arctan"``). Config files (and a resumed
run's config.json) are checked key by key: unknown keys, wrong types and out-of-range values are refused.

Exit status: 0 done; 2 bad input (a flag's value, a missing or corrupt file, missing data), with one line on
stderr naming the flag or the config key, checked before the run folder is created; 130 after Ctrl-C (with a
checkpoint saved); 1 a bug in spikingnn, shown with its traceback (``SPIKINGNN_DEBUG=1`` shows the traceback
of bad input too), or, for ``sweep``, trials that failed (each recorded in its results.csv row).
"""
from __future__ import annotations

import argparse
import csv
import functools
import io
import json
import os
import sys
import textwrap
import traceback
from pathlib import Path

import numpy as np

from spikingnn._io import atomic_write
from spikingnn.datasets import ENV_VAR, DatasetNotFoundError, load_dataset

DATASETS = ("mnist", "fashion-mnist")
LR_SCHEDULES = ("constant", "step", "cosine")
# None: SNNClassifier's default (its tuned defaults: 784-100-10, T = 25, rate coding, 5 epochs, ...)
TRAIN_DEFAULTS = {"dataset": "mnist", "hidden": None, "arch": None, "steps": None, "encoding": None, "epochs": None,
                  "batch_size": None, "lr": None, "lr_schedule": None, "loss": None, "neuron": None, "seed": None,
                  "limit": None, "val_limit": None, "holdout": None, "data_dir": None}
# command-line option -> SNNClassifier keyword (the other options describe the data)
MODEL_KEYWORDS = {"hidden": "hidden", "arch": "arch", "steps": "num_steps", "encoding": "encoding", "epochs": "epochs",
                  "batch_size": "batch_size", "lr": "lr", "lr_schedule": "lr_schedule", "loss": "loss",
                  "neuron": "neuron", "seed": "random_state"}
DATA_KINDS = {"dataset": "a string", "limit": "an integer", "val_limit": "an integer", "holdout": "an integer",
              "data_dir": "a string"}
CHOICES = {"dataset": DATASETS, "lr_schedule": LR_SCHEDULES}
MINIMUM = {"limit": 1, "val_limit": 1, "holdout": 1}
DATA_DIR_HELP = (f"folder holding the dataset's IDX files (else ${ENV_VAR}/<dataset>, then the cache; see the "
                 f"README, How data is found)")
MODEL_HELP = "a saved model (.npz), a NIR graph (.nir) or a run folder, e.g. runs/mnist"
NIR_DT_HELP = "time step (ms) to run a .nir model with (default: the one in its metadata)"
ADDED_OPTIONS = ("arch", "holdout")        # options newer than the first run folders
RESUME_MAY_CHANGE = ("epochs", "val_limit", "data_dir")          # everything else must stay as the run began


# ------------------------------------------------------------------------------------------ small file helpers
def _write_text(path: Path, text: str) -> None:
    with atomic_write(path, "w") as handle:
        handle.write(text)


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
# Every option is checked before anything is written: its type (what a config file gives), its choices or
# smallest value, then SNNClassifier's own checks. ``where`` maps each option or [model] keyword the user set
# to where it was set, a flag (``--steps``) or a key of a file (``steps in run.toml``), which errors name.
def _is_int(value) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


KINDS = {"a boolean": lambda value: isinstance(value, bool),
         "an integer": _is_int,
         "a number": lambda value: _is_int(value) or isinstance(value, float),
         "a string": lambda value: isinstance(value, str),
         "a list of integers": lambda value: isinstance(value, list) and all(map(_is_int, value))}


def _kind(default) -> str:
    """What a config file must give for a keyword whose SNNClassifier default is ``default`` (None: a number,
    as for tau_mem and grad_clip)."""
    if isinstance(default, bool):
        return "a boolean"
    if isinstance(default, int):
        return "an integer"
    if isinstance(default, str):
        return "a string"
    return "a list of integers" if isinstance(default, (list, tuple)) else "a number"


def _model_defaults() -> dict:
    from spikingnn.training.model import SNNClassifier

    return SNNClassifier().get_params()


def _option_kinds() -> dict:
    defaults = _model_defaults()
    kinds = {key: _kind(defaults[keyword]) for key, keyword in MODEL_KEYWORDS.items()}
    return {**kinds, "arch": "a string", **DATA_KINDS}          # arch's default, None, says nothing of its kind


def _flag(key: str) -> str:
    return "--" + key.replace("_", "-")


def _check_value(key: str, value, kind: str, where: str, may_be_none: bool) -> None:
    """One option or keyword: its type, then its choices or smallest value; ValueError naming ``where``."""
    if value is None and may_be_none:
        return
    if not KINDS[kind](value):
        raise ValueError(f"{where} must be {kind}; got {value!r}")
    if key in CHOICES and value not in CHOICES[key]:
        raise ValueError(f"{where} must be one of {', '.join(CHOICES[key])}; got {value!r}")
    if key in MINIMUM and value < MINIMUM[key]:
        raise ValueError(f"{where} must be >= {MINIMUM[key]}; got {value!r}")


def _check_table(table: dict, path, prefix: str, complete: bool) -> tuple[dict, dict]:
    """The options of a config file (``-`` or ``_`` in their names), checked key by key; ``complete``: every
    option must be there (a run's config.json). Returns (options, where)."""
    if complete:                  # a run folder from before an option existed ran with that option's default
        table = {**{key: TRAIN_DEFAULTS[key] for key in ADDED_OPTIONS}, **table}
    spelled = {written.replace("-", "_"): written for written in table}
    options = {key: table[written] for key, written in spelled.items()}
    unknown = sorted(written for key, written in spelled.items() if key not in TRAIN_DEFAULTS)
    if unknown:
        raise ValueError(f"{path}: unknown option(s) {', '.join(prefix + key for key in unknown)}; known: "
                         f"{', '.join(TRAIN_DEFAULTS)} and a [model] table of SNNClassifier keywords")
    missing = [key for key in TRAIN_DEFAULTS if key not in options] if complete else []
    if missing:
        raise ValueError(f"{path} lacks {', '.join(prefix + key for key in missing)} (a damaged run folder?)")
    if isinstance(options.get("hidden"), int):
        options["hidden"] = [options["hidden"]]
    where = {key: f"{prefix}{written} in {path}" for key, written in spelled.items()}
    kinds = _option_kinds()
    for key, value in options.items():
        _check_value(key, value, kinds[key], where[key], may_be_none=complete and TRAIN_DEFAULTS[key] is None)
    return options, where


def _check_model_table(table, path) -> dict:
    """A ``model`` table of further SNNClassifier keywords, checked key by key; returns where each was set."""
    if not isinstance(table, dict):
        raise ValueError(f"model in {path} must be a table of SNNClassifier keywords; got {table!r}")
    defaults = _model_defaults()
    unknown = sorted(set(table) - set(defaults))
    if unknown:
        raise ValueError(f"{path}: unknown SNNClassifier keyword(s) {', '.join('model.' + k for k in unknown)}; "
                         f"known: {', '.join(k for k in defaults if k not in MODEL_KEYWORDS.values())}")
    overlap = sorted(set(table) & set(MODEL_KEYWORDS.values()))
    if overlap:
        raise ValueError(f"{path}: set {', '.join(overlap)} with the top-level options, not in [model]")
    where = {key: f"model.{key} in {path}" for key in table}
    for key, value in table.items():
        _check_value(key, value, _kind(defaults[key]), where[key], may_be_none=defaults[key] is None)
    return where


def _read_toml(path) -> tuple[dict, dict, dict]:
    """(options, [model] keywords, where) from a ``--config`` TOML file."""
    if sys.version_info >= (3, 11):
        import tomllib
    else:
        import tomli as tomllib
    try:
        with open(path, "rb") as handle:
            table = tomllib.load(handle)
    except OSError as exc:
        raise ValueError(f"--config {path}: {exc.strerror or exc}") from None
    except tomllib.TOMLDecodeError as exc:
        raise ValueError(f"--config {path} is not valid TOML ({exc})") from None
    model_keywords = table.pop("model", {})
    model_where = _check_model_table(model_keywords, path)
    options, where = _check_table(table, path, "", complete=False)
    return options, model_keywords, {**where, **model_where}


def _read_run_config(path: Path) -> tuple[dict, dict, dict]:
    """(options, model keywords, where) from a run folder's config.json, as ``spikingnn train`` wrote it."""
    try:
        saved = json.loads(path.read_text())
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise ValueError(f"{path} is not valid JSON ({exc}); a damaged run folder?") from None
    if not (isinstance(saved, dict) and set(saved) == {"options", "model"} and isinstance(saved["options"], dict)):
        raise ValueError(f"{path} must hold a JSON object with an 'options' and a 'model' object "
                         f"(a damaged run folder?); got {json.dumps(saved)[:80]}")
    model_where = _check_model_table(saved["model"], path)
    options, where = _check_table(saved["options"], path, "options.", complete=True)
    return options, saved["model"], {**where, **model_where}


def _train_options(args) -> tuple[dict, dict, dict]:
    """Resolve the run's (options, model keywords, where): defaults < TOML file < flags; on --resume, the
    run's own config.json, where the options hold the values the model was built with."""
    given = {key: value for key, value in vars(args).items() if key in TRAIN_DEFAULTS and value is not None}
    kinds = _option_kinds()
    for key, value in given.items():
        _check_value(key, value, kinds[key], _flag(key), may_be_none=False)
    flags = {key: _flag(key) for key in given}
    if not args.resume:
        from_file, model_keywords, where = _read_toml(args.config) if args.config else ({}, {}, {})
        return {**TRAIN_DEFAULTS, **from_file, **given}, model_keywords, {**where, **flags}
    if args.config:
        raise ValueError("--config cannot be combined with --resume: a resumed run keeps its own config.json")
    config_path = Path(args.out) / "config.json"
    if not config_path.is_file():
        raise ValueError(f"nothing to resume in --out {args.out}: {config_path} does not exist")
    options, model_keywords, where = _read_run_config(config_path)
    changed = sorted(_flag(key) for key, value in given.items()
                     if key not in RESUME_MAY_CHANGE and value != options[key])
    if changed:
        raise ValueError(f"cannot change {', '.join(changed)} when resuming {args.out} "
                         f"(only {', '.join(map(_flag, RESUME_MAY_CHANGE))} may change)")
    options.update({key: given[key] for key in RESUME_MAY_CHANGE if key in given})
    return options, model_keywords, {**where, **{key: flags[key] for key in RESUME_MAY_CHANGE if key in given}}


def _rename(message: str, where: dict) -> str:
    """``message`` with the internal name it begins with (``num_steps must be ...``) replaced by where that value
    was set (``--steps must be ...``)."""
    for name in sorted(where, key=len, reverse=True):
        if message.startswith(name + " "):
            return where[name] + message[len(name):]
    return message


def _build_model(options: dict, model_keywords: dict):
    from spikingnn.training.model import SNNClassifier

    keywords = {MODEL_KEYWORDS[key]: options[key] for key in MODEL_KEYWORDS if options.get(key) is not None}
    if "hidden" in keywords:
        keywords["hidden"] = tuple(keywords["hidden"])
    if keywords.get("lr_schedule") == "constant":
        keywords["lr_schedule"] = None
    return SNNClassifier(**model_keywords, **keywords)


def _check_hyperparameters(model, where: dict) -> None:
    """SNNClassifier's own checks (those ``fit`` makes first), with a wrong value named by where it was set."""
    from spikingnn.training import hyperparams
    from spikingnn.training.arch import parse_arch

    params = model.get_params()
    try:
        stages = parse_arch(params["arch"]) if params["arch"] is not None else ()
        hyperparams.build(params, (1, *hyperparams.hidden_sizes(params["hidden"]), 2), stages)
    except ValueError as exc:
        keyword_where = {MODEL_KEYWORDS.get(key, key): place for key, place in where.items()}
        raise ValueError(_rename(str(exc), keyword_where)) from None


def _effective_options(options: dict, model) -> dict:
    """``options`` with each model option left unset (None) filled in with the value the model uses."""
    params = model.get_params()
    return {key: params[MODEL_KEYWORDS[key]] if value is None and key in MODEL_KEYWORDS else value
            for key, value in options.items()}


def _load_split(dataset: str, split: str, data_dir, where: dict):
    """Images and labels of one split; a missing dataset or data folder is one line naming the flag."""
    try:
        return load_dataset(dataset, split, data_dir)
    except DatasetNotFoundError as exc:
        raise ValueError(f"{exc.name} not found in {', '.join(map(str, exc.searched))}. {exc.reason} Pass "
                         f"--data-dir FOLDER holding its four IDX files, or set {ENV_VAR}=FOLDER with them in "
                         f"FOLDER/{exc.name}/") from None
    except FileNotFoundError as exc:          # a data_dir that is not a folder
        raise ValueError(_rename(str(exc), where)) from None


def _training_data(options: dict, where: dict) -> tuple:
    """((X, y), (X_val, y_val)) of a training run: the first ``limit`` training images, and each epoch's validation
    images, the first ``val_limit`` of the test split or, with ``holdout`` N, of the last N training images, which
    the run then never trains on: a validation split for choosing hyper-parameters without the test set."""
    X, y = _load_split(options["dataset"], "train", options["data_dir"], where)
    holdout = options["holdout"]
    if holdout is None:
        X_val, y_val = _load_split(options["dataset"], "test", options["data_dir"], where)
    elif holdout >= len(y):
        raise ValueError(f"{where.get('holdout', 'holdout')} must be below the {len(y)} training images; "
                         f"got {holdout}")
    else:
        X, y, X_val, y_val = X[:-holdout], y[:-holdout], X[-holdout:], y[-holdout:]
    return (X[:options["limit"]], y[:options["limit"]]), (X_val[:options["val_limit"]], y_val[:options["val_limit"]])


def _check_out_folder(path, flag: str) -> Path:
    path = Path(path)
    if path.exists() and not path.is_dir():
        raise ValueError(f"{flag} {path} is a file; it must be a folder (it is created if missing)")
    return path


def _model_file(given) -> Path:
    """``--model``: a model file, or a run folder holding model.npz."""
    path = Path(given)
    if path.is_dir():
        path = path / "model.npz"
        if not path.is_file():
            raise ValueError(f"--model {given} is a folder without a model.npz")
    elif not path.is_file():
        raise ValueError(f"--model {given}: no such file")
    return path


def _check_dt(dt) -> None:
    if dt is not None and not (np.isfinite(dt) and dt > 0):
        raise ValueError(f"--dt must be a time step > 0 ms; got {dt!r}")


def _load_model(path: Path, flag: str, dt=None):
    """A saved model, or a NIR graph (``.nir``) imported with time step ``dt`` ms (default: its metadata's)."""
    from spikingnn.serialization import load

    try:
        if path.suffix == ".nir":
            from spikingnn.nir import from_nir

            return from_nir(path, dt)
        return load(path)
    except (ValueError, OSError, ImportError) as exc:     # ImportError: the optional nir package is missing
        raise ValueError(f"{flag}: {exc}") from None


# ---------------------------------------------------------------------------------------------- commands
def cmd_train(args) -> int:
    from spikingnn.serialization import save

    out = _check_out_folder(args.out, "--out")
    checkpoint = out / "model.npz"
    options, model_keywords, where = _train_options(args)
    if args.resume:
        if not checkpoint.is_file():
            raise ValueError(f"nothing to resume in --out {out}: the run stopped before its first checkpoint "
                             f"({checkpoint}); start it again without --resume")
        model = _load_model(checkpoint, "--out")
    elif checkpoint.exists():
        raise ValueError(f"{out} already holds a model ({checkpoint}); add --resume to continue it, "
                         f"or choose another --out")
    else:
        model = _build_model(options, model_keywords)
    options = _effective_options(options, model)
    model.epochs = options["epochs"]                 # --resume --epochs N extends the run (and its lr schedule)
    _check_hyperparameters(model, where)
    (X, y), (X_val, y_val) = _training_data(options, where)
    # everything is checked: only now does the run folder appear
    if args.resume:
        print(f"resuming {checkpoint}: {model.epoch_} epoch(s) done, {model.batch_in_epoch_} batch(es) into the next")
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
    checked_on = "test" if options["holdout"] is None else "held-out"
    summary = f"{checked_on} accuracy {accuracy:.2%} ({len(y_val)} images); " if accuracy is not None else ""
    _plot_history(model, out)
    print(f"done: {model.epoch_} epoch(s); {summary}model saved to {checkpoint}")
    if args.report:
        from spikingnn.report import write_report

        print(f"wrote {write_report(out, data_dir=options['data_dir'])}")
    return 0


def _plot_history(model, out: Path) -> None:
    """Draw training_curves.png from the model's whole history (at the end of a run: drawing takes ~1 s)."""
    if model.history_:
        from spikingnn.plotting import plot_training_curves

        figure = plot_training_curves(model.history_, loss=model.loss)
        print(f"wrote {_save_png(figure, out / 'training_curves.png')}")


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

    model_path = _model_file(args.model)
    out = _check_out_folder(args.out or model_path.parent, "--out")
    _check_value("limit", args.limit, "an integer", "--limit", may_be_none=True)
    _check_dt(args.dt)
    model = _load_model(model_path, "--model", args.dt)
    run_config = model_path.parent / "config.json"
    run_options, _, run_where = _read_run_config(run_config) if run_config.is_file() else ({}, {}, {})
    dataset = args.dataset or run_options.get("dataset", "mnist")
    data_dir, where = ((args.data_dir, {"data_dir": "--data-dir"}) if args.data_dir
                       else (run_options.get("data_dir"), run_where))
    X, y = _load_split(dataset, "test", data_dir, where)
    X, y = X[:args.limit], y[:args.limit]
    predictions = model.predict(X)
    cm = confusion_matrix(y, predictions, model.classes_)
    per_class = np.diag(cm) / np.maximum(cm.sum(axis=1), 1)
    accuracy = float(np.trace(cm) / cm.sum())
    cost = energy.measure(model, X)
    print(f"{dataset} test set, {len(y)} images: accuracy {accuracy:.2%}")
    print("per-class accuracy: " + ", ".join(f"{c}: {a:.1%}" for c, a in zip(model.classes_, per_class)))
    print(energy.describe(cost))
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

    model_path = _model_file(args.model)
    if args.raster and Path(args.raster).is_dir():
        raise ValueError(f"--raster {args.raster} is a folder; give the name of the PNG file to write")
    _check_dt(args.dt)
    try:
        digit = prepare_digit(args.image)
    except (ValueError, OSError) as exc:      # not a picture, a folder, too large, no ink, ...
        raise ValueError(f"--image: {exc}") from None
    model = _load_model(model_path, "--model", args.dt)
    record = model.record(digit[None])          # same spikes as predict: inference encoding is seeded per batch
    predicted = model.predict(digit[None])[0]
    from spikingnn.training.losses import output_scores
    from spikingnn.viz.classifier import plot_prediction, readout

    output, membrane = np.asarray(record.spikes[-1])[:, 0, :], np.asarray(record.v[-1])[:, 0, :]   # (T, classes)
    kind = readout(model.loss)              # spike counts, or a non-spiking read-out's membrane scores
    scores = output_scores(model.loss, output[:, None], membrane[:, None])[0]
    print(f"predicted class: {predicted}")
    print(f"output {kind.score_name}s over {output.shape[0]} steps:" if kind.spiking
          else f"output layer: non-spiking read-out; its scores, the {kind.score_name}:")
    for label, score in zip(model.classes_, scores):
        value = f"{int(score):3d}" if kind.spiking else f"{score:7.3f}"
        print(f"  {label}: {value}{'  <- predicted' if label == predicted else ''}")
    if args.raster:
        figure = plot_prediction(digit, output, membrane, loss=model.loss, dt=model.dt, class_names=model.classes_)
        print(f"wrote {_save_png(figure, Path(args.raster))}")
    return 0


def cmd_export(args) -> int:
    model_path, out = _model_file(args.model), Path(args.out)
    if out.is_dir():
        raise ValueError(f"--out {out} is a folder; give the name of the .nir file to write")
    _check_dt(args.dt)
    model = _load_model(model_path, "--model")
    try:
        from spikingnn.nir import to_nir, write

        graph = to_nir(model, dt=args.dt, integrator=args.integrator)
    except (ValueError, ImportError) as exc:         # an ALIF model, a leak without a time constant; no nir
        raise ValueError(f"--model {model_path}: {exc}") from None
    write(graph, out)
    print(f"wrote {out}: {'-'.join(map(str, model.layer_sizes_))}, dt = {graph.metadata['dt'] * 1000:g} ms, "
          f"{args.integrator} integration, reset {model.reset}")
    return 0


# ------------------------------------------------------------------------------------------------ parser
class _Parser(argparse.ArgumentParser):
    """argparse with its usage errors on one line, as every other error of the command (exit status 2)."""

    def error(self, message):
        self.exit(2, f"{self.prog}: error: {message} (see {self.prog} --help)\n")


def _subcommand(commands, name: str, summary: str, description: str, examples: str):
    # the description is wrapped here, the examples are kept line by line as written
    return commands.add_parser(name, help=summary, description=textwrap.fill(description, 100),
                               epilog="examples:\n" + examples,
                               formatter_class=argparse.RawDescriptionHelpFormatter)


def build_parser() -> argparse.ArgumentParser:
    from spikingnn import __version__
    from spikingnn.training.model import SNNClassifier

    parser = _Parser(prog="spikingnn", description="Train and use spiking neural networks "
                     "(spikingnn COMMAND --help describes each command).",
                     epilog="examples:\n" + "\n".join(__doc__.splitlines()[2:6]) if __doc__ else None,
                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    default = SNNClassifier().get_params()          # the class's defaults, shown in --help
    train = _subcommand(
        commands, "train", "train a spiking classifier on MNIST or Fashion-MNIST",
        "Train a spiking classifier by surrogate-gradient BPTT. Every option left out takes SNNClassifier's "
        "default, so `spikingnn train --out DIR` trains the library's default recipe. The run folder --out "
        "receives config.json, model.npz (after every epoch), metrics.csv and training_curves.png.",
        "  spikingnn train --out runs/mnist\n"
        "  spikingnn train --dataset fashion-mnist --hidden 200 --epochs 10 --out runs/fashion\n"
        "  spikingnn train --arch 12C5-MP2-64C5-MP2-FC10 --encoding current --steps 10 --out runs/conv\n"
        "  spikingnn train --out runs/quick --limit 2000 --val-limit 500 --epochs 1\n"
        "  spikingnn train --config run.toml --out runs/mnist      # options from a TOML file\n"
        "  spikingnn train --out runs/mnist --resume --epochs 8    # continue (or extend) a run")
    train.add_argument("--dataset", choices=DATASETS, help="default mnist")
    train.add_argument("--hidden", type=int, nargs="+", metavar="N",
                       help=f"hidden layer sizes (default {' '.join(map(str, default['hidden']))})")
    train.add_argument("--arch", help="convolutional and dense layers instead of --hidden, e.g. 12C5-MP2-64C5-MP2-FC10 "
                       "(filters C size, MP/AP/SP pooling, FC width; the last FC is the output layer)")
    train.add_argument("--steps", type=int, help=f"time steps per image, T (default {default['num_steps']})")
    train.add_argument("--encoding", help=f"rate, latency or current (default {default['encoding']})")
    train.add_argument("--epochs", type=int, help=f"total epochs to train to (default {default['epochs']})")
    train.add_argument("--batch-size", type=int, help=f"default {default['batch_size']}")
    train.add_argument("--lr", type=float, help=f"learning rate (default {default['lr']:g})")
    train.add_argument("--lr-schedule", choices=LR_SCHEDULES,
                       help=f"learning-rate schedule (default {default['lr_schedule'] or 'constant'})")
    train.add_argument("--loss", help=f"ce_count, ce_mem_max, ce_mem_mean or mse_count (default {default['loss']})")
    train.add_argument("--neuron", help=f"lif or alif (default {default['neuron']})")
    train.add_argument("--seed", type=int, help=f"random_state, >= 0 (default {default['random_state']})")
    train.add_argument("--limit", type=int, metavar="N", help="train on the first N training images only "
                       "(quick runs; the test images are not cut, see --val-limit)")
    train.add_argument("--val-limit", type=int, metavar="N",
                       help="measure each epoch's val_accuracy on the first N test images only (default: all)")
    train.add_argument("--holdout", type=int, metavar="N",
                       help="validate on the last N training images instead of the test images, and train on the "
                            "others (to choose hyper-parameters without the test set)")
    train.add_argument("--data-dir", help=DATA_DIR_HELP)
    train.add_argument("--out", required=True, help="run folder, e.g. runs/mnist")
    train.add_argument("--config", help="TOML file of options (flags override it)")
    train.add_argument("--resume", action="store_true", help="continue the run in --out from its checkpoint")
    train.add_argument("--report", action="store_true",
                       help="also write OUT/report.html, the interactive report of the run (needs plotly: pip install "
                            "spikingnn[report])")
    train.set_defaults(run=cmd_train)

    evaluate = _subcommand(
        commands, "evaluate", "test accuracy, confusion matrix, SynOps and energy",
        "Evaluate a saved model on the test split: accuracy per class, confusion_matrix.png, synaptic "
        "operations and an energy estimate, and evaluation.json with every number. The dataset and data "
        "folder default to those of the model's run.",
        "  spikingnn evaluate --model runs/mnist\n"
        "  spikingnn evaluate --model runs/mnist/model.npz --limit 1000 --out reports/")
    evaluate.add_argument("--model", required=True, help=MODEL_HELP)
    evaluate.add_argument("--dataset", choices=DATASETS, help="default: the run's dataset, else mnist")
    evaluate.add_argument("--data-dir", help=DATA_DIR_HELP + "; default: the run's")
    evaluate.add_argument("--limit", type=int, metavar="N", help="evaluate the first N test images only")
    evaluate.add_argument("--out", help="folder for confusion_matrix.png (default: the model's folder)")
    evaluate.add_argument("--dt", type=float, metavar="MS", help=NIR_DT_HELP)
    evaluate.set_defaults(run=cmd_evaluate)

    predict = _subcommand(
        commands, "predict", "classify a picture of a digit",
        "Classify your own picture: it is brought to MNIST's format (spikingnn.preprocess.prepare_digit: "
        "ink bright on black, 20 px box, centred by mass in 28x28), then the output neurons' spike counts "
        "(or read-out membranes) are printed for every class.",
        "  spikingnn predict --model runs/mnist --image my_digit.jpg\n"
        "  spikingnn predict --model runs/mnist/model.npz --image seven.png --raster raster.png")
    predict.add_argument("--model", required=True, help=MODEL_HELP)
    predict.add_argument("--image", required=True, help="any picture pillow reads (PNG, JPEG, ...)")
    predict.add_argument("--raster", help="also save the output raster to this PNG file")
    predict.add_argument("--dt", type=float, metavar="MS", help=NIR_DT_HELP)
    predict.set_defaults(run=cmd_predict)

    export = _subcommand(
        commands, "export", "write a model as a NIR graph (snnTorch, Norse, neuromorphic chips)",
        "Export a saved model to NIR, the Neuromorphic Intermediate Representation (needs `pip install "
        "spikingnn[nir]`): each layer becomes the continuous LIF (or LI read-out) whose step of --dt ms is the "
        "trained layer, with exact integration, or forward Euler for importers that step with it (snnTorch, "
        "Norse). See spikingnn.nir and the README's Interoperability section.",
        "  spikingnn export --model runs/mnist --out mnist.nir\n"
        "  spikingnn export --model runs/mnist/model.npz --out mnist_euler.nir --dt 0.1 --integrator euler")
    export.add_argument("--model", required=True, help=MODEL_HELP)
    export.add_argument("--out", required=True, help="the NIR file to write, e.g. mnist.nir")
    export.add_argument("--dt", type=float, metavar="MS", help="the time step of one layer update, ms (default: "
                        "the model's dt); the graph's time constants are in seconds")
    export.add_argument("--integrator", choices=("exact", "euler"), default="exact",
                        help="the step the importer will take (default exact)")
    export.set_defaults(run=cmd_export)
    from spikingnn import report, sweep  # imported here: they use this module's helpers

    for module in (report, sweep):
        module.add_command(commands, functools.partial(_subcommand, commands))
    return parser


def main(argv=None) -> int:
    """Entry point of the ``spikingnn`` console script; returns the exit status: 0 done, 2 bad input (one
    line on stderr naming the flag), 130 interrupted, 1 a bug (its traceback, and a line saying so)."""
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
        # some messages (a failed download's list of mirrors) span lines: a user error is one line
        print(f"spikingnn {args.command}: error: {' '.join(str(exc).split())}", file=sys.stderr)
        return 2
    except Exception:
        from spikingnn import __version__

        traceback.print_exc()
        print(f"spikingnn {args.command}: internal error: this is a bug in spikingnn {__version__}, not a "
              f"problem with your input; please report it on the spikingnn issue tracker with the command you "
              f"ran and the traceback above", file=sys.stderr)
        return 1
