"""SNNClassifier: a spiking image classifier trained by surrogate-gradient BPTT, scikit-learn style::

    model = SNNClassifier(hidden=(100,), num_steps=25, epochs=5)
    model.fit(train_images, train_labels, validation_data=(test_images, test_labels))
    model.score(test_images, test_labels)

Each batch: encode the images (``encoders.py``), run the network forward over T steps (``network.py``), take
the loss of the output layer (``losses.py``), backpropagate through time (``layers.py``) and step the optimiser
(``optim.py``). Progress is reported through callbacks (``callbacks.py``); this module prints nothing.

Reproducibility and resuming. No random state is carried from batch to batch: the shuffle of epoch e comes
from ``default_rng([random_state, 0, e])``, the encoding of batch k of epoch e from
``default_rng([random_state, 1, e, k])``, the initial weights from ``default_rng([random_state, 2])`` and
the encoding of evaluation batch k from ``default_rng([random_state, 3, k])``. So the same seed gives the same
model, and a run stopped after any batch (``epoch_``, ``batch_in_epoch_``, saved with ``get_state``) and
resumed sees exactly the batches and spikes the uninterrupted run would have seen, bit for bit.

Trust at the door. The Numba kernels do not check bounds, so every public entry point (``fit``, ``predict``,
``score``, ``output_counts``, ``record``, ``from_state``) checks the hyper-parameters' types and sizes and the
shape and dtype of every array of the state against the architecture before a kernel runs; ``check_state``
lets ``spikingnn.serialization`` make the same check on a model file before reading its arrays.
"""
from __future__ import annotations

import contextlib
import functools
import inspect
import math
import reprlib
import time
from typing import NamedTuple

import numba
import numpy as np
from threadpoolctl import threadpool_limits

from spikingnn._signals import deferred_sigint
from spikingnn.kernels import threads
from spikingnn.serialization import save as save_model
from spikingnn.training import hyperparams
from spikingnn.training.arch import MAX_ARCH_CHARS, arch_shapes, parse_arch
from spikingnn.training.callbacks import as_callbacks
from spikingnn.training.encoders import ImageLevels, encode, input_spikes, take_samples
from spikingnn.training.layers import sum_leading_axes
from spikingnn.training.losses import loss_forward_backward, output_scores, rate_regularizer
from spikingnn.training.network import init_params, network_backward, network_forward, param_shapes
from spikingnn.training.optim import clip_grad_norm
from spikingnn.training.warmup import compile_backward_elsewhere

EVAL_BATCH = 1000
# Inference encodes EVAL_BATCH pictures at a time (one random stream each) and runs the network on RUN_BATCH of them
# at a time: arrays of about a training batch's size reuse the memory that training freed (kernels/allocator.py),
# while those of 1,000 pictures start from new pages, which cost more than the arithmetic on this project's virtual
# machine. The 10k MNIST test images after a 60k training epoch, 2 threads: 0.16-0.18 s for the first call, then
# 0.09-0.12 s, with 1,000 at a time; 0.09-0.11 s from the first call on with 256 (one thread: 0.22-0.26 s, then
# 0.15-0.17 s, against 0.15-0.16 s).
RUN_BATCH = 256
# A conv network's maps are large: its inference batches hold at most about this many values in one map of all T
# steps (64 MiB of float32), so that evaluating 10,000 pictures does not need gigabytes.
EVAL_MAP_VALUES = 1 << 24
STATE_FORMAT = 1
METRICS = ("epoch", "train_loss", "train_accuracy", "val_accuracy", "seconds", "images_per_second", "lr",
           "spike_rates")
EPOCH_STATS = ("loss_sum", "correct", "seen", "seconds", "spike_sums")

# Sizes beyond these are refused, from the constructor as from a model file (where they would be a broken or
# hostile header): they bound the memory a model can ask for before anything is allocated.
MAX_STEPS = 10_000            # time steps T
MAX_WIDTH = 1 << 16           # neurons in one hidden layer
MAX_HIDDEN_LAYERS = 16
MAX_FEATURES = 1 << 22        # input pixels (2048 x 2048)
MAX_CLASSES = 1 << 16
MAX_PARAMETERS = 1 << 27      # all weights, biases, leaks and thresholds together: 512 MiB in float32
MAX_BATCH = 1 << 16
MAX_EPOCHS = 1 << 20
MAX_EPOCH_BATCHES = 1 << 32   # batch_in_epoch of a saved state
MAX_SEED = 2 ** 64 - 1
MAX_LABEL_BYTES = 256         # itemsize of one class label (a string label of up to 64 characters)


class Recording(NamedTuple):
    input_spikes: np.ndarray   # (T, N, n_in) bool; analog float values repeated over T for encoding='current'
    spikes: list               # per layer (hidden..., output): (T, N, n_l) bool
    v: list                    # per layer: (T, N, n_l) membrane potential (before its own reset)


# ------------------------------------------------------------------------------------- checks at the door
_REPR = reprlib.Repr()
_REPR.maxstring, _REPR.maxlong, _REPR.maxother = 80, 40, 80


def _short(value) -> str:
    """repr of a value received, cut short: a hostile file must not turn an error message into megabytes."""
    return _REPR.repr(value)


def _need(ok: bool, key: str, expected: str, value) -> None:
    if not ok:
        raise ValueError(f"{key} must be {expected}; got {_short(value)}")


def _is_int(value) -> bool:
    return isinstance(value, (int, np.integer)) and not isinstance(value, bool)


def _is_number(value) -> bool:
    return isinstance(value, (int, float, np.integer, np.floating)) and not isinstance(value, bool)


def _is_real(value) -> bool:
    """A finite int or float (not a bool); an int too large for a float is not."""
    try:
        return _is_number(value) and math.isfinite(value)
    except OverflowError:
        return False


def _is_widths(value) -> bool:
    widths = [value] if _is_int(value) else value if isinstance(value, (list, tuple)) else None
    return (widths is not None and len(widths) <= MAX_HIDDEN_LAYERS
            and all(_is_int(w) and 1 <= w <= MAX_WIDTH for w in widths))


def _int_in(low: int, high: int):
    return (lambda value: _is_int(value) and low <= value <= high), f"an integer in [{low}, {high}]"


_REAL = (_is_real, "a finite number")
_OPTIONAL_REAL = (lambda value: value is None or _is_real(value), "None (null) or a finite number")
_FLAG = (lambda value: isinstance(value, (bool, np.bool_)), "True or False")
_NAME = (lambda value: isinstance(value, str), "a string")
_OPTIONAL_NAME = (lambda value: value is None or isinstance(value, str), "None (null) or a string")
_ARCH = (lambda value: value is None or (isinstance(value, str) and 0 < len(value) <= MAX_ARCH_CHARS),
         f"None (null) or an architecture string of 1 to {MAX_ARCH_CHARS} characters, such as '12C5-MP2-64C5-MP2-FC10'")
MAX_SIDE = 1 << 12            # height, width or channels of an input_shape
_INPUT_SHAPE = (lambda value: value is None or (isinstance(value, (list, tuple)) and len(value) == 3
                                                and all(_is_int(n) and 1 <= n <= MAX_SIDE for n in value)),
                f"None (null) or (height, width, channels), each an integer in [1, {MAX_SIDE}]")
# Keywords added after the first model files were written: a file without them gets these values.
_ADDED_KEYWORDS = {"arch": None, "input_shape": None}

# The type and size of every constructor keyword; the ranges and choices are then checked by hyperparams.build.
_HYPER_TYPES = {
    "hidden": (_is_widths, f"an integer or a list of at most {MAX_HIDDEN_LAYERS} integers in [1, {MAX_WIDTH}]"),
    "arch": _ARCH, "input_shape": _INPUT_SHAPE,
    "num_steps": _int_in(1, MAX_STEPS), "encoding": _NAME, "neuron": _NAME, "beta": _REAL,
    "tau_mem": _OPTIONAL_REAL, "dt": _REAL, "v_threshold": _REAL, "reset": _NAME, "detach_reset": _FLAG,
    "tau_adapt": _REAL, "beta_adapt": _REAL, "surrogate": _NAME, "surrogate_slope": _REAL, "loss": _NAME,
    "correct_rate": _REAL, "incorrect_rate": _REAL, "rate_reg": _REAL, "target_rate": _REAL, "optimizer": _NAME,
    "lr": _REAL, "momentum": _REAL, "weight_decay": _REAL, "lr_schedule": _OPTIONAL_NAME, "lr_step_epochs": _REAL,
    "lr_gamma": _REAL, "lr_min": _REAL, "grad_clip": _OPTIONAL_REAL, "batch_size": _int_in(1, MAX_BATCH),
    "epochs": _int_in(1, MAX_EPOCHS), "recurrent": _FLAG, "residual": _FLAG, "learn_beta": _FLAG,
    "learn_threshold": _FLAG, "backend": _NAME, "dtype": _NAME, "random_state": _int_in(0, MAX_SEED),
}


def _check_hyper_types(params: dict, prefix: str = "") -> None:
    """Every constructor keyword of ``params`` of its type and within its size (``_HYPER_TYPES``)."""
    for name, (ok, expected) in _HYPER_TYPES.items():
        _need(ok(params[name]), prefix + name, expected, params[name])


def _check_classes(shape: tuple, dtype) -> None:
    if not (isinstance(dtype, np.dtype) and dtype.kind in "biufU" and dtype.itemsize <= MAX_LABEL_BYTES
            and len(shape) == 1 and 1 <= shape[0] <= MAX_CLASSES):
        raise ValueError(f"array 'classes' must be a 1-D array of 1 to {MAX_CLASSES} numbers or strings of at most "
                         f"{MAX_LABEL_BYTES} bytes each; got {dtype} of shape {tuple(shape)}")


def _check_layout(expected: dict, found: dict, architecture: str) -> None:
    """Every array ``expected`` ({name: (shape, dtype)}) is in ``found``, with that shape and dtype; no other."""
    missing = [name for name in expected if name not in found]
    if missing:
        raise ValueError(f"array {missing[0]!r} is missing: the architecture {architecture} needs "
                         f"{len(expected)} arrays, {len(missing)} of them are missing")
    unexpected = sorted(set(found) - set(expected))
    if unexpected:
        raise ValueError(f"array {_short(unexpected[0])} does not belong to the architecture {architecture} "
                         f"({len(unexpected)} unexpected array(s))")
    for name, (shape, dtype) in expected.items():
        found_shape, found_dtype = found[name]
        if tuple(found_shape) != tuple(shape) or found_dtype != dtype:
            raise ValueError(f"array {name!r} must be {dtype} of shape {tuple(shape)} for the architecture "
                             f"{architecture}; got {found_dtype} of shape {tuple(found_shape)}")


def _check_history(history, epoch: int, n_layers: int) -> None:
    _need(isinstance(history, list) and len(history) == epoch, "config.history",
          f"a list of {epoch} epoch records (one per completed epoch)", history)
    for k, record in enumerate(history):
        key = f"config.history[{k}]"
        _need(isinstance(record, dict) and set(record) == set(METRICS), key, f"a dict with the keys {METRICS}",
              record)
        _need(record["epoch"] == k + 1 and _is_int(record["epoch"]), f"{key}.epoch", str(k + 1), record["epoch"])
        for name in ("train_loss", "train_accuracy", "seconds", "images_per_second", "lr"):
            _need(_is_number(record[name]), f"{key}.{name}", "a number", record[name])
        _need(record["val_accuracy"] is None or _is_number(record["val_accuracy"]), f"{key}.val_accuracy",
              "None (null) or a number", record["val_accuracy"])
        rates = record["spike_rates"]
        _need(isinstance(rates, list) and len(rates) == n_layers and all(map(_is_number, rates)),
              f"{key}.spike_rates", f"a list of {n_layers} numbers (one per layer)", rates)


def _check_epoch_stats(stats, batch_in_epoch: int, n_layers: int) -> None:
    _need(isinstance(stats, dict) and set(stats) == set(EPOCH_STATS), "config.epoch_stats",
          f"a dict with the keys {EPOCH_STATS}", stats)
    for name in ("loss_sum", "seconds"):
        _need(_is_real(stats[name]), f"config.epoch_stats.{name}", "a finite number", stats[name])
    _need(_is_int(stats["seen"]) and stats["seen"] >= 0 and (stats["seen"] == 0) == (batch_in_epoch == 0),
          "config.epoch_stats.seen", "an integer >= 0, 0 exactly when batch_in_epoch is 0", stats["seen"])
    _need(_is_int(stats["correct"]) and 0 <= stats["correct"] <= stats["seen"], "config.epoch_stats.correct",
          "an integer in [0, seen]", stats["correct"])
    sums = stats["spike_sums"]
    _need(isinstance(sums, list) and len(sums) == n_layers and all(map(_is_real, sums)),
          "config.epoch_stats.spike_sums", f"a list of {n_layers} finite numbers (one per layer)", sums)


class SNNClassifier:
    """Spiking network classifier: input -> hidden LIF/ALIF layers -> output LIF layer, trained by BPTT.

    Architecture: ``hidden`` widths (e.g. (100,) for 784-100-10), or ``arch``, a string of convolutional and dense
    layers such as '12C5-MP2-64C5-MP2-FC10' (``arch.py``; it replaces ``hidden`` and ends with FC<classes>) for
    pictures of ``input_shape`` (height, width, channels; None: square grey or RGB pictures); ``num_steps`` T;
    ``encoding`` 'rate' (Bernoulli), 'latency' or 'current' (see encoders.py); ``neuron`` 'lif' or 'alif' for the
    hidden layers (ALIF: ``tau_adapt`` ms, ``beta_adapt``); leak ``beta`` or, if ``tau_mem`` (ms) is given,
    beta = exp(-dt / tau_mem); ``v_threshold``; ``reset`` 'subtract' or 'zero'; ``detach_reset`` (the reset
    spike is a constant for the gradient, as snnTorch); ``recurrent`` hidden layers; ``residual`` connections
    between equal-width hidden layers; ``learn_beta``/``learn_threshold`` (one per neuron).
    Gradient: ``surrogate`` 'fast_sigmoid', 'arctan', 'triangle' or 'sigmoid' with ``surrogate_slope``.
    Loss: ``loss`` 'ce_count', 'ce_mem_max', 'ce_mem_mean' or 'mse_count' (with ``correct_rate``,
    ``incorrect_rate``); ``rate_reg`` strength of a firing-rate regulariser towards ``target_rate``.
    Optimiser: 'adam' or 'sgd' (``momentum``), ``lr``, ``weight_decay``, ``lr_schedule`` None, 'step'
    (x ``lr_gamma`` every ``lr_step_epochs``) or 'cosine' (to ``lr_min`` over ``epochs``), ``grad_clip``
    (global norm). ``batch_size``, ``epochs``; ``backend`` 'numba' (event-driven kernels) or 'numpy' (dense
    reference); ``dtype`` 'float32' or 'float64'; ``random_state`` (int) seeds everything.

    The defaults were chosen on MNIST and Fashion-MNIST (784-100-10, T = 25, rate coding, batch 128, 5 epochs;
    trained on 50,000 training images, validated on the other 10,000): Adam at lr 1.5e-3 with a cosine schedule,
    beta 0.95, fast sigmoid of slope 5, and the cross-entropy of the output membrane averaged over time
    (``ce_mem_mean``, whose output neurons integrate without firing). They reach ~97.7 % on MNIST and ~87.8 % on
    Fashion-MNIST's test sets in 5 epochs. snnTorch's tutorial settings (ce_count, lr 5e-4 constant, slope 25)
    reach ~97.0 % here.
    """

    def __init__(self, hidden=(100,), arch=None, input_shape=None, num_steps=25, encoding="rate", neuron="lif",
                 beta=0.95, tau_mem=None, dt=1.0, v_threshold=1.0, reset="subtract", detach_reset=True,
                 tau_adapt=200.0, beta_adapt=0.2,
                 surrogate="fast_sigmoid", surrogate_slope=5.0, loss="ce_mem_mean", correct_rate=0.8,
                 incorrect_rate=0.2, rate_reg=0.0, target_rate=0.05, optimizer="adam", lr=1.5e-3, momentum=0.9,
                 weight_decay=0.0, lr_schedule="cosine", lr_step_epochs=1.0, lr_gamma=0.5, lr_min=0.0, grad_clip=None,
                 batch_size=128, epochs=5, recurrent=False, residual=False, learn_beta=False, learn_threshold=False,
                 backend="numba", dtype="float32", random_state=0):
        for name, value in locals().items():
            if name != "self":
                setattr(self, name, value)

    # ------------------------------------------------------------------------------ hyper-parameters
    @classmethod
    def _param_names(cls) -> list:
        return [p for p in inspect.signature(cls.__init__).parameters if p != "self"]

    def get_params(self) -> dict:
        """The constructor's keyword arguments, as stored (JSON-friendly: tuples become lists)."""
        return {name: list(v) if isinstance(v, tuple) else v
                for name, v in ((n, getattr(self, n)) for n in self._param_names())}

    def _built(self, n_features=None, n_classes=None) -> hyperparams.Built:
        """Check every hyper-parameter (type and size here, range in ``hyperparams.build``) and build the training
        records for ``n_features`` inputs and ``n_classes`` outputs (default: the fitted model's). Called once per
        fit or inference call, and its result passed on."""
        params = self.get_params()
        _check_hyper_types(params)
        n_features = self.n_features_in_ if n_features is None else n_features
        n_classes = len(self.classes_) if n_classes is None else n_classes
        _need(_is_int(n_features) and 1 <= n_features <= MAX_FEATURES, "n_features_in",
              f"an integer in [1, {MAX_FEATURES}]", n_features)
        _need(1 <= n_classes <= MAX_CLASSES, "the number of classes", f"in [1, {MAX_CLASSES}]", n_classes)
        sizes, stages, map_shapes = self._architecture(int(n_features), int(n_classes))
        built = hyperparams.build(params, sizes, stages, map_shapes)
        n_parameters = sum(math.prod(shape) for shape in param_shapes(built.spec).values())
        if n_parameters > MAX_PARAMETERS:
            raise ValueError(f"the layers {'-'.join(map(str, sizes))} need {n_parameters} parameters; at most "
                             f"{MAX_PARAMETERS} are accepted")
        return built

    def _architecture(self, n_features: int, n_classes: int) -> tuple:
        """(layer sizes, stages, map shapes) of the network: from ``hidden`` (no stages), or from ``arch``."""
        if self.arch is None:
            return (n_features, *hyperparams.hidden_sizes(self.hidden), n_classes), (), ()
        stages = parse_arch(self.arch)
        if stages[-1].units != n_classes:
            raise ValueError(f"arch must end with the output layer FC{n_classes} (one neuron per class); got "
                             f"FC{stages[-1].units} in {self.arch!r}")
        input_shape = self._input_shape(n_features)
        shapes = [input_shape, *arch_shapes(stages, input_shape)]
        return tuple(math.prod(shape) for shape in shapes), stages, tuple(shapes)

    def _input_shape(self, n_features: int) -> tuple:
        """The pictures' (height, width, channels): ``input_shape``, or square grey / RGB pictures of n_features."""
        if self.input_shape is not None:
            _need(math.prod(self.input_shape) == n_features, "input_shape",
                  f"(height, width, channels) of {n_features} values in all (the pictures' features)", self.input_shape)
            return tuple(int(n) for n in self.input_shape)
        for channels in (1, 3):
            side = math.isqrt(n_features // channels)
            if side * side * channels == n_features:
                return side, side, channels
        raise ValueError(f"input_shape must be given as (height, width, channels) for pictures of {n_features} "
                         f"features (they are neither square grey nor square RGB pictures)")

    @property
    def has_convolutions(self) -> bool:
        """Whether ``arch`` has convolutional layers (checked; False without ``arch``)."""
        return self.arch is not None and any(stage.kind == "conv" for stage in parse_arch(self.arch))

    @property
    def layer_sizes_(self) -> list:
        return list(self._architecture(self.n_features_in_, len(self.classes_))[0])

    def _layer_params(self, prefix: str) -> list:
        return [self.params_[f"{prefix}{layer}"] for layer in range(len(self.layer_sizes_) - 1)
                if f"{prefix}{layer}" in self.params_]

    @property
    def weights_(self) -> list:
        return self._layer_params("weights")

    @property
    def biases_(self) -> list:
        return self._layer_params("bias")

    @property
    def recurrent_weights_(self) -> list:
        return self._layer_params("w_rec")

    # ------------------------------------------------------------------------------------ state checks
    def _layout(self, built, classes_dtype) -> dict:
        """Name -> (shape, dtype) of every array of ``get_state()`` for the architecture of ``built``."""
        dtype = np.dtype(self.dtype)
        shapes = param_shapes(built.spec)
        layout = {"classes": ((built.spec.layer_sizes[-1],), classes_dtype)}
        layout.update({f"param/{name}": (shape, dtype) for name, shape in shapes.items()})
        # The optimiser's state, probed with empty stand-ins: a moment 'm/<name>' has the shape of parameter <name>,
        # anything else (the step count) the shape the probe gives it.
        probe = built.optimizer.init_state({name: np.empty(0, dtype) for name in self._trainable(shapes)})
        layout.update({f"optimizer/{key}": (shapes.get(key.partition("/")[2], value.shape), value.dtype)
                       for key, value in probe.items()})
        return layout

    def _checked_build(self, training: bool) -> hyperparams.Built:
        """Build, after checking that the fitted state (and the optimiser's, if ``training``) has the shapes and
        dtypes of the architecture: the kernels index the arrays without bounds checks."""
        if not hasattr(self, "params_"):
            raise ValueError("this SNNClassifier is not fitted yet: call fit(X, y) first")
        classes = np.asarray(self.classes_)
        _check_classes(classes.shape, classes.dtype)
        built = self._built()
        expected = self._layout(built, classes.dtype)
        found = {name: (np.shape(a), getattr(a, "dtype", type(a).__name__))
                 for name, a in self._state_arrays().items()}
        if not training:
            expected, found = ({k: v for k, v in d.items() if not k.startswith("optimizer/")}
                               for d in (expected, found))
        _check_layout(expected, found, "-".join(map(str, built.spec.layer_sizes)))
        return built

    @classmethod
    def check_state(cls, config, layout: dict) -> "SNNClassifier":
        """Check a state before its arrays exist: ``config`` as ``get_state()`` gives it, and ``layout``, the
        name -> (shape, dtype) of each array. Raises ``ValueError`` naming the key or array at fault and what was
        expected. Returns the model of that config, without its arrays (``from_state`` fills them in)."""
        _need(isinstance(config, dict) and config.get("format") == STATE_FORMAT, "config.format",
              f"{STATE_FORMAT} (the SNNClassifier state format)", config.get("format") if isinstance(config, dict)
              else config)
        fitted = {"n_features_in", "epoch", "batch_in_epoch", "history", "epoch_stats"}
        keys = {"format", "params"} | (fitted if "n_features_in" in config else set())
        _need(set(config) == keys, "config", f"a dict with the keys {sorted(keys)}", sorted(config, key=str))
        params, names = config["params"], cls._param_names()
        _need(isinstance(params, dict), "config.params", "a dict", params)
        params = {**_ADDED_KEYWORDS, **params}
        unknown, missing = sorted(set(params) - set(names), key=str), [n for n in names if n not in params]
        _need(not unknown, "config.params", "SNNClassifier parameters only", f"unknown {unknown}")
        _need(not missing, "config.params", "every SNNClassifier parameter", f"none for {missing}")
        _check_hyper_types(params, "config.params.")
        model = cls(**{k: tuple(v) if isinstance(v, list) else v for k, v in params.items()})
        if "n_features_in" not in config:
            _need(not layout, "the arrays of an unfitted model", "none", sorted(layout))
            return model
        if "classes" not in layout:
            raise ValueError("array 'classes' is missing: a fitted model needs its class labels")
        classes_shape, classes_dtype = layout["classes"]
        _check_classes(tuple(classes_shape), classes_dtype)
        built = model._built(config["n_features_in"], classes_shape[0])
        _check_layout(model._layout(built, classes_dtype), layout, "-".join(map(str, built.spec.layer_sizes)))
        epoch, batch_in_epoch = config["epoch"], config["batch_in_epoch"]
        _need(_is_int(epoch) and 0 <= epoch <= MAX_EPOCHS, "config.epoch", f"an integer in [0, {MAX_EPOCHS}]", epoch)
        _need(_is_int(batch_in_epoch) and 0 <= batch_in_epoch <= MAX_EPOCH_BATCHES, "config.batch_in_epoch",
              f"an integer in [0, {MAX_EPOCH_BATCHES}]", batch_in_epoch)
        _check_history(config["history"], epoch, built.spec.n_layers)
        _check_epoch_stats(config["epoch_stats"], batch_in_epoch, built.spec.n_layers)
        model.n_features_in_, model.epoch_, model.batch_in_epoch_ = int(config["n_features_in"]), epoch, batch_in_epoch
        model.history_, model.epoch_stats_ = list(config["history"]), dict(config["epoch_stats"])
        return model

    # ---------------------------------------------------------------------------------------- training
    def _initialise(self, n_features: int, y) -> hyperparams.Built:
        classes = np.unique(y)
        built = self._built(n_features, len(classes))
        self.classes_, self.n_features_in_ = classes, int(n_features)
        self.params_ = init_params(built.spec, built.beta, float(self.v_threshold),
                                   np.random.default_rng([self.random_state, 2]), np.dtype(self.dtype))
        self.optimizer_state_ = built.optimizer.init_state(self._trainable(self.params_))
        self.epoch_, self.batch_in_epoch_, self.history_ = 0, 0, []
        self._reset_epoch_stats(built.spec.n_layers)
        return built

    def _reset_epoch_stats(self, n_layers: int) -> None:
        self.epoch_stats_ = {"loss_sum": 0.0, "correct": 0, "seen": 0, "seconds": 0.0, "spike_sums": [0.0] * n_layers}

    def _trainable(self, params: dict) -> dict:
        skip = (() if self.learn_beta else ("beta",)) + (() if self.learn_threshold else ("v_threshold",))
        return {k: v for k, v in params.items() if k.rstrip("0123456789") not in skip}

    def fit(self, X, y, *, validation_data=None, epochs=None, callbacks=(), progress=True):
        """Train until ``epochs`` (default ``self.epochs``) epochs are complete, continuing a partial run.

        ``callbacks``: ``spikingnn.training.callbacks.Callback`` instances and plain functions f(model, metrics)
        (end of epoch). ``progress=True`` puts ``spikingnn.progress.ProgressBar()`` first among them (a bar per
        epoch and a one-line summary of it). Ctrl-C stops after the batch in progress, with a consistent state
        (``get_state``), then raises ``KeyboardInterrupt``.
        """
        hooks = as_callbacks(callbacks)
        if progress:
            from spikingnn.progress import ProgressBar  # the face lives outside training/: loaded when asked for

            hooks.insert(0, ProgressBar())
        levels, y = ImageLevels(X), np.asarray(y)
        if y.shape != (levels.shape[0],):
            raise ValueError(f"y must have shape ({levels.shape[0]},) to match X; got {y.shape}")
        target = self.epochs if epochs is None else epochs
        _need(_is_int(target) and 1 <= target <= MAX_EPOCHS, "epochs", f"an integer in [1, {MAX_EPOCHS}]", target)
        built = self._checked_build(training=True) if hasattr(self, "params_") else self._initialise(levels.shape[1], y)
        labels = self._label_indices(self._check_features(levels), y)
        validation = None if validation_data is None else self._validation(validation_data)
        n_batches = -(-levels.shape[0] // int(self.batch_size))
        if self.batch_in_epoch_ > n_batches:
            raise ValueError(f"batch_in_epoch_ is {self.batch_in_epoch_}, beyond the {n_batches} batches of an epoch "
                             f"of this X: resume with the training data of the interrupted run")
        with deferred_sigint() as interrupted, threadpool_limits(limits=1, user_api="blas"):
            # One BLAS thread: the products BLAS does here are small (the output layer), and OpenBLAS's thread
            # hand-offs cost more than they save (measured: 3.5 s -> 2.5 s per MNIST epoch on 2 cores); the
            # Numba kernels run their own threads. The previous setting is restored on leaving.
            try:
                for hook in hooks:
                    hook.on_fit_begin(self, target)
                # after the hooks: the progress bar has looked at the cache before the other process writes to it
                wait_for_backward = self._compile_backward_elsewhere_if_needed()
                while self.epoch_ < target:
                    for hook in hooks:
                        hook.on_epoch_begin(self, self.epoch_, n_batches)
                    self._run_epoch(levels, labels, built, hooks, interrupted, wait_for_backward)
                    wait_for_backward = None
                    metrics = self._finish_epoch(validation, built)
                    for hook in hooks:
                        hook.on_epoch_end(self, metrics)
                    if interrupted():
                        raise KeyboardInterrupt
            finally:
                for hook in hooks:
                    hook.on_fit_end(self)
        return self

    def _compile_backward_elsewhere_if_needed(self):
        """``warmup.compile_backward_elsewhere`` when this run would compile kernels, else None."""
        from spikingnn.progress import kernels_need_compiling  # the face's module: loaded when training begins
        needed = self.backend == "numba" and kernels_need_compiling(self.has_convolutions)
        return compile_backward_elsewhere(self.dtype) if needed else None

    def _label_indices(self, levels, y) -> np.ndarray:
        labels = np.minimum(np.searchsorted(self.classes_, y), len(self.classes_) - 1)
        if np.any(self.classes_[labels] != y):
            raise ValueError(f"y must only hold the classes seen when training began, {self.classes_.tolist()}")
        return labels

    def _validation(self, validation_data) -> tuple:
        """validation_data (X, y) as (levels, y), checked once for the whole fit."""
        X_val, y_val = validation_data
        levels, y_val = self._levels(X_val, "validation_data X"), np.asarray(y_val)
        if y_val.shape != (levels.shape[0],):
            raise ValueError(f"validation_data y must have shape ({levels.shape[0]},); got {y_val.shape}")
        return levels, y_val

    def _run_epoch(self, levels, labels, built, hooks, interrupted, wait_for_backward=None) -> None:
        """One epoch from batch ``batch_in_epoch_`` on. ``wait_for_backward``: called once, before the first
        backward pass (``warmup.compile_backward_elsewhere``).

        Each batch is encoded while the one before it trains: ``_train_step`` hands its successor's encoding to a
        kernel thread after its forward pass (``threads.start_aside``), where it runs beside the loss and the output
        layer's backward pass, which take one core. The same encodings (each batch has its own generator), the
        same training to the bit; alternating with and without it in one process (30 runs of 30 MNIST batches of
        the default network, 2 threads), training took 0.93 of the time (the output layer on one thread, alone:
        0.97).
        """
        n, size = levels.shape[0], int(self.batch_size)
        n_batches = -(-n // size)
        order = np.random.default_rng([self.random_state, 0, self.epoch_]).permutation(n)
        stats, encoded = self.epoch_stats_, {}

        def samples(batch):
            return order[batch * size:(batch + 1) * size]

        def encode_batch(batch):
            rng = np.random.default_rng([self.random_state, 1, self.epoch_, batch])
            encoded[batch] = encode(self.encoding, levels[samples(batch)], built.spec.num_steps, rng,
                                    np.dtype(self.dtype), self.backend)

        try:
            for batch in range(self.batch_in_epoch_, n_batches):
                start = time.perf_counter()
                idx = samples(batch)
                lr = float(built.schedule.lr(self.lr, self.epoch_ + batch / n_batches))
                threads.join_aside()                # this batch's encoding, if it was started beside the last one
                if batch not in encoded:
                    encode_batch(batch)
                ahead = functools.partial(encode_batch, batch + 1) if batch + 1 < n_batches else None
                loss, correct, spike_means = self._train_step(encoded.pop(batch), labels[idx], lr, built,
                                                              wait_for_backward, ahead)
                wait_for_backward = None
                stats["loss_sum"] += loss * len(idx)
                stats["correct"] += correct
                stats["seen"] += len(idx)
                stats["spike_sums"] = [a + m * len(idx) for a, m in zip(stats["spike_sums"], spike_means)]
                stats["seconds"] += time.perf_counter() - start
                self.batch_in_epoch_ = batch + 1
                running = {"loss": stats["loss_sum"] / stats["seen"], "accuracy": stats["correct"] / stats["seen"],
                           "images_per_second": stats["seen"] / max(stats["seconds"], 1e-9), "seen": stats["seen"],
                           "lr": lr}
                for hook in hooks:
                    hook.on_batch_end(self, batch, running)
                if interrupted():
                    raise KeyboardInterrupt
        finally:
            threads.join_aside()                    # nothing runs on when the epoch ends, is interrupted or fails

    def _train_step(self, encoded, labels, lr, built, wait_for_backward=None, encode_next=None):
        """One encoded batch: forward, loss, BPTT, optimiser step. Returns (loss, correct, mean spikes per layer).
        ``wait_for_backward``: called between the forward and the backward pass (see ``_run_epoch``);
        ``encode_next``: started beside the rest of the step after the forward pass (``threads.start_aside``)."""
        spikes, cache = network_forward(self.params_, built.spec, encoded, self.backend)
        if encode_next is not None:
            threads.start_aside(encode_next)
        if wait_for_backward is not None:
            wait_for_backward()
        out = loss_forward_backward(self.loss, spikes[-1], cache.neurons[-1].v, labels,
                                    self.correct_rate, self.incorrect_rate)
        d_spikes, loss = [None] * (len(spikes) - 1) + [out.d_s], out.loss
        if self.rate_reg > 0 and len(spikes) > 1:
            reg_loss, d_spikes[:-1] = rate_regularizer(spikes[:-1], self.rate_reg, self.target_rate)
            loss += reg_loss
        grads = network_backward(d_spikes, out.d_v, cache, built.spec, self.learn_beta or self.learn_threshold)
        grads = self._trainable(grads)
        clip_grad_norm(grads, self.grad_clip)
        built.optimizer.step(self.params_, grads, self.optimizer_state_, lr)
        for layer in range(built.spec.n_layers):      # keep the learned leak a decay and the threshold positive
            np.clip(self.params_[f"beta{layer}"], 0.0, 1.0, out=self.params_[f"beta{layer}"])
            np.maximum(self.params_[f"v_threshold{layer}"], 1e-3, out=self.params_[f"v_threshold{layer}"])
        correct = int(np.sum(np.argmax(out.scores, axis=1) == labels))
        # each layer's mean spike as a matrix-vector product (BLAS) and a short sum: 32 against 90 us for ``mean``
        # on a batch of the default network (2 % of a training step saved)
        return loss, correct, [float(sum_leading_axes(s).sum()) / s.size for s in spikes]

    def _finish_epoch(self, validation, built) -> dict:
        stats = self.epoch_stats_
        seconds = max(stats["seconds"], 1e-9)
        metrics = {"epoch": self.epoch_ + 1, "train_loss": stats["loss_sum"] / stats["seen"],
                   "train_accuracy": stats["correct"] / stats["seen"],
                   "val_accuracy": None if validation is None else self._accuracy(*validation, built),
                   "seconds": stats["seconds"], "images_per_second": stats["seen"] / seconds,
                   "lr": float(built.schedule.lr(self.lr, self.epoch_ + 1)),
                   "spike_rates": [s / stats["seen"] for s in stats["spike_sums"]]}
        self.epoch_, self.batch_in_epoch_ = self.epoch_ + 1, 0
        self.history_.append(metrics)
        self._reset_epoch_stats(built.spec.n_layers)
        return metrics

    # ------------------------------------------------------------------------------------------ inference
    def _check_features(self, levels, name: str = "X"):
        if levels.shape[1] != self.n_features_in_:
            raise ValueError(f"{name} must have {self.n_features_in_} features per image; got {levels.shape[1]}")
        return levels

    def _levels(self, X, name: str = "X") -> ImageLevels:
        """Images as levels (N, n_features_in_), refused unless they have the model's number of features."""
        return self._check_features(ImageLevels(X, name), name)

    def _prepare(self, X) -> tuple:
        """(levels, built) for an inference call: the state and X checked, the hyper-parameters built once."""
        built = self._checked_build(training=False)
        return self._levels(X), built

    @staticmethod
    def _eval_batch(spec) -> int:
        """Pictures per inference batch: EVAL_BATCH, fewer for a conv network (EVAL_MAP_VALUES over its largest
        map, counted before pooling, of all T steps)."""
        if not spec.stages:
            return EVAL_BATCH
        widest = max(spec.layer_sizes)
        for layer, stage in enumerate(spec.stages):
            if stage.kind == "conv":
                widest = max(widest, math.prod(spec.map_shapes[layer + 1]) * max(stage.pool_size, 1) ** 2)
        return max(1, min(EVAL_BATCH, EVAL_MAP_VALUES // (spec.num_steps * widest)))

    def _per_run(self, levels, built, result, record=False) -> list:
        """``result(encoded, spikes, cache)`` of every run of the network over the levels, in order.

        The levels are encoded in batches (``_eval_batch``; one random stream each, so the same spikes whichever
        thread draws them) and run RUN_BATCH at a time. Unless ``record``, the first layer may keep no cache
        (``network_forward``'s ``inference``). With two threads allowed, the batches are shared out: the later half
        runs on a kernel thread (``threads.start_aside``) while this thread runs the first, each on one thread,
        kernels included, so that no run waits for a hand-off between threads (10k MNIST test images after a 60k
        epoch, alternating the two ways 30 times in one process: 112 against 142 ms, median). Not for a conv
        network, whose batches are large (EVAL_MAP_VALUES) and whose kernels wait on memory: shared out so, its 10k
        test images needed a peak of 780 instead of 564 MiB and took 2.04 against 1.78 s.

        One BLAS thread meanwhile, as in ``fit``: OpenBLAS's idle threads spin on the cores that the kernels'
        threads need (the 10k MNIST test images: 0.53 s with BLAS's threads, 0.39 s without, on 2 cores).
        """
        size = self._eval_batch(built.spec)
        starts = list(range(0, levels.shape[0], size))
        shared = numba.get_num_threads() > 1 and len(starts) > 1 and not built.spec.stages

        def run(batches, out):
            with threads.alone() if shared else contextlib.nullcontext():
                for k in batches:
                    rng = np.random.default_rng([self.random_state, 3, k])
                    batch = levels[starts[k]:starts[k] + size]
                    encoded = encode(self.encoding, batch, built.spec.num_steps, rng, np.dtype(self.dtype),
                                     self.backend)
                    for first in range(0, batch.shape[0], RUN_BATCH):
                        part = take_samples(encoded, first, min(first + RUN_BATCH, batch.shape[0]))
                        spikes, cache = network_forward(self.params_, built.spec, part, self.backend,
                                                        inference=not record)
                        out.append(result(part, spikes, cache))

        first_half, second_half = [], []
        split = (len(starts) + 1) // 2 if shared else len(starts)
        with threadpool_limits(limits=1, user_api="blas"):
            try:
                if split < len(starts):
                    threads.start_aside(functools.partial(run, range(split, len(starts)), second_half))
                run(range(split), first_half)
            finally:
                threads.join_aside()
        return first_half + second_half

    def _predict(self, levels, built) -> np.ndarray:
        scores = np.concatenate(self._per_run(levels, built, lambda _, spikes, cache: output_scores(
            self.loss, spikes[-1], cache.neurons[-1].v)))
        return self.classes_[np.argmax(scores, axis=1)]

    def _accuracy(self, levels, y, built) -> float:
        return float(np.mean(self._predict(levels, built) == y))

    def predict(self, X) -> np.ndarray:
        """Predicted class of each image: argmax of the output spike counts (or membrane, for membrane losses)."""
        return self._predict(*self._prepare(X))

    def score(self, X, y) -> float:
        """Accuracy of ``predict(X)`` against ``y`` (a fraction in [0, 1])."""
        levels, built = self._prepare(X)
        y = np.asarray(y)
        if y.shape != (levels.shape[0],):
            raise ValueError(f"y must have shape ({levels.shape[0]},) to match X; got {y.shape}")
        return self._accuracy(levels, y, built)

    def output_counts(self, X) -> np.ndarray:
        """Output spike counts over the T steps, (N, n_classes)."""
        levels, built = self._prepare(X)
        return np.concatenate(self._per_run(levels, built, lambda _, spikes, cache: spikes[-1].sum(axis=0))
                              ).astype(np.int64)

    def record(self, X) -> Recording:
        """Input spikes, spikes and membrane potentials of every layer for images X (keep X small)."""
        levels, built = self._prepare(X)
        parts = self._per_run(levels, built, lambda encoded, spikes, cache: (
            input_spikes(encoded, built.spec.num_steps), spikes, [n.v for n in cache.neurons]), record=True)
        inputs = np.concatenate([p[0] for p in parts], axis=1)
        layers = range(len(parts[0][1]))
        return Recording(inputs if self.encoding == "current" else inputs.astype(bool),
                         [np.concatenate([p[1][i] for p in parts], axis=1).astype(bool) for i in layers],
                         [np.concatenate([p[2][i] for p in parts], axis=1) for i in layers])

    # ---------------------------------------------------------------------------------------- state
    def save(self, path):
        """Write the model to ``path`` (used as given): an .npz with a JSON header, written atomically
        (``spikingnn.serialization``); ``spikingnn.load(path)`` reads it back. Returns the path."""
        return save_model(self, path)

    def _state_arrays(self) -> dict:
        arrays = {"classes": self.classes_}
        arrays.update({f"param/{k}": v for k, v in self.params_.items()})
        arrays.update({f"optimizer/{k}": v for k, v in self.optimizer_state_.items()})
        return arrays

    def get_state(self):
        """(config, arrays): everything needed to continue training bit-exactly (see the module docstring)."""
        config = {"format": STATE_FORMAT, "params": self.get_params()}
        if not hasattr(self, "params_"):
            return config, {}
        config.update(n_features_in=self.n_features_in_, epoch=self.epoch_, batch_in_epoch=self.batch_in_epoch_,
                      history=self.history_, epoch_stats=self.epoch_stats_)
        return config, self._state_arrays()

    @classmethod
    def from_state(cls, config: dict, arrays: dict) -> "SNNClassifier":
        """Rebuild a classifier from ``get_state()``'s output (the arrays are copied). Checks everything
        ``check_state`` checks, then the values: finite numbers, classes sorted and distinct."""
        arrays = {name: np.asarray(array) for name, array in arrays.items()}
        model = cls.check_state(config, {name: (array.shape, array.dtype) for name, array in arrays.items()})
        if not arrays:
            return model
        for name, array in arrays.items():
            if array.dtype.kind == "f" and not np.all(np.isfinite(array)):
                raise ValueError(f"array {name!r} must hold finite numbers; got NaN or infinite values")
        classes = arrays["classes"]
        if np.any(classes[1:] <= classes[:-1]):
            raise ValueError("array 'classes' must be sorted and distinct (as numpy.unique gives them)")
        model.classes_ = classes.copy()
        model.params_ = {k[6:]: np.array(v) for k, v in arrays.items() if k.startswith("param/")}
        model.optimizer_state_ = {k[10:]: np.array(v) for k, v in arrays.items() if k.startswith("optimizer/")}
        return model
