"""examples/train_mnist.py trains SNNClassifier's default recipe (the one `spikingnn train` uses) and, without
MNIST, ends in one line naming SPIKINGNN_DATA and --data-dir, exit status 2."""
import importlib.util
from pathlib import Path

import numpy as np
import pytest

from spikingnn.serialization import load
from spikingnn.training.model import SNNClassifier
from spikingnn.viz.demo import synthetic_digits

# End-to-end runs of whole commands and scripts: on the main Python of .ci/run only (see setup.cfg).
pytestmark = pytest.mark.slow

SCRIPT = Path(__file__).resolve().parents[1] / "examples" / "train_mnist.py"


def _example():
    spec = importlib.util.spec_from_file_location("train_mnist_example", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_the_example_trains_snnclassifiers_defaults(tmp_path, monkeypatch):
    example = _example()
    digits = {split: synthetic_digits(n, np.random.default_rng(k)) for k, (split, n) in
              enumerate((("train", 128), ("test", 50)))}
    monkeypatch.setattr(example, "load_mnist", lambda split, data_dir=None: digits[split])
    example.main(["--epochs", "1", "--out", str(tmp_path)])
    model = load(tmp_path / "model.npz")
    assert model.get_params() == SNNClassifier(epochs=1).get_params()
    assert model.epoch_ == 1


def test_without_mnist_one_line_names_the_two_ways_to_provide_it(tmp_path, monkeypatch, capsys):
    example = _example()

    def offline(split, data_dir=None):
        raise FileNotFoundError("mnist not found. Looked in:\n  /somewhere\nDownloading failed: no network")

    monkeypatch.setattr(example, "load_mnist", offline)
    with pytest.raises(SystemExit) as exit_info:
        example.main(["--out", str(tmp_path)])
    assert exit_info.value.code == 2
    error = capsys.readouterr().err
    assert error.count("\n") == 1 and "SPIKINGNN_DATA" in error and "--data-dir" in error
    assert not (tmp_path / "model.npz").exists()
