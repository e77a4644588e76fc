"""Progress on screen for ``SNNClassifier.fit``: a tqdm bar per epoch and a one-line summary of each epoch.

Training itself prints nothing (``spikingnn.training.callbacks``); this is the face it reports to:

    >>> model.fit(X, y, callbacks=[ProgressBar()], progress=False)     # doctest: +SKIP
    >>> model.fit(X, y)              # the same: progress=True puts a ProgressBar first  # doctest: +SKIP

The first run after installing compiles the Numba kernels (12-33 s on the project's 2-core machine) before its
first batch; a bar would meanwhile promise an ETA of hours. So when the kernels the training code uses are not
in Numba's on-disk cache yet (``kernels_need_compiling``), the bar says so and starts only after that first
batch, timing the batches that follow.
"""
from __future__ import annotations

import sys
from pathlib import Path
from types import ModuleType

from tqdm.auto import tqdm

from spikingnn.training.callbacks import Callback
from spikingnn.training.losses import SPIKE_LOSSES

COMPILING = "compiling the Numba kernels (first run only: later runs load them from Numba's cache) ..."


def _training_kernel_modules() -> set:
    """The ``spikingnn.kernels`` modules that the loaded ``spikingnn.training`` modules import, as modules or as
    kernels (found by what they import, so that moving kernels between modules needs no change here)."""
    found = set()
    for name, module in list(sys.modules.items()):
        if not name.startswith("spikingnn.training.") or module is None:
            continue
        for value in vars(module).values():
            owner = value.__name__ if isinstance(value, ModuleType) else getattr(value, "__module__", None)
            if isinstance(owner, str) and owner.startswith("spikingnn.kernels.") and owner in sys.modules:
                found.add(sys.modules[owner])
    return found


def kernels_need_compiling(convolutions: bool = True) -> bool:
    """Whether training is about to compile Numba kernels rather than load them.

    True when some kernels module the training code uses (``kernels.conv`` only if ``convolutions``: a dense
    network never runs them) has cached kernels (``cache=True``), none of them
    compiled or loaded in this process yet, and no index file (``<module>.<kernel>-<line>.pyXY.nbi``) in the
    folder where Numba caches them (``kernels/__pycache__``, ``NUMBA_CACHE_DIR`` or Numba's fallback) as new as
    the module's source: Numba recompiles when the source is newer than its cache.
    """
    from numba.core.dispatcher import Dispatcher

    for module in _training_kernel_modules():
        if module.__name__ == "spikingnn.kernels.conv" and not convolutions:
            continue
        kernels = [kernel for kernel in vars(module).values() if isinstance(kernel, Dispatcher)
                   and kernel.__module__ == module.__name__ and kernel.stats.cache_path]
        if not kernels or any(kernel.signatures for kernel in kernels):
            continue
        source = Path(module.__file__)
        indexes = Path(kernels[0].stats.cache_path).glob(f"{source.stem}.*.nbi")
        if not any(index.stat().st_mtime >= source.stat().st_mtime for index in indexes):
            return True
    return False


def epoch_summary(metrics: dict, spiking_output: bool = True) -> str:
    """The one-line summary of an epoch's metrics (``model.history_[k]``). ``spiking_output`` False: the output
    layer is a non-spiking read-out (a membrane loss), named as such instead of a firing rate of 0."""
    val = "" if metrics["val_accuracy"] is None else f"  val acc {metrics['val_accuracy']:.4f}"
    rates = metrics["spike_rates"] if spiking_output else metrics["spike_rates"][:-1]
    return (f"epoch {metrics['epoch']}: loss {metrics['train_loss']:.4f}  train acc {metrics['train_accuracy']:.4f}"
            f"{val}  {metrics['seconds']:.1f} s ({metrics['images_per_second']:.0f} img/s)  spike rates "
            + " ".join(f"{r:.3f}" for r in rates) + ("" if spiking_output else " (output: non-spiking read-out)"))


class ProgressBar(Callback):
    """A tqdm bar per epoch with the running loss, accuracy and images per second (on ``file``, default
    stderr), removed at the epoch's end and replaced by its one-line summary (on stdout)."""

    def __init__(self, file=None):
        self.file = file
        self._bar = None
        self._epochs = self._desc = None
        self._compiling = False

    def on_fit_begin(self, model, epochs: int) -> None:
        self._epochs = epochs
        self._compiling = model.backend == "numba" and kernels_need_compiling(model.has_convolutions)

    def on_epoch_begin(self, model, epoch: int, n_batches: int) -> None:
        self._desc, self._total = f"epoch {epoch + 1}/{self._epochs}", n_batches
        if self._compiling:        # no bar, so no ETA, until the first batch has waited for the compiler
            print(COMPILING, file=self.file or sys.stderr, flush=True)
        else:
            self._bar = self._open(model.batch_in_epoch_)

    def _open(self, done: int):
        return tqdm(total=self._total, initial=done, desc=self._desc, unit="batch", leave=False, file=self.file)

    def on_batch_end(self, model, batch: int, stats: dict) -> None:
        postfix = {"loss": f"{stats['loss']:.4f}", "acc": f"{stats['accuracy']:.4f}",
                   "img_s": f"{stats['images_per_second']:.0f}"}
        if self._bar is None:      # the compiling batch is done: time the bar from here on
            self._compiling = False
            self._bar = self._open(batch + 1)
            self._bar.set_postfix(postfix)
        else:
            self._bar.set_postfix(postfix, refresh=False)     # drawn by update(), at most ~10 times a second
            self._bar.update()

    def on_epoch_end(self, model, metrics: dict) -> None:
        self._close()
        print(epoch_summary(metrics, model.loss in SPIKE_LOSSES))

    def on_fit_end(self, model) -> None:
        self._close()

    def _close(self) -> None:
        if self._bar is not None:
            self._bar.close()
            self._bar = None
