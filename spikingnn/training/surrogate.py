"""Surrogate gradients: keep the spike in the forward pass, change only its derivative in the backward pass.

A spiking neuron fires when its membrane crosses the threshold, s = H(v - threshold), with H the Heaviside
step. Its derivative is zero everywhere except at the threshold, where it is infinite: the true gradient of a
spiking network tells no weight how to change. The surrogate-gradient method (Neftci, Mostafa & Zenke,
"Surrogate gradient learning in spiking neural networks", IEEE Signal Processing Magazine 36, 2019) keeps H in
the forward pass and, in the backward pass only, replaces H'(x) by a smooth bump g(x) of height ~1 at the
threshold: "change the gradient, not the forward".

Each surrogate below is a frozen record with a ``slope`` (the steepness; larger is closer to H) and three
functions of x = v - threshold:

* ``spike(x)``  the forward pass: H(x) = 1 if x > 0 else 0 (strict, as snnTorch);
* ``grad(x)``   the backward pass: the surrogate derivative g(x);
* ``smooth(x)`` a smooth function whose derivative is exactly g. Swapping it for H in the forward pass turns
  the network into an ordinary differentiable one whose true gradient is what BPTT computes, which is how the
  hand-written backward pass is checked against finite differences.

The formulas are evaluated by ``spikingnn.kernels.surrogates.surrogate_grad`` / ``surrogate_smooth`` (one
implementation, shared by the NumPy and Numba paths), selected by each record's ``code``.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from spikingnn._validation import check_choice, check_positive
from spikingnn.kernels import surrogates


@dataclass(frozen=True)
class Surrogate:
    """Base record: a Heaviside forward with a smooth backward; subclasses set ``code`` and the formulas."""

    slope: float = 25.0
    code = -1

    def __post_init__(self):
        check_positive("surrogate_slope", self.slope)

    @property
    def name(self) -> str:
        return next(key for key, cls in SURROGATES.items() if cls is type(self))

    @staticmethod
    def spike(x):
        """Forward pass: H(x) = 1.0 where x > 0, else 0.0."""
        return (np.asarray(x) > 0).astype(float)

    def grad(self, x):
        """Backward pass: the surrogate derivative g(x)."""
        return surrogates.surrogate_grad.py_func(self.code, self.slope, np.asarray(x, dtype=float))

    def smooth(self, x):
        """The smooth function whose derivative is ``grad`` (gradient checks)."""
        return surrogates.surrogate_smooth.py_func(self.code, self.slope, np.asarray(x, dtype=float))


@dataclass(frozen=True)
class FastSigmoid(Surrogate):
    """SuperSpike's fast sigmoid (Zenke & Ganguli, Neural Computation 30, 2018), snnTorch's default:

        g(x) = 1 / (1 + k |x|)^2,        smooth(x) = x / (1 + k |x|)      (k = slope, default 25)

    Height 1 at the threshold, heavy tails (~1/(k x)^2) that still reach neurons far below threshold.
    ``smooth`` rises by 2/k in all, not 1: it is the antiderivative of g, not a normalised step.
    """

    slope: float = 25.0
    code = surrogates.FAST_SIGMOID


@dataclass(frozen=True)
class ArcTan(Surrogate):
    """Arctangent surrogate (Fang et al., ICCV 2021; snnTorch's ``atan``):

        g(x) = (k / 2) / (1 + (pi k x / 2)^2),        smooth(x) = 1/2 + arctan(pi k x / 2) / pi

    ``smooth`` is a true step from 0 to 1 (area of g is 1); k = slope, default 2.
    """

    slope: float = 2.0
    code = surrogates.ARCTAN


@dataclass(frozen=True)
class Triangle(Surrogate):
    """Triangle (piecewise-linear) surrogate (Bellec et al., NeurIPS 2018; Esser et al. 2016):

        g(x) = k max(0, 1 - k |x|),      smooth(x) = 1/2 + k u - k^2 u |u| / 2,  u = clip(x, -1/k, 1/k)

    Zero beyond |x| = 1/k: neurons far from the threshold get no gradient. Area 1; k = slope, default 1.
    """

    slope: float = 1.0
    code = surrogates.TRIANGLE


@dataclass(frozen=True)
class Sigmoid(Surrogate):
    """Logistic sigmoid (Zenke & Vogels, Neural Computation 33, 2021):

        smooth(x) = sigma(k x) = 1 / (1 + exp(-k x)),      g(x) = k sigma(k x) (1 - sigma(k x))

    A true smooth step; used with a steep slope as the Heaviside stand-in of the gradient checks.
    """

    slope: float = 25.0
    code = surrogates.SIGMOID


SURROGATES = {"fast_sigmoid": FastSigmoid, "arctan": ArcTan, "triangle": Triangle, "sigmoid": Sigmoid}


def make_surrogate(name: str, slope: float | None = None) -> Surrogate:
    """The surrogate called ``name`` (one of ``SURROGATES``), with its default slope unless one is given."""
    cls = SURROGATES[check_choice("surrogate", name, SURROGATES)]
    return cls() if slope is None else cls(slope=float(slope))
