"""spikingnn.training.sequence_run: a run stopped and resumed ends exactly where the uninterrupted run ends (same
batches, same learning-rate schedule, Adam's state restored); Ctrl-C saves a checkpoint and exits with 130; a
checkpoint of another configuration is refused; nothing half-written is left behind."""
import os
import signal

import numpy as np
import pytest

from spikingnn.tasks import cue_accumulation
from spikingnn.training.eprop import RecurrentNetwork
from spikingnn.training.sequence_run import CHECKPOINT, train_sequences


def _net():
    return RecurrentNetwork(8, 10, 2, method="bptt", random_state=4)


def _batch(k):
    return cue_accumulation(6, 1, n_per_group=2, delay_ms=30.0, rng=np.random.default_rng([9, k]))


def _run(out, iterations, lrs, **kwargs):
    net = _net()
    history = train_sequences(net, _batch, iterations=iterations, out=out, config={"run": 1},
                              lr_schedule=lambda k: 0.01 / (1 + k), log=lambda line: None, **kwargs)
    lrs.append(net.lr)
    return net, history


def test_a_resumed_run_ends_where_the_uninterrupted_one_does(tmp_path):
    lrs = []
    whole, history = _run(tmp_path / "whole", 5, lrs)
    _run(tmp_path / "split", 2, lrs)
    resumed, resumed_history = _run(tmp_path / "split", 5, lrs)
    for name, value in whole.state_arrays().items():
        np.testing.assert_array_equal(resumed.state_arrays()[name], value, err_msg=name)
    assert [r["loss"] for r in resumed_history] == [r["loss"] for r in history] and len(history) == 5
    assert lrs == [0.01 / 5, 0.01 / 2, 0.01 / 5]          # the schedule's rate of the last batch run
    assert os.listdir(tmp_path / "split") == [CHECKPOINT]
    with pytest.raises(SystemExit, match="was trained with"):
        train_sequences(_net(), _batch, iterations=6, out=tmp_path / "split", config={"run": 2})


def test_ctrl_c_finishes_the_batch_saves_and_exits_130(tmp_path):
    def evaluate(net):                                     # runs inside batch 2: Ctrl-C arrives mid-run
        os.kill(os.getpid(), signal.SIGINT)
        return 0.5

    lines = []
    with pytest.raises(SystemExit) as exit_info:
        train_sequences(_net(), _batch, iterations=10, out=tmp_path, config={}, evaluate=evaluate, eval_every=2,
                        save_every=100, log=lines.append)
    assert exit_info.value.code == 130 and "interrupted" in lines[-1]
    with np.load(tmp_path / CHECKPOINT) as saved:
        assert int(saved["iteration"]) == 2
