"""From SNNClassifier's keyword arguments to the validated pieces that training runs on.

``build(hyper)`` checks every hyper-parameter at the boundary (``ValueError`` naming it, its accepted range and
the value received) and returns the network architecture, optimiser, schedule and surrogate as frozen records.
"""
from __future__ import annotations

from typing import NamedTuple

import numpy as np

from spikingnn._validation import check_choice, check_in_range, check_non_negative, check_positive
from spikingnn.discretisation import exact_decay
from spikingnn.params import RESET_MODES
from spikingnn.training.encoders import ENCODINGS
from spikingnn.training.layers import BACKENDS, NeuronSpec
from spikingnn.training.losses import LOSSES, SPIKE_LOSSES
from spikingnn.training.network import NetworkSpec
from spikingnn.training.optim import OPTIMIZERS, SGD, Adam, LRSchedule
from spikingnn.training.surrogate import SURROGATES, make_surrogate

NEURONS = ("lif", "alif")
DTYPES = ("float32", "float64")


class Built(NamedTuple):
    spec: NetworkSpec
    optimizer: object
    schedule: LRSchedule
    beta: float


def _positive_int(name, value) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
        raise ValueError(f"{name} must be an integer >= 1; got {value!r}")
    return int(value)


def hidden_sizes(hidden) -> tuple:
    """``hidden`` as a tuple of layer widths (an int is one layer; an empty tuple means no hidden layer)."""
    sizes = (hidden,) if isinstance(hidden, (int, np.integer)) else tuple(hidden)
    return tuple(_positive_int("hidden", n) for n in sizes)


def _exact_decay(hyper: dict, tau_name: str) -> float:
    """exp(-dt / tau) for the time constant ``tau_name`` (ms) of the hyper-parameters (``discretisation``)."""
    return float(exact_decay(check_positive("dt", hyper["dt"], "ms"), check_positive(tau_name, hyper[tau_name], "ms")))


def leak(hyper: dict) -> float:
    """The membrane decay per step: beta = exp(-dt / tau_mem) if tau_mem is given, else ``beta`` (in [0, 1])."""
    if hyper["tau_mem"] is not None:
        return _exact_decay(hyper, "tau_mem")
    return float(check_in_range("beta", hyper["beta"], 0.0, 1.0))


def build(hyper: dict, layer_sizes: tuple, stages: tuple = (), map_shapes: tuple = ()) -> Built:
    """Validate the hyper-parameters (a dict of SNNClassifier's keywords) and build the training records (``stages``
    and ``map_shapes`` of a network given by an architecture string: see ``network.NetworkSpec``)."""
    for name, choices in (("encoding", ENCODINGS), ("neuron", NEURONS), ("reset", RESET_MODES),
                          ("surrogate", SURROGATES), ("loss", LOSSES), ("optimizer", OPTIMIZERS),
                          ("backend", BACKENDS), ("dtype", DTYPES)):
        check_choice(name, hyper[name], choices)
    for name in ("num_steps", "batch_size", "epochs"):
        _positive_int(name, hyper[name])
    seed = hyper["random_state"]
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0:
        raise ValueError(f"random_state must be an integer >= 0 (it seeds numpy Generators); got {seed!r}")
    for name in ("lr", "v_threshold"):
        check_positive(name, hyper[name])
    for name in ("rate_reg", "weight_decay", "lr_min"):
        check_non_negative(name, hyper[name])
    for name in ("correct_rate", "incorrect_rate", "target_rate"):
        check_in_range(name, hyper[name], 0.0, 1.0)
    if hyper["grad_clip"] is not None:
        check_positive("grad_clip", hyper["grad_clip"])
    if any(stage.kind == "conv" for stage in stages):
        for name in ("recurrent", "residual"):
            if hyper[name]:
                raise ValueError(f"{name} must be False for a network with convolutions (arch {hyper['arch']!r})")
    surrogate = make_surrogate(hyper["surrogate"], hyper["surrogate_slope"])
    reset, detach = hyper["reset"], bool(hyper["detach_reset"])
    rho, beta_adapt = 0.0, 0.0
    if hyper["neuron"] == "alif":
        rho = _exact_decay(hyper, "tau_adapt")
        beta_adapt = float(check_non_negative("beta_adapt", hyper["beta_adapt"]))
    spec = NetworkSpec(tuple(layer_sizes), int(hyper["num_steps"]),
                       hidden_neuron=NeuronSpec(reset, detach, rho, beta_adapt, surrogate),
                       output_neuron=NeuronSpec(reset if hyper["loss"] in SPIKE_LOSSES else "readout", detach,
                                                0.0, 0.0, surrogate),
                       recurrent=bool(hyper["recurrent"]), residual=bool(hyper["residual"]), stages=tuple(stages),
                       map_shapes=tuple(map_shapes))
    if hyper["optimizer"] == "adam":
        optimizer = Adam(weight_decay=hyper["weight_decay"])
    else:
        optimizer = SGD(momentum=hyper["momentum"], weight_decay=hyper["weight_decay"])
    schedule = LRSchedule(hyper["lr_schedule"], hyper["lr_step_epochs"], hyper["lr_gamma"],
                          hyper["epochs"], hyper["lr_min"])
    return Built(spec, optimizer, schedule, leak(hyper))
