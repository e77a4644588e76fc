"""Every kind of bad input to the ``spikingnn`` command: exit status 2, exactly one line on stderr naming the
flag (or the config key), no traceback, and nothing created or changed on disk.

One case of each kind of the issue "Hostile files and a newcomer's first hour" runs ``python -m spikingnn`` in a
child process, as a user would (two at a time: importing the package dominates their ~1.5 s each); their
variants run ``cli.main`` in this process. No case trains: every error is found before the first batch."""
import concurrent.futures
import json
import os
import socket
import subprocess
import sys
import textwrap

import matplotlib
import numpy as np
import pytest
from test_pictures import black_on_white, png_claiming  # the pictures of tests/test_pictures.py

import spikingnn
from spikingnn import cli
from spikingnn.datasets import write_idx
from spikingnn.encoding import MAX_PIXELS

# End-to-end runs of whole commands and scripts: on the main Python of .ci/run only (see setup.cfg).
pytestmark = pytest.mark.slow

REPO = os.path.dirname(os.path.dirname(spikingnn.__file__))
# A complete config.json of a run, as `spikingnn train` writes it; cases damage it one way each.
RUN_OPTIONS = {"dataset": "mnist", "hidden": [8], "steps": 4, "encoding": "rate", "epochs": 1, "batch_size": 10,
               "lr": 0.002, "lr_schedule": "cosine", "loss": "ce_mem_mean", "neuron": "lif", "seed": 0,
               "limit": None, "val_limit": None, "data_dir": None}


def toml(text):
    return ("toml", textwrap.dedent(text))


def run_config(document):
    return ("config.json", json.dumps(document) if not isinstance(document, str) else document)


# name: (command, extra arguments, a file the case needs or None, fragments the line must hold, fragments it
# must not hold). In the arguments, OUT is the case's run folder, FILE the case's file; NO-DATA-DIR: no --data-dir.
CASES = {
    "toml limit is a string": ("train", ["--config", "FILE"], toml('limit = "300"'),
                               ["limit in", "run.toml must be an integer", "'300'"], []),
    "toml limit is a float": ("train", ["--config", "FILE"], toml("limit = 2.5"),
                              ["limit in", "must be an integer", "2.5"], []),
    "toml data_dir is a number": ("train", ["--config", "FILE"], toml("data_dir = 5"),
                                  ["data_dir in", "must be a string"], []),
    "toml unknown key": ("train", ["--config", "FILE"], toml("hiden = [12]"), ["unknown option", "hiden"], []),
    "toml model keyword of the wrong type": ("train", ["--config", "FILE"], toml('[model]\nbeta = "high"'),
                                             ["model.beta in", "must be a number"], []),
    "toml unknown model keyword": ("train", ["--config", "FILE"], toml("[model]\nbetta = 0.9"), ["model.betta"], []),
    "toml steps out of range": ("train", ["--config", "FILE"], toml("steps = -1"),
                                ["steps in", "run.toml must be an integer >= 1"], ["num_steps"]),
    "toml model keyword out of range": ("train", ["--config", "FILE"], toml("[model]\ntau_mem = -5.0"),
                                        ["model.tau_mem in", "must be > 0"], []),
    "toml data_dir is not a folder": ("train", ["--config", "FILE"], toml('data_dir = "/no/such/folder"'),
                                      ["data_dir in", "/no/such/folder", "not an existing folder"], []),
    "config file missing": ("train", ["--config", "missing.toml"], None, ["--config", "missing.toml"], []),
    "steps -1": ("train", ["--steps", "-1"], None, ["--steps must be an integer >= 1", "-1"], ["num_steps"]),
    "seed -1": ("train", ["--seed", "-1"], None, ["--seed must be an integer >= 0"], ["random_state"]),
    "lr 0": ("train", ["--lr", "0"], None, ["--lr must be > 0"], []),
    "encoding unknown": ("train", ["--encoding", "morse"], None, ["--encoding must be one of", "'rate'"], []),
    "epochs 0": ("train", ["--epochs", "0"], None, ["--epochs must be an integer >= 1"], []),
    "hidden 0": ("train", ["--hidden", "10", "0"], None, ["--hidden must be an integer >= 1"], []),
    "limit 0": ("train", ["--limit", "0"], None, ["--limit must be >= 1"], []),
    "steps not a number": ("train", ["--steps", "x"], None, ["--steps", "invalid int value"], []),
    "out is a file": ("train", ["--out", "FILE"], ("notes", "x"), ["--out", "is a file"], []),
    "data-dir does not exist": ("train", ["--data-dir", "/no/such/folder"], None,
                                ["--data-dir '/no/such/folder' is not an existing folder"], ["data_dir"]),
    "dataset nowhere and no network": ("train", ["NO-DATA-DIR"], None,
                                       ["mnist not found in", "Downloading failed", "--data-dir", "SPIKINGNN_DATA"],
                                       ["data_dir=", "download=True"]),
    "resume config.json empty object": ("resume", [], run_config({}), ["config.json", "'options'"], []),
    "resume config.json a list": ("resume", [], run_config([1, 2]), ["config.json", "'options'"], []),
    "resume config.json not json": ("resume", [], run_config("{options"), ["config.json", "not valid JSON"], []),
    "resume config.json missing keys": ("resume", [], run_config({"options": {"dataset": "mnist"}, "model": {}}),
                                        ["config.json lacks", "options.hidden", "options.steps"], []),
    "resume config.json wrong type": ("resume", [], run_config({"options": {**RUN_OPTIONS, "limit": "x"},
                                                                "model": {}}),
                                      ["options.limit in", "must be an integer"], []),
    "resume before the first checkpoint": ("resume", [], run_config({"options": RUN_OPTIONS, "model": {}}),
                                           ["nothing to resume", "without --resume"], []),
    "evaluate a folder without a model": ("evaluate", ["--model", "OUT"], None, ["--model", "without a model.npz"],
                                          []),
    "evaluate a file that is not a model": ("evaluate", ["--model", "FILE"], ("model.npz", "not a model"),
                                            ["--model", "not a spikingnn model"], []),
    "predict on a folder": ("predict", ["--image", "OUT"], None, ["--image", "is a folder, not a picture"], []),
    "predict on a text file": ("predict", ["--image", "FILE"], ("notes.txt", "hello"),
                               ["--image", "notes.txt is not a picture"], []),
    "predict on a missing picture": ("predict", ["--image", "missing.png"], None,
                                     ["--image", "no such picture", "missing.png"], []),
    "predict on a decompression bomb": ("predict", ["--image", "FILE"], ("bomb.png", png_claiming(30000, 30000)),
                                        ["--image", "bomb.png", f"{MAX_PIXELS:,}"], []),
    "predict with a missing model": ("predict", ["--model", "missing.npz"], None, ["--model", "missing.npz"], []),
}


def _closed_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _child_env(home):
    """This checkout on the path; an empty home (no cached datasets), no $SPIKINGNN_DATA, and every download
    sent to a proxy port where nothing listens, so that "no network" fails at once."""
    proxy = f"http://127.0.0.1:{_closed_port()}"
    env = {key: value for key, value in os.environ.items()
           if key not in ("SPIKINGNN_DATA", "SPIKINGNN_DEBUG", "no_proxy", "NO_PROXY")}
    return {**env, "PYTHONPATH": os.pathsep.join([REPO, os.environ.get("PYTHONPATH", "")]), "HOME": str(home),
            "MPLCONFIGDIR": matplotlib.get_configdir(), "http_proxy": proxy, "https_proxy": proxy,
            "HTTP_PROXY": proxy, "HTTPS_PROXY": proxy}


# one case of each kind runs in a child process
IN_A_CHILD = ("toml limit is a string", "resume config.json empty object", "steps -1", "epochs 0",
              "data-dir does not exist", "dataset nowhere and no network", "steps not a number",
              "evaluate a folder without a model", "predict on a folder", "predict on a text file",
              "predict on a decompression bomb")


def _prepare(folder, command, extra, file, world):
    """The argument list of one case, its files written into ``folder``."""
    out = folder / "run"
    path = None
    if file is not None:
        name, content = file
        path = folder / ("run.toml" if name == "toml" else name)
        if name == "config.json":
            out.mkdir()
            path = out / name
        path.write_bytes(content if isinstance(content, bytes) else content.encode())
    if command in ("evaluate", "predict"):
        out.mkdir(exist_ok=True)
    words = {"FILE": path, "OUT": out}
    argv = [str(words.get(word, word)) for word in extra]
    if command == "train":
        # small settings, so that a case whose error went unnoticed would finish quickly and fail the test
        defaults = {"--out": out, "--hidden": "8", "--steps": "4", "--epochs": "1", "--data-dir": world["data"]}
        if "--config" in argv or "NO-DATA-DIR" in argv:    # the config file sets data_dir, or nothing does
            del defaults["--data-dir"]
        argv = [word for word in argv if word != "NO-DATA-DIR"]
        for flag, value in defaults.items():
            if flag not in argv and not (flag in ("--hidden", "--steps") and "--config" in argv):
                argv += [flag, str(value)]
        return ["train", *argv]
    if command == "resume":
        return ["train", "--out", str(out), "--resume", *argv]
    given = dict(zip(argv[::2], argv[1::2]))
    model = given.get("--model", str(world["model"]))
    if command == "evaluate":
        return ["evaluate", "--model", model, "--data-dir", str(world["data"])]
    return ["predict", "--model", model, "--image", given.get("--image", str(world["picture"]))]


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    """A tiny dataset, a picture, a file standing for a model (never read: the picture is checked first), an
    empty home folder, and one folder per case with the case's arguments and files."""
    root = tmp_path_factory.mktemp("cli_errors")
    world = {"data": root / "data" / "mnist", "picture": root / "seven.png", "model": root / "model.npz",
             "home": root / "home"}
    rng = np.random.default_rng(0)
    for split, n in (("train", 20), ("t10k", 10)):
        write_idx(world["data"] / f"{split}-images-idx3-ubyte.gz", rng.integers(0, 256, (n, 28, 28), np.uint8))
        write_idx(world["data"] / f"{split}-labels-idx1-ubyte.gz", np.arange(n, dtype=np.uint8) % 10)
    black_on_white().save(world["picture"])
    world["model"].write_bytes(b"a model is never loaded before the picture is checked")
    world["home"].mkdir()
    world["cases"] = {}
    for k, (name, (command, extra, file, _, _)) in enumerate(CASES.items()):
        folder = root / f"case{k}"
        folder.mkdir()
        argv = _prepare(folder, command, extra, file, world)
        world["cases"][name] = (folder, argv, sorted(folder.rglob("*")))
    return world


@pytest.fixture(scope="module")
def child_outcomes(world):
    """{case: (exit status, stderr)} of the IN_A_CHILD cases, run two at a time."""
    env = _child_env(world["home"])

    def run(name):
        folder, argv, _ = world["cases"][name]
        child = subprocess.run([sys.executable, "-m", "spikingnn", *argv], cwd=folder, env=env, text=True,
                               capture_output=True, timeout=300)
        return name, (child.returncode, child.stderr)

    with concurrent.futures.ThreadPoolExecutor(max_workers=2) as pool:
        return dict(pool.map(run, IN_A_CHILD))


def check(world, case, status, err):
    folder, argv, before = world["cases"][case]
    *_, required, forbidden = CASES[case]
    lines = err.strip().splitlines()
    assert status == 2 and len(lines) == 1 and "Traceback" not in err, (argv, status, err)
    line = lines[0]
    assert line.startswith(f"spikingnn {argv[0]}: error: "), line
    for fragment in required:
        assert fragment in line, (fragment, line)
    for fragment in forbidden:
        assert fragment not in line, (fragment, line)
    after = sorted(folder.rglob("*"))
    assert after == before, f"the failed command changed files: {sorted(set(after) ^ set(before))}"


@pytest.mark.parametrize("case", IN_A_CHILD)
def test_bad_input_in_a_child_process(world, child_outcomes, case):
    check(world, case, *child_outcomes[case])


@pytest.mark.parametrize("case", [case for case in CASES if case not in IN_A_CHILD])
def test_bad_input_in_process(world, case, capsys, monkeypatch):
    folder, argv, _ = world["cases"][case]
    monkeypatch.chdir(folder)
    monkeypatch.setenv("HOME", str(world["home"]))
    monkeypatch.delenv("SPIKINGNN_DATA", raising=False)
    monkeypatch.delenv("SPIKINGNN_DEBUG", raising=False)
    status = cli.main(argv)
    check(world, case, status, capsys.readouterr().err)


def test_an_internal_error_shows_its_traceback_and_says_it_is_a_bug(monkeypatch, capsys):
    def broken(args):
        raise KeyError("a bug")

    monkeypatch.setattr(cli, "cmd_predict", broken)
    status = cli.main(["predict", "--model", "m.npz", "--image", "i.png"])
    err = capsys.readouterr().err
    assert status == 1 and "Traceback" in err and "KeyError: 'a bug'" in err
    assert "this is a bug in spikingnn" in err.strip().splitlines()[-1]
