"""spikingnn sweep on tiny synthetic data: a local cluster, a real cluster started here (a scheduler and two
workers on 127.0.0.1), resuming after Ctrl-C, a trial that fails, and one-line errors for bad sweep files."""
import csv
import functools
import json
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
from test_cli import synthetic_digits

from spikingnn import cli
from spikingnn import sweep as sw
from spikingnn.datasets import load_dataset, write_idx
from spikingnn.serialization import load

# End-to-end runs of dask clusters: on the main Python of .ci/run only (see setup.cfg).
pytestmark = pytest.mark.slow

pytest.importorskip("distributed")

TINY = {"hidden": [16], "steps": 8, "batch_size": 50, "epochs": 1}


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory):
    """A 300-image train split and a 100-image test split, as IDX files."""
    rng = np.random.default_rng(0)
    folder = tmp_path_factory.mktemp("data") / "mnist"
    for split, n in (("train", 300), ("t10k", 100)):
        images, labels = synthetic_digits(rng, n)
        write_idx(folder / f"{split}-images-idx3-ubyte.gz", images)
        write_idx(folder / f"{split}-labels-idx1-ubyte.gz", labels)
    return folder.parent


def two_by_two(data_dir):
    """2 settings (learning rates) x 2 seeds of a tiny network."""
    return {"seeds": [0, 1], "base": {**TINY, "data_dir": str(data_dir)}, "grid": {"lr": [1e-2, 3e-3]}}


def read_rows(path):
    with open(path, newline="") as handle:
        return list(csv.DictReader(handle))


def command(*argv):
    """Parse ``spikingnn sweep ARGV`` with a parser built as cli.build_parser builds its commands."""
    parser = cli._Parser(prog="spikingnn")
    commands = parser.add_subparsers(dest="command", required=True)
    sw.add_command(commands, functools.partial(cli._subcommand, commands))
    return parser.parse_args(["sweep", *map(str, argv)])


def write_toml(path, text):
    path.write_text(text)
    return path


def test_local_cluster_sweep_writes_run_folders_results_summary_and_plot(data_dir, tmp_path):
    lines = []
    result = sw.run_sweep(two_by_two(data_dir), tmp_path / "sweep", workers=2, report=lines.append)
    assert "a local cluster of 2 worker process(es)" in lines[1] and sum(line.startswith("[") for line in lines) == 4
    rows = read_rows(tmp_path / "sweep" / "results.csv")
    assert [(row["lr"], row["seed"], row["status"]) for row in rows] == [
        ("0.01", "0", "ok"), ("0.01", "1", "ok"), ("0.003", "0", "ok"), ("0.003", "1", "ok")]
    assert all(row["worker"].startswith("tcp://127.0.0.1:") for row in rows)
    # two workers share the cores: workers x threads <= cores
    assert {int(row["threads"]) for row in rows} == {max(1, sw.usable_cores() // 2)}
    X_val, y_val = load_dataset("mnist", "test", data_dir)
    for row in rows:
        folder = tmp_path / "sweep" / "trials" / row["trial"]
        # the run folder of `spikingnn train`: its config reads back, its model scores what the row says
        options, _, _ = cli._read_run_config(folder / "config.json")
        assert (options["lr"], options["seed"]) == (float(row["lr"]), int(row["seed"]))
        assert load(folder / "model.npz").score(X_val, y_val) == pytest.approx(float(row["val_accuracy"]))
        assert cli.read_metrics(folder / "metrics.csv")[-1]["val_accuracy"] == pytest.approx(float(row["val_accuracy"]))
    for setting, lr in enumerate((1e-2, 3e-3)):
        seeds = [float(row["val_accuracy"]) for row in rows if row["setting"] == str(setting)]
        entry = result.summary[setting]
        assert entry["lr"] == lr and entry["n"] == 2 and entry["failed"] == 0
        assert entry["mean"] == pytest.approx(np.mean(seeds)) and entry["std"] == pytest.approx(np.std(seeds, ddof=1))
    assert len(read_rows(tmp_path / "sweep" / "summary.csv")) == 2
    assert (tmp_path / "sweep" / "sweep.png").stat().st_size > 10_000
    # same seed, same metrics: the trial run here, with all cores, equals the one a 1-thread worker ran
    trial = sw.load_sweep(two_by_two(data_dir)).trials[1]
    again = sw.run_trial(trial, tmp_path / "here")
    assert again["threads"] == sw.usable_cores()
    assert again["val_accuracy"] == float(rows[1]["val_accuracy"])
    assert again["train_loss"] == float(rows[1]["train_loss"])


@pytest.fixture
def cluster(tmp_path):
    """A dask scheduler and two 1-thread workers, each its own process on 127.0.0.1; stopped at the end."""
    scheduler_file = tmp_path / "scheduler.json"
    dask = [sys.executable, "-m", "distributed.cli.dask_scheduler"]
    quiet = {"stdout": subprocess.DEVNULL, "stderr": subprocess.DEVNULL}
    processes = [subprocess.Popen([*dask, "--host", "127.0.0.1", "--port", "0", "--no-dashboard",
                                   "--scheduler-file", str(scheduler_file)], **quiet)]
    try:
        deadline = time.monotonic() + 30
        while not scheduler_file.exists() and time.monotonic() < deadline:
            time.sleep(0.2)
        address = json.loads(scheduler_file.read_text())["address"]
        worker = [sys.executable, "-m", "distributed.cli.dask_worker", address, "--nthreads", "1",
                  "--host", "127.0.0.1", "--no-dashboard"]
        processes += [subprocess.Popen(worker, **quiet) for _ in range(2)]
        yield address
    finally:
        for process in processes:
            process.terminate()
        for process in processes:
            process.wait(timeout=30)


def test_sweep_through_a_cluster_started_by_hand(data_dir, tmp_path, cluster, capsys):
    sweep_file = write_toml(tmp_path / "tiny.toml", f"""seeds = [0, 1]
[base]
hidden = [16]
steps = 8
batch_size = 50
epochs = 1
data_dir = "{data_dir}"
[grid]
lr = [1e-2, 3e-3]
""")
    args = command(sweep_file, "--scheduler", cluster, "--out", tmp_path / "out")
    assert args.run(args) == 0
    out = capsys.readouterr().out
    assert "| lr | val_accuracy (mean +- std) |" in out and f"the cluster at {cluster}" in out
    rows = read_rows(tmp_path / "out" / "results.csv")
    assert [row["status"] for row in rows] == ["ok"] * 4
    assert all(row["worker"].startswith("tcp://127.0.0.1:") and row["threads"] for row in rows)
    # the cluster's workers computed what this process computes for the same trial
    trial = sw.load_sweep(sweep_file).trials[2]
    assert sw.run_trial(trial, tmp_path / "here")["val_accuracy"] == float(rows[2]["val_accuracy"])


def test_resume_after_ctrl_c_runs_only_the_missing_trials(data_dir, tmp_path):
    def interrupt_after_first(line):
        if line.startswith("[1/"):
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        sw.run_sweep(two_by_two(data_dir), tmp_path, workers=1, report=interrupt_after_first)
    first = read_rows(tmp_path / "results.csv")
    assert len(first) == 1 and first[0]["status"] == "ok"
    lines = []
    result = sw.run_sweep(two_by_two(data_dir), tmp_path, workers=1, report=lines.append)
    assert "1 finished before, 3 to run" in lines[0]
    assert sum(line.startswith("[") for line in lines) == 3
    assert "[3/3]" in lines[-2]
    rows = read_rows(tmp_path / "results.csv")
    assert [row["status"] for row in rows] == ["ok"] * 4 and len(result.rows) == 4
    kept = next(row for row in rows if row["trial"] == first[0]["trial"])
    assert (kept["seconds"], kept["worker"]) == (first[0]["seconds"], first[0]["worker"])
    # a third run has nothing left to do and starts no cluster
    lines.clear()
    sw.run_sweep(two_by_two(data_dir), tmp_path, workers=1, report=lines.append)
    assert "4 finished before, 0 to run" in lines[0] and not any(line.startswith("running") for line in lines)


def test_a_failing_trial_is_recorded_and_the_others_finish(data_dir, tmp_path, capsys):
    broken = tmp_path / "broken" / "mnist"
    broken.mkdir(parents=True)
    for source in (data_dir / "mnist").iterdir():          # every file cut short: loading it fails
        (broken / source.name).write_bytes(source.read_bytes()[:100])
    sweep_file = write_toml(tmp_path / "sweep.toml", f"""seeds = [0]
[base]
hidden = [16]
steps = 8
batch_size = 50
epochs = 1
[grid]
data_dir = ["{data_dir}", "{broken.parent}"]
""")
    args = command(sweep_file, "--workers", 1, "--out", tmp_path / "out")
    assert args.run(args) == 1
    assert "1 trial(s) failed" in capsys.readouterr().out
    good, bad = read_rows(tmp_path / "out" / "results.csv")
    assert good["status"] == "ok" and float(good["val_accuracy"]) > 0
    assert bad["status"] == "error" and "idx" in bad["error"] and "\n" not in bad["error"]
    assert read_rows(tmp_path / "out" / "summary.csv")[1]["failed"] == "1"


@pytest.mark.parametrize("text, message", [
    ("seeds = [0]\n[grid]\nlearning_rate = [0.1]", r"tiny.toml \[grid\]: unknown option\(s\) learning_rate; known:"),
    ("seeds = [0]\n[grid]\nmodel.betta = [0.9]", r"unknown SNNClassifier keyword\(s\) model.betta"),
    ("seeds = [0]\n[grid]\nlr = []", r"lr in .*tiny.toml \[grid\] must be a non-empty list of values; got \[\]"),
    ("seeds = [0]\n[grid]", r"\[grid\] in .*tiny.toml is empty"),
    ("seeds = [0]\n[grid]\nlr = ['fast']", r"lr in .*tiny.toml \[grid\] must be a number; got 'fast'"),
    ("seeds = [0]\n[grid]\nhidden = [[100], 'wide']", r"hidden in .*\[grid\] must be a list of integers; got 'wide'"),
    ("seeds = [0]\n[base]\nepochs = 2.5", r"epochs in .*tiny.toml \[base\] must be an integer; got 2.5"),
    ("seeds = [0]\n[grid]\nlr = [-1.0]", r"lr in .*tiny.toml \[grid\] must be"),
    ("seeds = [0]\n[grid]\nlr = [0.1, 0.1]", r"lr in .*\[grid\] lists a value twice"),
    ("seeds = [0]\n[grid]\nseed = [1, 2]", r"seed in .*\[grid\]: give the seeds as the top-level list"),
    ("seeds = []", r"seeds in .*tiny.toml must be a non-empty list of integers >= 0; got \[\]"),
    ("seeds = [0, '1']", r"seeds in .* must be a non-empty list of integers >= 0"),
    ("seed = [0]", r"unknown key\(s\) seed; known: kind, seeds"),
    ("kind = 'stdp'\nseeds = [0]", r"kind in .* must be one of train, diehl_cook; got 'stdp'"),
    ("seeds = [0]\nmetric = 'accuracy'", r"metric in .* must be one of val_accuracy, train_accuracy"),
    ("seeds = [0]\n[base]\nlr = 0.1\n[grid]\nlr = [0.2]", r"lr in .*tiny.toml: set each key in one of"),
    ("seeds = [0]\n[random]\nsamples = 2\nlr = {normal = [0, 1]}", r"lr in .*\[random\] must be one of \{choice"),
    ("seeds = [0]\n[random]\nsamples = 2\nlr = {log_uniform = [0, 1]}", r"log_uniform must be \[lo, hi\]"),
    ("seeds = [0]\n[random]\nlr = {uniform = [0.1, 1]}", r"samples in .*\[random\] must be an integer >= 1"),
    ("seeds = [0]\n[random]\nsamples = 2\nepochs = {uniform = [1, 4]}", r"epochs in .*\[random\] must be an integer"),
    ("seeds = [0]\n[random]\nsamples = 1\nlr = {choice = [0.1, 'x']}", r"lr in .*\[random\] must be a number; got 'x'"),
    ("kind = 'diehl_cook'\nseeds = [0]\n[grid]\nw_ei = ['x']", r"w_ei in .*\[grid\] must be a number; got 'x'"),
    ("kind = 'diehl_cook'\nseeds = [0]\n[grid]\nneurons = [100]", r"unknown option\(s\) neurons; known: n_neurons"),
    ("kind = 'diehl_cook'\nseeds = [0]\n[base]\ntau_ge = -1.0", r"tau_ge in .*tiny.toml \[base\] must be"),
    ("kind = 'diehl_cook'\nseeds = [0]\n[base]\nn_neurons = 0", r"n_neurons in .*\[base\] must be >= 1; got 0"),
    ("seeds = [0]\n[grid\n", r"tiny.toml is not valid TOML"),
])
def test_bad_sweep_files_are_one_line_errors_before_anything_is_written(tmp_path, text, message):
    args = command(write_toml(tmp_path / "tiny.toml", text), "--out", tmp_path / "out")
    with pytest.raises(ValueError, match=message) as error:
        args.run(args)
    assert "\n" not in str(error.value)
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize("argv, message", [
    (["--workers", "0"], r"--workers must be an integer >= 1; got 0"),
    (["--workers", "2", "--scheduler", "tcp://127.0.0.1:1"], r"--workers applies to the local cluster only"),
    (["--scheduler", "tcp://127.0.0.1:1"], r"--scheduler tcp://127.0.0.1:1: cannot connect"),
    (["--out", "{file}"], r"--out .* is a file"),
])
def test_bad_flags_are_one_line_errors(tmp_path, monkeypatch, argv, message):
    monkeypatch.setattr(sw, "CONNECT_SECONDS", 1)
    sweep_file = write_toml(tmp_path / "tiny.toml", "seeds = [0]\n")
    args = command(sweep_file, *[arg.format(file=sweep_file) for arg in argv])
    with pytest.raises(ValueError, match=message):
        args.run(args)


def test_random_search_draws_the_same_settings_for_the_same_seed():
    spec = {"seeds": [0], "grid": {"hidden": [[8], [16]]},
            "random": {"samples": 3, "seed": 5, "lr": {"log_uniform": [1e-4, 1e-2]},
                       "epochs": {"int_uniform": [1, 3]}, "model": {"surrogate": {"choice": ["arctan", "triangle"]}}}}
    trials = sw.load_sweep(spec).trials
    assert len(trials) == 6 and trials == sw.load_sweep(spec).trials
    assert all(1e-4 <= t.options["lr"] <= 1e-2 and t.options["epochs"] in (1, 2, 3) for t in trials)
    assert {t.model["surrogate"] for t in trials} <= {"arctan", "triangle"}
    assert [t.params["hidden"] for t in trials[:2]] == [[8], [16]]      # each draw crossed with the grid
    assert len({t.id for t in trials}) == 6


@pytest.mark.parametrize("path", sorted((Path(__file__).parents[1] / "examples" / "sweeps").glob("*.toml")),
                         ids=lambda path: path.name)
def test_example_sweep_files_are_valid(path):
    sweep = sw.load_sweep(path)
    assert len(sweep.trials) == len(sweep.seeds) * len({trial.setting for trial in sweep.trials}) >= 3
