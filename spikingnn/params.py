"""Parameter records of the neuron models: small frozen dataclasses, validated when built.

Conventions used everywhere in spikingnn
-----------------------------------------
* time in **milliseconds** (``tau_mem``, ``refractory``, ``dt``); rates in **Hz**;
* voltage **dimensionless**: rest 0 and threshold 1 by default. Every equation is linear in v, so passing
  millivolts (``v_rest=-65, v_threshold=-50``) works unchanged;
* ``resistance`` turns a current into a voltage: R I has the units of v.

A field may be a scalar (one neuron, or a homogeneous population) or an array with one value per neuron
(a heterogeneous population, see ``groups.py``); validation applies to every element.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Union

import numpy as np

from ._validation import check_choice, check_finite, check_non_negative, check_positive

Scalar = Union[float, np.ndarray]

RESET_MODES = ("zero", "subtract")
"""What a spike does to the membrane, in every chapter of spikingnn (units, populations, training layers):

* ``'zero'``: v <- v_reset (Gerstner's reset);
* ``'subtract'``: v <- v - (threshold - v_reset), which keeps the overshoot above the threshold in force (a neuron
  exactly at threshold lands on v_reset, as with 'zero'; with v_reset = 0 this is v <- v - threshold).

Either way, during the ``refractory`` period that follows, v is held at its value after the reset (integration
is suspended, as in Brian2's ``unless refractory``), so 'subtract' keeps its meaning with a refractory period.
"""


@dataclass(frozen=True, eq=False)
class LIFParams:
    """Leaky integrate-and-fire: tau_mem dv/dt = -(v - v_rest) + R I; v > v_threshold -> spike, reset.

    Attributes (units):
        tau_mem: membrane time constant (ms), > 0.
        v_rest: resting potential (dimensionless).
        v_reset: potential after a spike with ``reset='zero'`` (dimensionless), below ``v_threshold``.
        v_threshold: firing threshold (dimensionless).
        resistance: membrane resistance R (v per unit current), > 0.
        refractory: absolute refractory period (ms), >= 0; v is held at its value after the reset meanwhile.
        reset: 'zero' or 'subtract' (see ``RESET_MODES``).
    """

    tau_mem: Scalar = 20.0
    v_rest: Scalar = 0.0
    v_reset: Scalar = 0.0
    v_threshold: Scalar = 1.0
    resistance: Scalar = 1.0
    refractory: Scalar = 0.0
    reset: str = "zero"

    def __post_init__(self):
        check_positive("tau_mem", self.tau_mem, "ms")
        check_finite("v_rest", self.v_rest)
        check_finite("v_reset", self.v_reset)
        check_finite("v_threshold", self.v_threshold)
        check_positive("resistance", self.resistance)
        check_non_negative("refractory", self.refractory, "ms")
        check_choice("reset", self.reset, RESET_MODES)
        if not np.all(np.asarray(self.v_threshold) > np.asarray(self.v_reset)):
            raise ValueError(
                f"v_threshold must be > v_reset; got v_threshold={self.v_threshold!r}, v_reset={self.v_reset!r}"
            )


@dataclass(frozen=True, eq=False)
class ALIFParams(LIFParams):
    """LIF with an adaptive threshold (Bellec et al. 2018): threshold = v_threshold + beta_adapt * a.

    Attributes (beyond ``LIFParams``):
        tau_adapt: time constant of the adaptation variable a (ms), > 0.
        beta_adapt: threshold increase per unit of a (dimensionless), >= 0; 0 gives plain LIF.
    """

    tau_adapt: Scalar = 200.0
    beta_adapt: Scalar = 0.2

    def __post_init__(self):
        super().__post_init__()
        check_positive("tau_adapt", self.tau_adapt, "ms")
        check_non_negative("beta_adapt", self.beta_adapt)

