"""Callbacks: how a training run reports what it is doing, without knowing about screens or files.

``SNNClassifier.fit(..., callbacks=[...])`` calls the hooks below, in this order, on every callback in the list:

    on_fit_begin(model, epochs)                  once, before anything runs; ``epochs``: the epoch count fit trains to
    on_epoch_begin(model, epoch, n_batches)      ``epoch``: 0-based index of the epoch starting (``model.epoch_``);
                                                 its batches ``model.batch_in_epoch_`` .. ``n_batches - 1`` will run
    on_batch_end(model, batch, stats)            after each optimiser step; ``batch``: 0-based index in the epoch;
                                                 ``stats``: running means over the epoch so far (see below)
    on_epoch_end(model, metrics)                 the epoch's record, the dict appended to ``model.history_``
    on_fit_end(model)                            once, always: also when fit stops on Ctrl-C or an error

``stats`` holds ``loss`` (mean training loss per image), ``accuracy`` (fraction), ``images_per_second`` (over
the epoch's compute time), ``seen`` (images of this epoch so far) and ``lr`` (the learning rate of the batch).
``metrics`` holds ``epoch`` (1-based), ``train_loss``, ``train_accuracy``, ``val_accuracy`` (None without
validation data), ``seconds`` (compute time of the epoch, s), ``images_per_second``, ``lr`` (at the epoch's end)
and ``spike_rates`` (mean spikes per neuron and step, per layer).

Subclass ``Callback`` and override the hooks you need; a plain function ``f(model, metrics)`` in ``callbacks``
is an end-of-epoch callback. The package's progress bar is ``spikingnn.progress.ProgressBar``.
"""
from __future__ import annotations


class Callback:
    """Hooks of a training run, all no-ops (see the module docstring for when each is called)."""

    def on_fit_begin(self, model, epochs: int) -> None:
        pass

    def on_epoch_begin(self, model, epoch: int, n_batches: int) -> None:
        pass

    def on_batch_end(self, model, batch: int, stats: dict) -> None:
        pass

    def on_epoch_end(self, model, metrics: dict) -> None:
        pass

    def on_fit_end(self, model) -> None:
        pass


class EpochEnd(Callback):
    """A plain function ``f(model, metrics)`` called at the end of every epoch."""

    def __init__(self, function):
        self.function = function

    def on_epoch_end(self, model, metrics: dict) -> None:
        self.function(model, metrics)


def as_callbacks(callbacks) -> list:
    """``callbacks`` (Callback instances and functions f(model, metrics)) as a list of Callback instances."""
    if isinstance(callbacks, Callback) or callable(callbacks):
        raise ValueError("callbacks must be a list of Callback instances or functions f(model, metrics); "
                         f"got a single {type(callbacks).__name__}: wrap it in a list")
    hooks = []
    for callback in callbacks:
        if isinstance(callback, Callback):
            hooks.append(callback)
        elif callable(callback):
            hooks.append(EpochEnd(callback))
        else:
            raise ValueError(f"callbacks must hold Callback instances or functions f(model, metrics); "
                             f"got {type(callback).__name__}")
    return hooks
