"""One discretisation: continuous-time parameters (ms) and a step dt become the constants of a discrete update.

Every chapter of spikingnn (single units, populations, synapses, STDP traces, the Diehl & Cook network, the
training layers) takes its per-step numbers from this module, so each formula below is written, and computed,
once.

A first-order linear system relaxes towards a target x_inf with time constant tau::

    tau dx/dt = -(x - x_inf)                                                          (1)

Held constant over one step of length dt, x_inf gives the step update

    x <- d x + (1 - d) x_inf                                                          (2)

with the **decay factor** d of the integrator (``decay_factor``):

* ``'exact'``: d = exp(-dt / tau), the exact solution of (1) over the step (exponential integration);
* ``'euler'``: d = 1 - dt / tau, forward Euler, first-order accurate (negative, and oscillating, for dt > tau).

Traces, synaptic currents, conductances and adaptation variables all decay to zero (x_inf = 0): they use the
exact factor alone, x <- d x (``exact_decay``).

The LIF membrane, tau_mem dv/dt = -(v - v_rest) + R I, is (1) with x_inf = v_rest + R I, so (2) reads

    v <- decay v + rest_drive + input_gain I,
         decay = d(dt, tau_mem),  rest_drive = (1 - decay) v_rest,  input_gain = (1 - decay) R         (3)

``LIFStep`` holds these constants (and the refractory and adaptation ones) for the units of ``neurons.py``,
the populations of ``groups.py`` and, through ``training_lif_params``, the training layers, whose neurons are
(3) with rest_drive = 0 and input_gain = 1: the layer's weights carry the gain.

    >>> step = LIFStep.from_params(LIFParams(tau_mem=10.0, resistance=2.0, refractory=1.0), dt=0.5)
    >>> bool(step.decay == np.exp(-0.5 / 10.0)), bool(step.input_gain == (1 - step.decay) * 2.0)
    (True, True)
    >>> int(step.refractory_steps), float(LIFStep.from_params(LIFParams(tau_mem=10.0), 0.5, "euler").decay)
    (2, 0.95)
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ._validation import check_choice, check_in_range, check_non_negative, check_positive
from .params import ALIFParams, LIFParams

INTEGRATORS = ("exact", "euler")
"""'exact': exponential integration, exact for input held constant over a step; 'euler': forward Euler."""


def exact_decay(dt, tau):
    """d = exp(-dt / tau): the factor by which x of tau dx/dt = -x shrinks over a time dt (scalar or array)."""
    return np.exp(-np.true_divide(dt, tau))


def decay_factor(dt, tau, integrator: str = "exact"):
    """The decay factor d of update (2): exp(-dt / tau) ('exact') or 1 - dt / tau ('euler')."""
    check_choice("integrator", integrator, INTEGRATORS)
    if integrator == "exact":
        return exact_decay(dt, tau)
    return 1.0 - np.asarray(dt, dtype=float) / np.asarray(tau, dtype=float)


def step_count(duration, dt) -> np.ndarray:
    """A duration (ms) as a whole number of steps of dt, round(duration / dt) (int32, scalar or array)."""
    return np.round(np.asarray(duration, dtype=float) / dt).astype(np.int32)


def time_constant(decay, dt):
    """The inverse of ``exact_decay``: tau = -dt / ln(decay) (ms) for a decay factor in (0, 1)."""
    decay = np.asarray(decay, dtype=float)
    if not np.all((decay > 0.0) & (decay < 1.0)):
        raise ValueError(f"a decay factor must lie in (0, 1) to have a time constant; got {decay!r}")
    return -float(dt) / np.log(decay)


@dataclass(frozen=True, eq=False)
class LIFStep:
    """The step constants of a LIF or ALIF neuron (scalars, or arrays of one value per neuron).

    Attributes (update (3) of the module docstring, and the spike that follows it):
        decay: membrane decay factor over one step (exp(-dt / tau_mem) exact, 1 - dt / tau_mem Euler).
        rest_drive: (1 - decay) v_rest, the pull towards rest over one step.
        input_gain: (1 - decay) R, the step's voltage change per unit of input current.
        v_threshold, v_reset: as in ``LIFParams``.
        refractory_steps: round(refractory / dt), int32.
        adapt_decay: exp(-dt / tau_adapt) (ALIF; 1 for LIF, whose a stays 0).
        beta_adapt: threshold increase per unit of adaptation (0 for LIF).
    """

    decay: object
    rest_drive: object
    input_gain: object
    v_threshold: object
    v_reset: object
    refractory_steps: object
    adapt_decay: object
    beta_adapt: object

    @classmethod
    def from_params(cls, params: LIFParams, dt: float, integrator: str = "exact") -> "LIFStep":
        """The constants of ``params`` (a ``LIFParams`` or ``ALIFParams``) for steps of ``dt`` ms."""
        dt = float(check_positive("dt", dt, "ms"))
        decay = decay_factor(dt, params.tau_mem, integrator)
        adaptive = isinstance(params, ALIFParams)
        return cls(decay=decay,
                   rest_drive=(1.0 - decay) * np.asarray(params.v_rest, dtype=float),
                   input_gain=(1.0 - decay) * np.asarray(params.resistance, dtype=float),
                   v_threshold=np.asarray(params.v_threshold, dtype=float),
                   v_reset=np.asarray(params.v_reset, dtype=float),
                   refractory_steps=step_count(params.refractory, dt),
                   adapt_decay=exact_decay(dt, params.tau_adapt) if adaptive else np.ones_like(decay),
                   beta_adapt=np.asarray(params.beta_adapt if adaptive else 0.0, dtype=float))


def training_lif_params(beta, v_threshold, dt: float, reset: str = "subtract", rho=None, beta_adapt=0.0):
    """The continuous neuron that a training layer (``spikingnn.training.layers``) discretises.

    A training layer updates v <- beta v_after + I with its leak ``beta`` and no rest, gain or refractory period.
    That is update (3) of the exact integrator for the ``LIFParams`` (or, given the adaptation decay ``rho``,
    the ``ALIFParams``) returned here:

        tau_mem = -dt / ln(beta),  resistance = 1 / (1 - beta)  (so that input_gain = 1),
        v_rest = v_reset = 0,  refractory = 0,  tau_adapt = -dt / ln(rho),

    with the layer's ``v_threshold``, ``reset`` and ``beta_adapt``. ``beta`` and ``rho`` must lie in (0, 1).
    """
    check_in_range("beta", beta, 0.0, 1.0)
    fields = dict(tau_mem=time_constant(beta, dt), resistance=1.0 / (1.0 - np.asarray(beta, dtype=float)),
                  v_rest=0.0, v_reset=0.0, v_threshold=v_threshold, refractory=0.0, reset=reset)
    if rho is None:
        return LIFParams(**fields)
    check_non_negative("beta_adapt", beta_adapt)
    return ALIFParams(**fields, tau_adapt=time_constant(rho, dt), beta_adapt=beta_adapt)
