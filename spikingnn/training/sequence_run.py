"""A training run of a ``RecurrentNetwork`` that can stop at any batch and go on later, on the same batches.

Sequence tasks train for hours (sequential MNIST: 784 steps per image), so a run must survive Ctrl-C and a closed
laptop. ``train_sequences`` asks for batch k by its number (``make_batch(k)``), so a resumed run sees exactly the
batches the uninterrupted run would have seen; it writes a checkpoint (the network's parameters, Adam's state, the
iteration, the history and the run's configuration) to a temporary file and renames it, every ``save_every``
batches, at the end, and on Ctrl-C; a later call with the same folder and configuration resumes from it.
"""
from __future__ import annotations

import json
import time
from pathlib import Path

import numpy as np

from spikingnn._io import atomic_write
from spikingnn._signals import deferred_sigint

CHECKPOINT = "checkpoint.npz"


def load_checkpoint(net, out, config):
    """Restore ``net`` from ``out``/checkpoint.npz if it exists: returns (iteration, history), or (0, []) without one.

    Refuses (SystemExit naming both) a checkpoint written with another ``config`` (a dict of JSON values).
    """
    checkpoint = Path(out) / CHECKPOINT
    if not checkpoint.exists():
        return 0, []
    with np.load(checkpoint, allow_pickle=False) as saved:
        if json.loads(str(saved["config"])) != config:
            raise SystemExit(f"{checkpoint} was trained with {saved['config']}; pass another --out for "
                             f"{json.dumps(config)}")
        net.load_state_arrays({k: saved[k] for k in saved.files if k.startswith(("param/", "opt/", "feedback/"))})
        return int(saved["iteration"]), json.loads(str(saved["history"]))


def save_checkpoint(net, out, config, iteration, history) -> Path:
    """Write ``out``/checkpoint.npz through a temporary file (never half-written); returns its path."""
    checkpoint = Path(out) / CHECKPOINT
    checkpoint.parent.mkdir(parents=True, exist_ok=True)
    with atomic_write(checkpoint) as file:
        np.savez(file, **net.state_arrays(), iteration=iteration, history=json.dumps(history),
                 config=json.dumps(config))
    return checkpoint


def train_sequences(net, make_batch, *, iterations, out, config, evaluate=None, eval_every=25, save_every=10,
                    lr_schedule=None, log=print):
    """Train ``net`` on batches ``make_batch(k)`` (a ``tasks.SequenceBatch``) for k up to ``iterations``, resumably.

    ``lr_schedule(k)``, if given, is the learning rate of batch k (a function of k alone, so a resumed run follows
    the same schedule).
    Every batch logs a line (loss, accuracy, firing rate, seconds); every ``eval_every`` batches and at the end,
    ``evaluate(net)`` (an accuracy in [0, 1]) joins the line and the history. Returns the history: one dict per
    batch. On Ctrl-C the batch in progress ends, the checkpoint is saved and SystemExit(130) is raised.
    """
    iteration, history = load_checkpoint(net, out, config)
    if iteration:
        log(f"resuming from {Path(out) / CHECKPOINT} at iteration {iteration}")
    with deferred_sigint() as interrupted:
        while iteration < iterations:
            start = time.perf_counter()
            if lr_schedule is not None:
                net.lr = float(lr_schedule(iteration))
            result = net.train_step(*make_batch(iteration))
            iteration += 1
            record = {"iteration": iteration, **result._asdict(), "seconds": time.perf_counter() - start}
            if evaluate is not None and (iteration % eval_every == 0 or iteration == iterations):
                record["val_accuracy"] = float(evaluate(net))
            history.append(record)
            val = f"  val {record['val_accuracy']:.1%}" if "val_accuracy" in record else ""
            log(f"iter {iteration:5d}  loss {result.loss:.3f}  acc {result.accuracy:5.1%}  "
                f"rate {result.rate_hz:4.1f} Hz  {record['seconds']:.1f} s{val}")
            stop = interrupted()           # read once: a Ctrl-C between two reads would skip the save
            if iteration % save_every == 0 or iteration == iterations or stop:
                checkpoint = save_checkpoint(net, out, config, iteration, history)
            if stop:
                log(f"interrupted: checkpoint saved to {checkpoint} at iteration {iteration}; run again to resume")
                raise SystemExit(130)
    return history
