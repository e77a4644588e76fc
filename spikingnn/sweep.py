"""Sweeps: many trainings, a grid or a random search over options times a list of seeds, as tasks on dask.distributed.

    spikingnn sweep examples/sweeps/headline_bptt.toml --out runs/headline   # a local cluster, a worker per core
    spikingnn sweep lr.toml --workers 2 --out runs/lr                         # 2 worker processes
    spikingnn sweep lr.toml --scheduler tcp://10.0.0.5:8786 --out /shared/lr  # your own cluster

A *sweep file* (TOML) says what to run::

    kind = "train"                 # "train": SNNClassifier through `spikingnn train`'s options (the default);
                                   # "diehl_cook": the network of examples/stdp_mnist.py
    seeds = [0, 1, 2]              # every setting runs once per seed (random_state, or the network's seed)
    metric = "val_accuracy"        # optional: the column the summary and the plot show (default: the first metric)

    [base]                         # options every trial shares: `spikingnn train --config`'s keys (no seed),
    epochs = 5                     # [base.model] for SNNClassifier keywords; for diehl_cook, see DIEHL_COOK_OPTIONS
    [grid]                         # each key a list of values; every combination is a setting
    dataset = ["mnist", "fashion-mnist"]
    model.beta = [0.9, 0.95]
    [random]                       # optional random search: `samples` draws (seeded by `seed`), each crossed with
    samples = 8                    # the grid; each key one of {choice = [...]}, {uniform = [lo, hi]},
    lr = {log_uniform = [1e-4, 1e-2]}   # {log_uniform = [lo, hi]}, {int_uniform = [lo, hi]} (both ends included)

Every value is checked (type, range, SNNClassifier's or DiehlCookParams' own checks) before anything runs; a bad
sweep file is one ValueError naming the key, its section and the file.

Each trial is one task. Without a scheduler a ``LocalCluster`` of worker processes (one task at a time each) is
started and stopped here; with ``scheduler`` the trials go to that cluster, whose workers must see the same
``out`` folder (a shared file system) and the data (``SPIKINGNN_DATA`` or ``data_dir``). Nothing here pools
workers itself.

What ``out`` receives:

- ``trials/<id>/``: one run folder per trial, ``<id>`` a hash of its kind, options and seed. A ``train`` trial
  writes what ``spikingnn train`` writes (``config.json``, ``model.npz`` after every epoch, ``metrics.csv``;
  ``spikingnn evaluate --model`` and ``spikingnn train --resume`` work on it); a ``diehl_cook`` trial writes
  ``checkpoint.npz`` (every 5,000 images), then ``network.npz`` and ``results.json`` as examples/stdp_mnist.py;
- ``results.csv``: one row per trial (id, setting, the varied parameters, seed, status, metrics, seconds of wall
  time, worker, threads, folder, error), rewritten atomically as each trial finishes;
- ``summary.csv`` and ``sweep.png``: per setting, the metrics' mean, sample standard deviation (ddof = 1), min and
  max over the seeds that succeeded; the plot shows each seed's value and the mean +- std.

Resuming: running the same sweep again skips the trials ``results.csv`` records as ``ok`` (matched by id, so
adding values to a grid keeps what was done) and runs the others; an unfinished trial continues from its last
checkpoint. Ctrl-C cancels the running tasks, keeps what has finished and prints the command to resume: a local
cluster's workers are stopped; on your own cluster a running ``train`` trial stops within a few seconds, saving
its checkpoint, while a running ``diehl_cook`` trial runs on to its end (DiehlCookNetwork.train has no stop hook).
A trial that raises is recorded with status ``error`` and its message, and the other trials go on; the next run
tries it again.

From Python, ``run_sweep("my.toml", "runs/my")`` returns a :class:`SweepResult` (the rows and the summary); in a
script, call it under ``if __name__ == "__main__":``, since the local workers are spawned processes that import
the script again.

Threads: each trial sets its Numba and BLAS threads to max(1, cores // task slots), the cores of its machine
shared by every task that machine's workers run at once, so workers x threads never exceeds the cores (2 cores,
2 workers: 1 thread each; 1 worker: 2 threads). Results do not depend on it: the kernels sum in a fixed order
whatever the thread count (``spikingnn.kernels``), so the same trial gives the same metrics on any worker.
Start your own workers with ``--nthreads 1`` (Numba's default threading layer runs one parallel kernel per
process at a time); use ``--nworkers`` for more processes.
"""
from __future__ import annotations

import contextlib
import csv
import dataclasses
import hashlib
import io
import itertools
import json
import logging
import os
import signal
import sys
import threading
import time
import uuid
from pathlib import Path

import numpy as np

from spikingnn import cli

KINDS = ("train", "diehl_cook")
SECTIONS = ("kind", "seeds", "metric", "base", "grid", "random")
# the columns each kind of trial reports; the first is the default metric of the summary and the plot
METRICS = {"train": ("val_accuracy", "train_accuracy", "train_loss", "epochs"),
           "diehl_cook": ("test_accuracy", "test_accuracy_frozen_labels", "test_accuracy_training_labels_proportions",
                          "test_accuracy_frozen_labels_proportions", "images_per_second")}
DISTRIBUTIONS = ("choice", "uniform", "log_uniform", "int_uniform")
# options of a diehl_cook trial besides DiehlCookParams' fields, with examples/stdp_mnist.py's defaults;
# max_rate (a field) also sets rate_boost to half of it unless rate_boost is given, as the example's --max-rate
DIEHL_COOK_OPTIONS = {"n_neurons": 100, "train_images": 60_000, "label_images": 10_000, "labelling": "training",
                      "test_images": 10_000, "paper_params": False, "backend": "numba", "data_dir": None,
                      "checkpoint_every": 5_000}
DIEHL_COOK_KINDS = {"n_neurons": "an integer", "train_images": "an integer", "label_images": "an integer",
                    "labelling": "a string", "test_images": "an integer", "paper_params": "a boolean",
                    "backend": "a string", "data_dir": "a string", "checkpoint_every": "an integer"}
STOP_POLL_SECONDS = 2.0       # how often a training trial asks whether the sweep was cancelled
CONNECT_SECONDS = 20          # to reach a --scheduler, and then for its first worker to be there
HEARTBEAT_SECONDS = 300       # a progress line when no trial has finished for this long


class Stopped(Exception):
    """The sweep was cancelled while this trial ran (its checkpoint is saved)."""


@dataclasses.dataclass(frozen=True)
class Trial:
    """One training: ``options`` (a kind's options), ``model`` (SNNClassifier keywords, train only), ``seed``;
    ``params`` the values of the swept parameters (column name -> value) and ``setting`` their index."""

    kind: str
    setting: int
    params: dict
    options: dict
    model: dict
    seed: int

    @property
    def id(self) -> str:
        """A name that changes whenever anything the trial computes could change (its folder, its row's key)."""
        text = json.dumps([self.kind, self.options, self.model, self.seed], sort_keys=True)
        return hashlib.sha1(text.encode()).hexdigest()[:12]


@dataclasses.dataclass(frozen=True)
class Sweep:
    name: str                 # where it came from (a file name), for messages
    kind: str
    seeds: list
    metric: str
    param_names: list         # the swept parameters, in the order of the file
    trials: list              # setting by setting, seed by seed


@dataclasses.dataclass
class SweepResult:
    """What :func:`run_sweep` returns: ``rows`` as in results.csv (typed: numbers, lists), ``summary`` as in
    summary.csv, ``out`` the folder and ``metric`` the summarised column."""

    rows: list
    summary: list
    out: Path
    metric: str

    def markdown(self) -> str:
        """The summary as a Markdown table: each setting's metric as mean +- std over its seeds, with n."""
        scale, unit = (100.0, " %") if self.metric.endswith("accuracy") else (1.0, "")
        names = [key for key in self.summary[0] if key not in _SUMMARY_STATS] if self.summary else []
        lines = ["| " + " | ".join([*names, f"{self.metric} (mean +- std)", "seeds", "failed", "seconds"]) + " |",
                 "|" + "---|" * (len(names) + 4)]
        for entry in self.summary:
            mean, std = entry["mean"], entry["std"]
            value = ("-" if mean is None else f"{scale * mean:.2f}" +
                     ("" if std is None else f" +- {scale * std:.2f}") + unit)
            seconds = "-" if entry["seconds"] is None else f"{entry['seconds']:.0f}"
            cells = [_cell(entry[name]) for name in names] + [value, str(entry["n"]), str(entry["failed"]), seconds]
            lines.append("| " + " | ".join(cells) + " |")
        return "\n".join(lines)


_SUMMARY_STATS = ("mean", "std", "min", "max", "n", "failed", "seconds")


def _cell(value) -> str:
    return json.dumps(value) if isinstance(value, (list, bool)) or value is None else str(value)


# --------------------------------------------------------------------------------------- reading a sweep file
def _read_file(path) -> dict:
    if sys.version_info >= (3, 11):
        import tomllib
    else:
        import tomli as tomllib
    try:
        with open(path, "rb") as handle:
            return tomllib.load(handle)
    except OSError as exc:
        raise ValueError(f"sweep file {path}: {exc.strerror or exc}") from None
    except tomllib.TOMLDecodeError as exc:
        raise ValueError(f"sweep file {path} is not valid TOML ({exc})") from None


def _flatten(table: dict, section: str, name: str) -> dict:
    """A section's keys by column name: ``model.beta`` for the [model] sub-table's SNNClassifier keywords."""
    if not isinstance(table, dict):
        raise ValueError(f"[{section}] in {name} must be a table; got {table!r}")
    flat = {key: value for key, value in table.items() if key != "model"}
    model = table.get("model", {})
    if not isinstance(model, dict):
        raise ValueError(f"{section}.model in {name} must be a table of SNNClassifier keywords; got {model!r}")
    flat.update({f"model.{key}": value for key, value in model.items()})
    return flat


def _check_train(values: dict, section: str, name: str) -> dict:
    """``values`` (column -> one value) of a train sweep, checked as `spikingnn train --config` checks its
    file; returns them normalised (``hidden = 100`` -> [100])."""
    options = {key: value for key, value in values.items() if not key.startswith("model.")}
    model = {key[len("model."):]: value for key, value in values.items() if key.startswith("model.")}
    if "seed" in options:
        raise ValueError(f"seed in {name} [{section}]: give the seeds as the top-level list `seeds = [...]`")
    where = f"{name} [{section}]"
    cli._check_model_table(model, where)
    options, _ = cli._check_table(options, where, "", complete=False)
    return {**options, **{f"model.{key}": value for key, value in model.items()}}


def _diehl_cook_kinds() -> dict:
    from spikingnn.diehl_cook import DiehlCookParams

    fields = {field.name: cli._kind(field.default) for field in dataclasses.fields(DiehlCookParams)}
    return {**DIEHL_COOK_KINDS, **fields}


def _check_diehl_cook(values: dict, section: str, name: str) -> dict:
    from spikingnn.diehl_cook import BACKENDS

    kinds = _diehl_cook_kinds()
    unknown = sorted(set(values) - set(kinds))
    if unknown:
        raise ValueError(f"{name} [{section}]: unknown option(s) {', '.join(unknown)}; known: "
                         f"{', '.join(DIEHL_COOK_OPTIONS)} and the DiehlCookParams fields "
                         f"{', '.join(key for key in kinds if key not in DIEHL_COOK_KINDS)}")
    for key, value in values.items():
        where = f"{key} in {name} [{section}]"
        cli._check_value(key, value, kinds[key], where, may_be_none=False)
        if key == "backend" and value not in BACKENDS:
            raise ValueError(f"{where} must be one of {', '.join(BACKENDS)}; got {value!r}")
        if key in DIEHL_COOK_KINDS and kinds[key] == "an integer" and value < 1:
            raise ValueError(f"{where} must be >= 1; got {value!r}")
    return dict(values)


CHECKS = {"train": _check_train, "diehl_cook": _check_diehl_cook}


def _grid_points(grid: dict, kind: str, name: str) -> list:
    columns = _flatten(grid, "grid", name)
    for column, values in columns.items():
        if not isinstance(values, list) or not values:
            raise ValueError(f"{column} in {name} [grid] must be a non-empty list of values; got {values!r}")
        checked = [CHECKS[kind]({column: value}, "grid", name)[column] for value in values]
        if len({json.dumps(value) for value in checked}) < len(checked):
            raise ValueError(f"{column} in {name} [grid] lists a value twice: {values!r}")
        columns[column] = checked
    return [dict(zip(columns, combination)) for combination in itertools.product(*columns.values())]


def _draw(column: str, spec, rng, name: str):
    where = f"{column} in {name} [random]"
    if not (isinstance(spec, dict) and len(spec) == 1 and next(iter(spec)) in DISTRIBUTIONS):
        raise ValueError(f"{where} must be one of {{choice = [...]}}, {{uniform = [lo, hi]}}, "
                         f"{{log_uniform = [lo, hi]}}, {{int_uniform = [lo, hi]}}; got {spec!r}")
    (distribution, arguments), = spec.items()
    if distribution == "choice":
        if not isinstance(arguments, list) or not arguments:
            raise ValueError(f"{where}: choice must be a non-empty list; got {arguments!r}")
        return arguments[rng.integers(len(arguments))]
    integer = distribution == "int_uniform"
    kind = "an integer" if integer else "a number"
    if not (isinstance(arguments, list) and len(arguments) == 2 and all(cli.KINDS[kind](a) for a in arguments)
            and arguments[0] < arguments[1] and (distribution != "log_uniform" or arguments[0] > 0)):
        low = "0 < " if distribution == "log_uniform" else ""
        raise ValueError(f"{where}: {distribution} must be [lo, hi], {kind[2:]}s with {low}lo < hi; "
                         f"got {arguments!r}")
    low, high = arguments
    if integer:
        return int(rng.integers(low, high + 1))
    if distribution == "log_uniform":
        return float(np.exp(rng.uniform(np.log(low), np.log(high))))
    return float(rng.uniform(low, high))


def _random_points(random: dict, kind: str, name: str) -> list:
    columns = _flatten(random, "random", name)
    samples, seed = columns.pop("samples", None), columns.pop("seed", 0)
    if not (cli._is_int(samples) and samples >= 1):
        raise ValueError(f"samples in {name} [random] must be an integer >= 1 (the number of draws); got {samples!r}")
    if not (cli._is_int(seed) and seed >= 0):
        raise ValueError(f"seed in {name} [random] must be an integer >= 0; got {seed!r}")
    if not columns:
        raise ValueError(f"{name} [random] has nothing to draw: add keys such as lr = {{log_uniform = [1e-4, 1e-2]}}")
    for column, spec in columns.items():        # every choice checked, not only those drawn
        choices = spec.get("choice") if isinstance(spec, dict) else None
        for value in choices if isinstance(choices, list) else []:
            CHECKS[kind]({column: value}, "random", name)
    rng = np.random.default_rng(seed)
    points = []
    for _ in range(samples):
        drawn = {column: _draw(column, spec, rng, name) for column, spec in columns.items()}
        points.append(CHECKS[kind](drawn, "random", name))
    return points


def _check_setting(kind: str, values: dict, where: dict, seed: int, name: str) -> None:
    """The whole setting through the library's own range checks (SNNClassifier's, DiehlCookParams'), so that a
    value out of range is refused before anything runs; ``where`` names the section each key came from."""
    if kind == "train":
        trial = _make_trial(kind, 0, values, {}, seed)
        options = {**cli.TRAIN_DEFAULTS, **trial.options}
        placed = {key: f"{key} in {name} [{where[key]}]" for key in trial.options if key in where}
        placed.update({key: f"model.{key} in {name} [{where['model.' + key]}]" for key in trial.model})
        placed["seed"] = f"a seed in {name} (seeds)"
        cli._check_hyperparameters(cli._build_model(options, trial.model), placed)
        return
    try:
        _diehl_cook_params(values)
    except ValueError as exc:
        raise ValueError(cli._rename(str(exc), {key: f"{key} in {name} [{where[key]}]" for key in where})) from None


def _make_trial(kind: str, setting: int, values: dict, params: dict, seed: int) -> Trial:
    options = {key: value for key, value in values.items() if not key.startswith("model.")}
    model = {key[len("model."):]: value for key, value in values.items() if key.startswith("model.")}
    return Trial(kind, setting, params, options, model, seed)


def load_sweep(spec) -> Sweep:
    """A sweep file (a path) or the same structure as a dict, checked and expanded into its trials."""
    name = str(spec) if isinstance(spec, (str, os.PathLike)) else "the sweep"
    table = _read_file(spec) if isinstance(spec, (str, os.PathLike)) else dict(spec)
    unknown = sorted(set(table) - set(SECTIONS))
    if unknown:
        raise ValueError(f"{name}: unknown key(s) {', '.join(unknown)}; known: {', '.join(SECTIONS)}")
    kind = table.get("kind", "train")
    if kind not in KINDS:
        raise ValueError(f"kind in {name} must be one of {', '.join(KINDS)}; got {kind!r}")
    seeds = table.get("seeds")
    if not (isinstance(seeds, list) and seeds and all(cli._is_int(s) and s >= 0 for s in seeds)):
        raise ValueError(f"seeds in {name} must be a non-empty list of integers >= 0; got {seeds!r}")
    if len(set(seeds)) < len(seeds):
        raise ValueError(f"seeds in {name} lists a seed twice: {seeds!r}")
    metric = table.get("metric", METRICS[kind][0])
    if metric not in METRICS[kind]:
        raise ValueError(f"metric in {name} must be one of {', '.join(METRICS[kind])} for kind {kind!r}; "
                         f"got {metric!r}")
    if "grid" in table and not table["grid"]:
        raise ValueError(f"[grid] in {name} is empty; give it keys with lists of values, or leave it out to run "
                         f"the [base] setting over the seeds")
    base = CHECKS[kind](_flatten(table.get("base", {}), "base", name), "base", name)
    grid = _grid_points(table.get("grid", {}), kind, name)
    random = _random_points(table["random"], kind, name) if "random" in table else [{}]
    sections = {"base": set(base), "grid": set(grid[0]), "random": set(random[0])}
    base_keys, grid_keys, random_keys = sections.values()
    twice = sorted((base_keys & (grid_keys | random_keys)) | (grid_keys & random_keys))
    if twice:
        raise ValueError(f"{', '.join(twice)} in {name}: set each key in one of [base], [grid] and [random]")
    where = {key: section for section, keys in sections.items() for key in keys}
    swept = list(dict.fromkeys([*grid[0], *random[0]]))
    trials = []
    for setting, (drawn, point) in enumerate(itertools.product(random, grid)):
        values = {**base, **point, **drawn}
        _check_setting(kind, values, where, seeds[0], name)
        params = {key: values[key] for key in swept}
        trials += [_make_trial(kind, setting, values, params, seed) for seed in seeds]
    return Sweep(name, kind, seeds, metric, swept, trials)


# ------------------------------------------------------------------------------------------ running a trial
def _diehl_cook_params(values: dict):
    """The DiehlCookParams of a diehl_cook trial, built as examples/stdp_mnist.py builds them."""
    from spikingnn.diehl_cook import DiehlCookParams

    fields = {key: value for key, value in values.items() if key not in DIEHL_COOK_OPTIONS}
    if "max_rate" in fields:
        fields.setdefault("rate_boost", fields["max_rate"] / 2)
    base = DiehlCookParams() if values.get("paper_params") else DiehlCookParams.one_pass()
    return dataclasses.replace(base, **fields)


def _train_trial(trial: Trial, folder: Path, stop) -> dict:
    """The trial as `spikingnn train --out FOLDER` runs it (continuing FOLDER's checkpoint if there is one)."""
    from spikingnn.serialization import save
    from spikingnn.training.callbacks import Callback

    options = {**cli.TRAIN_DEFAULTS, **trial.options, "seed": trial.seed}
    checkpoint = folder / "model.npz"
    model = (cli._load_model(checkpoint, str(checkpoint)) if checkpoint.is_file()
             else cli._build_model(options, trial.model))
    options = cli._effective_options(options, model)
    (X, y), (X_val, y_val) = cli._training_data(options, {})
    cli._write_text(folder / "config.json", json.dumps({"options": options, "model": trial.model}, indent=2) + "\n")

    def end_of_epoch(model, metrics):
        save(model, checkpoint)
        cli.write_metrics(folder / "metrics.csv", model.history_)

    class StopWhenAsked(Callback):
        """Raise Stopped once the sweep's stop flag is up, asked every STOP_POLL_SECONDS (a scheduler round trip)."""

        last = time.monotonic()

        def on_batch_end(self, model, batch, stats):
            if time.monotonic() - self.last >= STOP_POLL_SECONDS:
                self.last = time.monotonic()
                if stop():
                    raise Stopped

    try:
        model.fit(X, y, validation_data=(X_val, y_val), callbacks=[end_of_epoch, StopWhenAsked()], progress=False)
    except Stopped:
        save(model, checkpoint)
        raise
    last = model.history_[-1]
    return {"val_accuracy": last["val_accuracy"], "train_accuracy": last["train_accuracy"],
            "train_loss": last["train_loss"], "epochs": model.epoch_}


def _diehl_cook_trial(trial: Trial, folder: Path, stop) -> dict:
    """The trial as examples/stdp_mnist.py runs it: ``diehl_cook.one_pass`` (checkpointed, continued if
    interrupted). ``stop`` is not polled: DiehlCookNetwork.train takes no stop hook."""
    from spikingnn._io import atomic_write
    from spikingnn.datasets import load_mnist
    from spikingnn.diehl_cook import DiehlCookNetwork, one_pass

    options = {**DIEHL_COOK_OPTIONS, **trial.options}
    (train_x, train_y), (test_x, test_y) = (load_mnist(split, options["data_dir"]) for split in ("train", "test"))
    n_train, n_test = min(options["train_images"], len(train_x)), min(options["test_images"], len(test_x))
    checkpoint = folder / "checkpoint.npz"
    net = (DiehlCookNetwork.load(checkpoint, backend=options["backend"]) if checkpoint.is_file() else
           DiehlCookNetwork(options["n_neurons"], params=_diehl_cook_params(trial.options), seed=trial.seed,
                            backend=options["backend"]))
    figures = one_pass(net, (train_x[:n_train], train_y[:n_train]), (test_x[:n_test], test_y[:n_test]),
                       label_images=options["label_images"], labelling=options["labelling"], checkpoint=checkpoint,
                       checkpoint_every=options["checkpoint_every"], progress=False)
    net.save(folder / "network.npz")
    results = {"n_neurons": net.n_neurons, "params": dataclasses.asdict(net.params), "seed": trial.seed,
               "train_images": n_train, "test_images": n_test, "labelling": options["labelling"], **figures}
    with atomic_write(folder / "results.json", "w") as handle:
        json.dump(results, handle, indent=2)
    return {metric: figures.get(metric) for metric in METRICS["diehl_cook"]}   # frozen labels: with 'both' only


RUNNERS = {"train": _train_trial, "diehl_cook": _diehl_cook_trial}


def usable_cores() -> int:
    """Cores this process may run on (its CPU affinity where the system tells it)."""
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)


@contextlib.contextmanager
def _thread_limit(threads: int):
    """Numba's and BLAS's threads held to ``threads`` in this thread; the previous settings restored after."""
    import numba
    from threadpoolctl import threadpool_limits

    previous = numba.get_num_threads()
    numba.set_num_threads(max(1, min(threads, numba.config.NUMBA_NUM_THREADS)))
    try:
        with threadpool_limits(limits=threads, user_api="blas"):
            yield
    finally:
        numba.set_num_threads(previous)


def _here(threads_by_worker: dict) -> tuple[str, int]:
    """(this worker's address, the threads a trial may use here); outside a dask worker: ("local", all cores)."""
    try:
        from distributed import get_worker

        worker = get_worker()
    except (ImportError, ValueError):
        return "local", usable_cores()
    # a worker that joined after the sweep began shares its machine with unknown others: its own slots only
    fallback = max(1, usable_cores() // max(1, worker.state.nthreads))
    return worker.address, threads_by_worker.get(worker.address, fallback)


def keep_freed_memory_despite_dask() -> bool:
    """``kernels.allocator.keep_freed_memory`` in a dask worker whose environment holds only what dask's nanny put
    there: it starts every worker with MALLOC_TRIM_THRESHOLD_=65536 (``distributed.nanny.pre-spawn-environ``), so the
    allocator stood aside at import and every training batch faulted in new pages (an MNIST epoch of the default
    network: 3.89 s against 1.15 s). A value other than dask's, or another MALLOC_* variable, is the user's and
    wins. Returns whether the settings were taken."""
    import dask
    import distributed  # noqa: F401  (registers its defaults in dask's configuration, the nanny's environment too)

    from spikingnn.kernels.allocator import MALLOC_VARIABLES, keep_freed_memory

    dask_environment = dask.config.get("distributed.nanny.pre-spawn-environ", default={}) or {}
    set_here = {name: os.environ[name] for name in MALLOC_VARIABLES if name in os.environ}
    if not set_here or any(str(dask_environment.get(name)) != value for name, value in set_here.items()):
        return False
    return keep_freed_memory(environment_wins=False)


def run_trial(trial: Trial, folder, threads_by_worker=None, stop_event=None) -> dict:
    """Run one trial where this is called (a dask worker, or this process) and return its results row. A trial
    that raises is returned as a row with status 'error' and the message: one failure must not stop a sweep."""
    worker, threads = _here(threads_by_worker or {})
    if worker != "local":
        keep_freed_memory_despite_dask()
    stop = (lambda: False) if stop_event is None else _event_poller(stop_event)
    start = time.perf_counter()
    row = {"trial": trial.id, "setting": trial.setting, **trial.params, "seed": trial.seed, "worker": worker,
           "threads": threads, "folder": str(folder)}
    try:
        with _thread_limit(threads):
            row.update(RUNNERS[trial.kind](trial, Path(folder), stop), status="ok")
    except Stopped:
        row.update(status="stopped")
    except Exception as exc:               # recorded in results.csv: the sweep goes on
        row.update(status="error", error=f"{type(exc).__name__}: {' '.join(str(exc).split())}")
    row["seconds"] = time.perf_counter() - start
    return row


def _event_poller(name: str):
    from distributed import Event

    event = Event(name)
    return event.is_set


# ------------------------------------------------------------------------------------------ the results files
def _columns(sweep: Sweep) -> list:
    return ["trial", "setting", *sweep.param_names, "seed", "status", *METRICS[sweep.kind], "seconds", "worker",
            "threads", "folder", "error"]


def _write_csv(path: Path, columns: list, rows: list) -> None:
    text = io.StringIO()
    writer = csv.DictWriter(text, fieldnames=columns, lineterminator="\n", extrasaction="ignore")
    writer.writeheader()
    writer.writerows({key: "" if row.get(key) is None else _csv_value(row[key]) for key in columns}
                     for row in rows)
    cli._write_text(path, text.getvalue())


def _csv_value(value):
    return json.dumps(value) if isinstance(value, (list, bool)) else value


def _finished(path: Path, sweep: Sweep) -> dict:
    """The rows of ``path`` (a previous results.csv) whose trial is in ``sweep`` and finished: trial id -> row,
    its parameters taken from the sweep, its numbers read back."""
    if not path.is_file():
        return {}
    trials = {trial.id: trial for trial in sweep.trials}
    with open(path, newline="") as handle:
        old = [row for row in csv.DictReader(handle) if row.get("status") == "ok" and row.get("trial") in trials]
    rows = {}
    for text in old:
        trial = trials[text["trial"]]
        numbers = {key: float(text[key]) if text.get(key) else None for key in (*METRICS[sweep.kind], "seconds")}
        rows[trial.id] = {"trial": trial.id, "setting": trial.setting, **trial.params, "seed": trial.seed,
                          "status": "ok", **numbers, "worker": text.get("worker", ""),
                          "threads": int(text["threads"]) if text.get("threads") else None,
                          "folder": text.get("folder", "")}
    return rows


def summarise(sweep: Sweep, rows: list) -> list:
    """Per setting: the swept parameters, then mean, std (ddof = 1; None for one seed), min, max and n of the
    metric over the seeds that succeeded, the number that failed, and the mean wall time (s)."""
    summary = []
    for setting, trials in itertools.groupby(sweep.trials, key=lambda trial: trial.setting):
        ids = {trial.id for trial in trials}
        done = [row for row in rows if row["trial"] in ids]
        values = np.array([row[sweep.metric] for row in done if row["status"] == "ok"], dtype=float)
        seconds = [row["seconds"] for row in done if row["status"] == "ok"]
        params = next(trial.params for trial in sweep.trials if trial.setting == setting)
        summary.append({**params,
                        "mean": float(values.mean()) if values.size else None,
                        "std": float(values.std(ddof=1)) if values.size > 1 else None,
                        "min": float(values.min()) if values.size else None,
                        "max": float(values.max()) if values.size else None,
                        "n": int(values.size), "failed": sum(row["status"] == "error" for row in done),
                        "seconds": float(np.mean(seconds)) if seconds else None})
    return summary


def plot_sweep(result: SweepResult, sweep: Sweep):
    """The metric against the swept parameter (one numeric parameter: its values on the x axis, log-scaled when
    they span over a decade; otherwise one position per setting): each seed's value and the mean +- std."""
    from matplotlib.figure import Figure  # not pyplot: the caller's backend (a notebook's) stays as it is

    fig = Figure(figsize=(7.0, 4.2), layout="constrained")
    ax = fig.subplots()
    names = sweep.param_names
    numeric = (len(names) == 1 and all(isinstance(entry[names[0]], (int, float)) and
                                       not isinstance(entry[names[0]], bool) for entry in result.summary))
    if numeric:
        positions = [entry[names[0]] for entry in result.summary]
        if min(positions) > 0 and max(positions) / min(positions) > 10:
            ax.set_xscale("log")
        ax.set_xlabel(names[0])
    else:
        positions = list(range(len(result.summary)))
        labels = [", ".join(f"{name}={_cell(entry[name])}" for name in names) or "base" for entry in result.summary]
        ax.set_xticks(positions, labels, rotation=20 if len(positions) > 3 else 0, ha="right" if len(positions) > 3
                      else "center")
        ax.set_xlabel(", ".join(names) or "setting")
        ax.margins(x=0.2)
    for setting, (position, entry) in enumerate(zip(positions, result.summary)):
        ids = {trial.id for trial in sweep.trials if trial.setting == setting}
        seeds = [row[sweep.metric] for row in result.rows if row["trial"] in ids and row["status"] == "ok"]
        ax.plot([position] * len(seeds), seeds, "o", color="0.6", markersize=4, zorder=2)
        if entry["mean"] is not None:
            ax.errorbar(position, entry["mean"], yerr=entry["std"] or 0.0, fmt="s", color="C0", capsize=5,
                        markersize=7, zorder=3)
    ax.set_ylabel(f"{sweep.metric} (grey: each seed; blue: mean +- std)")
    ax.set_title(f"{Path(sweep.name).name}: {len(sweep.seeds)} seed(s) per setting")
    ax.grid(alpha=0.3)
    return fig


def _write_outputs(sweep: Sweep, out: Path, rows_by_id: dict) -> SweepResult:
    """results.csv (every trial that has a row, in the sweep's order), summary.csv and sweep.png."""
    order = {trial.id: k for k, trial in enumerate(sweep.trials)}
    rows = sorted(rows_by_id.values(), key=lambda row: order[row["trial"]])
    _write_csv(out / "results.csv", _columns(sweep), rows)
    summary = summarise(sweep, rows)
    _write_csv(out / "summary.csv", [*sweep.param_names, *_SUMMARY_STATS], summary)
    return SweepResult(rows, summary, out, sweep.metric)


# ------------------------------------------------------------------------------------------ the engine
@contextlib.contextmanager
def _client(scheduler, workers, n_tasks):
    """A dask Client: to ``scheduler`` if given, else to a LocalCluster of ``workers`` processes (default one per
    core, at most one per task), one task at a time each, started and stopped here. Yields (client, description)."""
    from distributed import Client, LocalCluster

    if scheduler:
        try:
            client = Client(scheduler, timeout=CONNECT_SECONDS)
        except (OSError, ValueError) as exc:       # unreachable, or not an address (TimeoutError is an OSError)
            raise ValueError(f"--scheduler {scheduler}: cannot connect ({' '.join(str(exc).split())})") from None
        with client:
            try:
                client.wait_for_workers(1, timeout=CONNECT_SECONDS)
            except TimeoutError:
                raise ValueError(f"--scheduler {scheduler}: no worker joined within {CONNECT_SECONDS} s; start "
                                 f"some with: dask worker {scheduler} --nthreads 1") from None
            yield client, f"the cluster at {scheduler}"
        return
    n_workers = workers or max(1, min(usable_cores(), n_tasks))
    # everything on 127.0.0.1, the scheduler's HTTP server on a free port (8787 may be another cluster's)
    with _ctrl_c_ignored():
        cluster = LocalCluster(n_workers=n_workers, threads_per_worker=1, processes=True, host="127.0.0.1",
                               dashboard_address=None, scheduler_kwargs={"dashboard_address": "127.0.0.1:0"},
                               silence_logs=logging.ERROR)
    with cluster, Client(cluster) as client:
        yield client, f"a local cluster of {n_workers} worker process(es)"


@contextlib.contextmanager
def _ctrl_c_ignored():
    """Ctrl-C ignored while the local workers are spawned: they inherit it, so Ctrl-C in the terminal reaches
    only this process, which cancels the trials and stops the workers in order (instead of each worker
    dying of it with a traceback). Only the main thread may change signal handlers."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)


def _threads_by_worker(client) -> dict:
    """Worker address -> threads per trial: each machine's cores shared by all task slots on that machine."""
    workers = client.scheduler_info(n_workers=-1)["workers"]
    cores = client.run(usable_cores)
    slots = {}
    for info in workers.values():
        slots[info["host"]] = slots.get(info["host"], 0) + info["nthreads"]
    return {address: max(1, cores[address] // slots[info["host"]])
            for address, info in workers.items() if address in cores}


def _describe_row(row: dict, sweep: Sweep) -> str:
    params = ", ".join(f"{name}={_cell(row[name])}" for name in sweep.param_names)
    head = f"setting {row['setting']}{' (' + params + ')' if params else ''} seed {row['seed']}"
    if row["status"] != "ok":
        return f"{head}: {row['status']}: {row.get('error', '')}"
    return f"{head}: {sweep.metric} {row[sweep.metric]:.4g} in {row['seconds']:.0f} s on {row['worker']}"


def run_sweep(spec, out, *, scheduler: str | None = None, workers: int | None = None, report=print) -> SweepResult:
    """Run the sweep ``spec`` (a sweep file, or the same structure as a dict) into the folder ``out`` and return
    its results (see the module docstring). ``scheduler``: a dask scheduler's address (tcp://host:8786), else a
    local cluster of ``workers`` processes (default: one per core). ``report(line)`` receives the progress lines.
    Trials that ``out/results.csv`` records as finished are not run again. On KeyboardInterrupt the running
    trials are cancelled, the finished ones written, and KeyboardInterrupt raised again."""
    if workers is not None and not (cli._is_int(workers) and workers >= 1):
        raise ValueError(f"--workers must be an integer >= 1; got {workers!r}")
    if workers is not None and scheduler:
        raise ValueError("--workers applies to the local cluster only; with --scheduler, start as many "
                         "`dask worker` processes as you want")
    sweep = load_sweep(spec)
    # absolute: the workers' current folders may differ from ours
    out = cli._check_out_folder(out, "--out").resolve()
    rows = _finished(out / "results.csv", sweep)
    todo = [trial for trial in sweep.trials if trial.id not in rows]
    report(f"{sweep.name}: {len(sweep.trials) // len(sweep.seeds)} setting(s) x {len(sweep.seeds)} seed(s) = "
           f"{len(sweep.trials)} trials; {len(rows)} finished before, {len(todo)} to run")
    if todo:
        _run_trials(sweep, todo, out, rows, scheduler, workers, report)
    result = _write_outputs(sweep, out, rows)
    cli._save_png(plot_sweep(result, sweep), out / "sweep.png")
    failed = sum(row["status"] != "ok" for row in result.rows)
    report(f"wrote {out / 'results.csv'}, {out / 'summary.csv'} and {out / 'sweep.png'}"
           + (f"; {failed} trial(s) failed (their errors are in results.csv; run the sweep again to retry them)"
              if failed else ""))
    return result


def _run_trials(sweep: Sweep, todo: list, out: Path, rows: dict, scheduler, workers, report) -> None:
    """Submit ``todo`` and record each trial's row in ``rows`` and results.csv as it finishes."""
    try:
        from distributed import Event, as_completed
    except ImportError:
        raise ValueError("sweeps run on dask.distributed, which is not installed: "
                         "pip install 'dask[distributed]' (or spikingnn's extra: pip install -e '.[sweep]')") from None

    run_id = uuid.uuid4().hex[:8]
    stop_name = f"spikingnn-sweep-stop-{run_id}"
    with _client(scheduler, workers, len(todo)) as (client, description):
        threads = _threads_by_worker(client)
        report(f"running on {description}: {len(threads)} worker(s), "
               f"{sorted(set(threads.values())) or '?'} Numba/BLAS thread(s) per trial")
        futures = {client.submit(run_trial, trial, str(out / "trials" / trial.id), threads, stop_name,
                                 key=f"spikingnn-trial-{trial.id}-{run_id}", pure=False): trial for trial in todo}
        done, start = 0, time.monotonic()
        finishing = as_completed(futures)
        try:
            while not finishing.is_empty():
                batch = finishing.next_batch(block=False) or _wait_a_while(finishing, report, done, len(todo), start)
                for future in batch:
                    trial = futures[future]
                    row = future.result() if future.status == "finished" else _lost(trial, future, out, sweep)
                    rows[trial.id] = row
                    _write_outputs(sweep, out, rows)
                    done += 1
                    report(f"[{done}/{len(todo)}] {_describe_row(row, sweep)}")
        except KeyboardInterrupt:
            Event(stop_name, client=client).set()
            client.cancel(list(futures))
            _write_outputs(sweep, out, rows)
            again = (f"spikingnn sweep {sweep.name} --out {out}" if sweep.name != "the sweep" else
                     f"run_sweep(the same sweep, {str(out)!r})")
            report(f"interrupted: {done} of {len(todo)} trial(s) finished and recorded in {out / 'results.csv'}; "
                   f"unfinished trials keep their checkpoints. Resume (the finished trials are skipped) with: {again}")
            raise


def _wait_a_while(finishing, report, done: int, total: int, start: float) -> list:
    """The trials that finish within HEARTBEAT_SECONDS; if none does, a line saying the sweep is alive (a
    Diehl & Cook trial runs for many minutes without a word)."""
    deadline = time.monotonic() + HEARTBEAT_SECONDS
    while time.monotonic() < deadline:
        if finishing.has_ready():
            return finishing.next_batch(block=False)
        time.sleep(0.2)
    report(f"  ... {done} of {total} trial(s) finished after {(time.monotonic() - start) / 60:.0f} min; "
           f"{total - done} running or queued")
    return []


def _lost(trial: Trial, future, out: Path, sweep: Sweep) -> dict:
    """The row of a task that failed outside the trial (its worker died, the task could not be sent)."""
    exc = future.exception()
    return {"trial": trial.id, "setting": trial.setting, **trial.params, "seed": trial.seed, "status": "error",
            "error": f"{type(exc).__name__}: {' '.join(str(exc).split())}", "folder": str(out / "trials" / trial.id)}


sweep = run_sweep             # spikingnn.sweep.sweep(...): the same function


# ------------------------------------------------------------------------------------------ the command
def cmd_sweep(args) -> int:
    """``spikingnn sweep``: 0 every trial succeeded; 1 some trial failed (recorded in results.csv); 130 Ctrl-C."""
    out = args.out or Path("runs") / Path(args.sweep_file).stem
    try:
        result = run_sweep(args.sweep_file, out, scheduler=args.scheduler, workers=args.workers)
    except KeyboardInterrupt:
        return 130
    print(result.markdown())
    return 1 if any(row["status"] != "ok" for row in result.rows) else 0


def add_command(commands, make_parser) -> None:
    """Add ``sweep`` to the ``spikingnn`` command; ``make_parser(name, summary, description, examples)`` returns
    the subparser (``spikingnn.cli._subcommand`` with ``commands`` applied)."""
    parser = make_parser(
        "sweep", "run many trainings (a grid or random search x seeds) on dask.distributed",
        "Run every setting of a sweep file (a grid and/or a random search over spikingnn train's options and "
        "SNNClassifier's keywords, or over the Diehl & Cook network's parameters) once per seed, each trial a task "
        "on dask.distributed: a local cluster started and stopped by the command, or your cluster (--scheduler). "
        "--out receives a run folder per trial, results.csv (one row per trial, written as trials finish), "
        "summary.csv (mean and std over the seeds) and sweep.png. Running the same command again skips finished "
        "trials. See spikingnn/sweep.py for the sweep file's format. Exit status 1 if some trial failed.",
        "  spikingnn sweep examples/sweeps/headline_bptt.toml --out runs/headline_bptt\n"
        "  spikingnn sweep examples/sweeps/lr_search.toml --workers 2 --out runs/lr\n"
        "  dask scheduler                                  # on one machine, then on each of the others:\n"
        "  dask worker tcp://HOST:8786 --nthreads 1 --nworkers 4\n"
        "  spikingnn sweep my_sweep.toml --scheduler tcp://HOST:8786 --out /shared/runs/my_sweep")
    parser.add_argument("sweep_file", metavar="SWEEP.toml", help="the sweep file")
    parser.add_argument("--scheduler", metavar="ADDRESS",
                        help="a running dask scheduler, e.g. tcp://10.0.0.5:8786 (default: a local cluster)")
    parser.add_argument("--workers", type=int, metavar="N",
                        help="worker processes of the local cluster (default: one per core, at most one per trial)")
    parser.add_argument("--out", help="the sweep's folder (default runs/<name of the sweep file>)")
    parser.set_defaults(run=cmd_sweep)


if __name__ == "__main__":          # python -m spikingnn.sweep ...: the same as spikingnn sweep ...
    raise SystemExit(cli.main(["sweep", *sys.argv[1:]]))
