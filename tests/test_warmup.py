"""spikingnn.training.warmup: the backward kernels compiled by a second process are the ones training then runs.

A first run (empty Numba cache) compiles the backward kernels in another process while it compiles the forward ones
itself; that only saves time if the other process's kernels have exactly the argument types of training, so that
training loads them from the cache instead of compiling them again. Checked here with an empty cache of our own.
"""
import json
import os
import subprocess
import sys

import pytest

TRAIN_AND_REPORT = """
import json, numpy as np
from spikingnn.kernels import neuron_bptt, optim, rate_input
from spikingnn.training import model
model.compile_backward_elsewhere = lambda dtype: (lambda: None)     # only the first process's kernels count here
from spikingnn.training.model import SNNClassifier
rng = np.random.default_rng(0)
SNNClassifier(hidden=(20,), num_steps=5, epochs=1).fit(rng.integers(0, 256, (8, 28, 28)).astype(np.uint8),
                                                       np.arange(8) % 2, progress=False)
print(json.dumps({kernel.__name__: {"hits": sum(kernel.stats.cache_hits.values()),
                                    "misses": sum(kernel.stats.cache_misses.values())}
                  for kernel in (neuron_bptt.backward_block, rate_input.rate_weight_grad_block,
                                 optim.adam_update_kernel)}))
"""


def _run(code_or_module, cache_dir, *args):
    env = dict(os.environ, NUMBA_CACHE_DIR=str(cache_dir))
    command = [sys.executable, "-m", code_or_module, *args] if code_or_module.startswith("spikingnn.") else \
        [sys.executable, "-c", code_or_module]
    return subprocess.run(command, env=env, capture_output=True, text=True, check=True, timeout=600).stdout


@pytest.mark.slow
def test_training_loads_the_backward_kernels_that_the_other_process_compiled(tmp_path):
    _run("spikingnn.training.warmup", tmp_path, "float32")                  # the other process's share
    _run("from spikingnn.training import warmup; warmup.compile_optimizer('float32')", tmp_path)   # this one's
    assert list(tmp_path.rglob("neuron_bptt.backward_block-*.nbi")), "nothing was cached"
    report = json.loads(_run(TRAIN_AND_REPORT, tmp_path).splitlines()[-1])
    for name, counts in report.items():
        assert counts == {"hits": 1, "misses": 0}, (name, counts)


def test_fit_waits_for_the_other_process_before_its_first_backward_pass(monkeypatch):
    """With kernels to compile, fit starts the other process once and waits for it once, after the first forward
    pass and before the first backward pass."""
    import numpy as np

    import spikingnn.progress
    from spikingnn.training import model

    events = []
    monkeypatch.setattr(spikingnn.progress, "kernels_need_compiling", lambda convolutions=True: True)
    monkeypatch.setattr(model, "compile_backward_elsewhere",
                        lambda dtype: events.append(("start", str(dtype))) or (lambda: events.append(("wait",))))
    forward, backward = model.network_forward, model.network_backward
    monkeypatch.setattr(model, "network_forward", lambda *a, **k: events.append(("forward",)) or forward(*a, **k))
    monkeypatch.setattr(model, "network_backward", lambda *a, **k: events.append(("backward",)) or backward(*a, **k))
    rng = np.random.default_rng(0)
    model.SNNClassifier(hidden=(8,), num_steps=3, epochs=2, batch_size=4).fit(
        rng.integers(0, 256, (8, 4, 4)).astype(np.uint8), np.arange(8) % 2, progress=False)
    assert events[:4] == [("start", "float32"), ("forward",), ("wait",), ("backward",)]
    assert events.count(("start", "float32")) == 1 and events.count(("wait",)) == 1


def test_waiting_compiles_the_optimiser_here_before_it_waits_for_the_other_process(monkeypatch):
    """The function fit calls before its first backward pass compiles Adam's step in this process first, then waits."""
    from spikingnn.training import warmup

    events = []

    class Child:
        def wait(self, timeout=None):
            events.append("wait for the other process")

    monkeypatch.setattr(warmup.subprocess, "Popen", lambda *a, **k: Child())
    monkeypatch.setattr(warmup, "compile_optimizer", lambda dtype: events.append(f"compile optimiser {dtype}"))
    wait = warmup.compile_backward_elsewhere("float32")
    assert events == []
    wait()
    assert events == ["compile optimiser float32", "wait for the other process"]
