"""Population coding with diverse tuning curves: the Neural Engineering Framework recipe.

The neuron here: the LIF of neurons.py (lif_rate, LIFGroup).

Eliasmith & Anderson, *Neural Engineering* (2003), ch. 2 and 7. A value x (a scalar, or a vector in the unit
ball of D dimensions) is represented by the firing rates of many LIF neurons, each tuned differently (an
*ensemble*, in the NEF's word), and read back out as a weighted sum of those rates::

    >>> ensemble = Ensemble.random(EnsembleParams(n_neurons=100), rng=0)
    >>> x = sample_unit_ball(500, 1, rng=1)                      # 500 sample points in [-1, 1], shape (500, 1)
    >>> d = solve_decoders(ensemble.rates(x), x[:, 0] ** 2)      # decoders of f(x) = x^2
    >>> round(float(ensemble.rates(0.5) @ d), 2)                 # x^2 at 0.5, read from 100 rates
    0.25

Encoding
--------
Neuron i has a preferred direction, its *encoder* e_i (a unit vector; +1 or -1 for a scalar), a *gain*
alpha_i and a *bias* current J_bias_i. The input current it receives is::

    J_i(x) = alpha_i <e_i, x> + J_bias_i                                           (1)  -> Ensemble.encode

and its rate is the LIF f-I curve of ``neurons.lif_rate`` (rest 0, reset 0, threshold 1, R = 1, so J = 1 is
the rheobase)::

    a_i(x) = 1000 / (t_ref + tau_mem ln(1 + 1 / (J_i(x) - 1)))  Hz   if J_i(x) > 1, else 0    (2)  -> Ensemble.rates

Gains and biases are not drawn directly but from two properties one can see on a tuning curve: the
*intercept* c_i (where along e_i the neuron starts firing, uniform in ``intercepts``) and the *maximum rate*
r_i (its rate at <e_i, x> = 1, uniform in ``max_rates``). Inverting (2) at r_i gives the current
J_max,i = 1 + 1 / (exp((1000 / r_i - t_ref) / tau_mem) - 1), and the two conditions J_i = 1 at c_i and
J_i = J_max,i at 1 fix the line (1)::

    alpha_i = (J_max,i - 1) / (1 - c_i),     J_bias_i = 1 - alpha_i c_i            (3)  -> gain_and_bias

Decoding
--------
The estimate is linear in the rates, x_hat = sum_i a_i(x) d_i. With the rates A (N, n) at N sample points x_k
in the unit ball and the wanted values F = f(x_k) (N, D_out), the decoders d (n, D_out) minimise
||A d - F||^2 + N sigma^2 ||d||^2, the expected error when each rate carries noise of standard deviation
sigma = reg * max(A) (Tikhonov regularisation)::

    (A^T A + N sigma^2 I) d = A^T F                                                (4)  -> solve_decoders

Any function f can be decoded from the same population (x itself, x^2, a product of components ...).
Without the sigma term the decoders fit the noiseless curves perfectly but grow huge and amplify any noise.

Decoding spikes
---------------
A simulated population (a ``groups.LIFGroup`` driven by the currents (1)) emits spikes instead of rates. Each
spike train is passed through the first-order synapse of ``synapses.py`` (decay, then a jump at each spike),
scaled so that it reads in Hz::

    r_i[t] = beta r_i[t-1] + (1 - beta) (1000 / dt) s_i[t],    beta = exp(-dt / tau_syn)    (5)  -> filter_spikes

(the jump (1 - beta) 1000 / dt makes the long-run mean of r_i equal to the spike rate exactly), and the same
decoders apply: x_hat[t] = r[t] d. The estimate lags x by about tau_syn; it matches x filtered by (5).
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.linalg import lstsq

from ._validation import as_rng, check_finite, check_non_negative, check_positive, check_shape
from .discretisation import exact_decay
from .groups import LIFGroup
from .neurons import lif_rate


def _check_range(name: str, bounds, low: float, high: float, unit: str) -> None:
    """A (lowest, highest) pair with low < lowest <= highest < high."""
    values = check_finite(name, bounds)
    if values.shape != (2,) or not low < values[0] <= values[1] < high:
        raise ValueError(f"{name} must be a pair (lowest, highest) with {low} < lowest <= highest < {high}"
                         f"{' ' + unit if unit else ''}; got {bounds!r}")


@dataclass(frozen=True)
class EnsembleParams:
    """How to draw an ensemble (the NEF's word for a population that represents one value).

    Attributes (units):
        n_neurons: number of neurons, >= 1.
        dimensions: D, the size of the represented vector x (1 for a scalar), >= 1.
        tau_mem: membrane time constant (ms), > 0.
        refractory: absolute refractory period t_ref (ms), >= 0.
        max_rates: (lowest, highest) Hz; each neuron's rate at <e, x> = 1 is uniform in this range, below 1000 / t_ref.
        intercepts: (lowest, highest); where along its encoder each neuron starts firing, inside (-1, 1).
    """

    n_neurons: int = 100
    dimensions: int = 1
    tau_mem: float = 20.0
    refractory: float = 2.0
    max_rates: tuple = (100.0, 200.0)
    intercepts: tuple = (-0.95, 0.95)

    def __post_init__(self):
        for name in ("n_neurons", "dimensions"):
            value = getattr(self, name)
            if not isinstance(value, (int, np.integer)) or value < 1:
                raise ValueError(f"{name} must be an integer >= 1; got {value!r}")
        check_positive("tau_mem", self.tau_mem, "ms")
        check_non_negative("refractory", self.refractory, "ms")
        ceiling = 1000.0 / self.refractory if self.refractory > 0 else np.inf
        _check_range("max_rates", self.max_rates, 0.0, ceiling, "Hz (1000 / refractory)")
        _check_range("intercepts", self.intercepts, -1.0, 1.0, "")


def gain_and_bias(max_rates, intercepts, tau_mem: float, refractory: float):
    """Gains alpha and bias currents J_bias that give each LIF tuning curve its intercept and maximum rate (3).

    J_max = 1 + 1 / (exp((1000 / r - t_ref) / tau_mem) - 1) is the current at which (2) reaches r;
    alpha = (J_max - 1) / (1 - c) and J_bias = 1 - alpha c. Arrays of rates r (Hz) and intercepts c in (-1, 1).
    """
    intercepts = np.asarray(intercepts, dtype=float)
    time_to_threshold = 1000.0 / np.asarray(max_rates, dtype=float) - refractory   # ms from reset to threshold
    j_max = 1.0 + 1.0 / np.expm1(time_to_threshold / tau_mem)
    gain = (j_max - 1.0) / (1.0 - intercepts)
    return gain, 1.0 - gain * intercepts


def sample_unit_sphere(n: int, dimensions: int, rng=None) -> np.ndarray:
    """n points uniform on the unit sphere in D dimensions (normalised Gaussian vectors), shape (n, D).

    For D = 1 the sphere is the two points {-1, +1}.
    """
    points = as_rng(rng).standard_normal((n, dimensions))
    return points / np.linalg.norm(points, axis=1, keepdims=True)


def sample_unit_ball(n: int, dimensions: int, rng=None) -> np.ndarray:
    """n points uniform in the unit ball in D dimensions, shape (n, D): a direction times a radius u^(1/D).

    The volume inside radius r grows as r^D, hence the D-th root of a uniform u. D = 1 gives uniform [-1, 1].
    """
    rng = as_rng(rng)
    directions = sample_unit_sphere(n, dimensions, rng)
    return directions * rng.uniform(0.0, 1.0, size=(n, 1)) ** (1.0 / dimensions)


@dataclass(frozen=True, eq=False)
class Ensemble:
    """A population of LIF neurons with diverse tuning curves, an *ensemble*: equations (1)-(3) above.

    Attributes: ``params`` (EnsembleParams), ``encoders`` (n, D) unit vectors e_i, ``gain`` (n,) alpha_i,
    ``bias`` (n,) J_bias_i. Draw one with ``Ensemble.random(params, rng)``.

    Points x have shape (..., D); for D = 1 an array of scalars (...) is accepted too (an array whose last axis
    is not of size 1 is read that way). Results gain a last axis of size n.
    """

    params: EnsembleParams
    encoders: np.ndarray
    gain: np.ndarray
    bias: np.ndarray

    @classmethod
    def random(cls, params: EnsembleParams, rng=None) -> "Ensemble":
        """Draw encoders uniform on the unit sphere, max rates and intercepts uniform in their ranges."""
        rng = as_rng(rng)
        n = params.n_neurons
        encoders = sample_unit_sphere(n, params.dimensions, rng)
        max_rates = rng.uniform(*params.max_rates, size=n)
        intercepts = rng.uniform(*params.intercepts, size=n)
        gain, bias = gain_and_bias(max_rates, intercepts, params.tau_mem, params.refractory)
        return cls(params, encoders, gain, bias)

    def _as_points(self, x) -> np.ndarray:
        x = check_finite("x", x)
        d = self.params.dimensions
        if d == 1 and (x.ndim == 0 or x.shape[-1] != 1):
            x = x[..., np.newaxis]
        if x.ndim == 0 or x.shape[-1] != d:
            raise ValueError(f"x must have shape (..., {d}) for a {d}-dimensional population; got {x.shape}")
        return x

    def encode(self, x) -> np.ndarray:
        """Input currents (1): J = gain * <e, x> + bias, shape (..., n)."""
        return self.gain * (self._as_points(x) @ self.encoders.T) + self.bias

    def rates(self, x) -> np.ndarray:
        """Tuning curves (2): the LIF rate (Hz) of every neuron at every point, shape (..., n)."""
        return lif_rate(self.encode(x), tau_mem=self.params.tau_mem, refractory=self.params.refractory)

    def simulate(self, x, dt: float = 0.1) -> np.ndarray:
        """Spikes (T, n) of a ``LIFGroup`` driven by the currents J(x[t]); x is a signal of T points, one per dt ms."""
        points = self._as_points(x)
        if points.ndim != 2:
            raise ValueError(f"x must be a signal of shape (T, {self.params.dimensions}); got {np.shape(x)}")
        group = LIFGroup(self.params.n_neurons, dt=dt, tau_mem=self.params.tau_mem,
                         refractory=self.params.refractory)
        spikes = np.zeros((len(points), self.params.n_neurons), dtype=bool)
        for t, current in enumerate(self.encode(points)):
            spikes[t] = group.step(current)
        return spikes


def solve_decoders(activities, targets, reg: float = 0.1) -> np.ndarray:
    """Regularised least-squares decoders (4): (A^T A + N sigma^2 I) d = A^T F with sigma = reg * max(A).

    ``activities`` A: (N, n) rates at N sample points; ``targets`` F: (N,) or (N, D_out) values f(x) there.
    Returns d with shape (n,) or (n, D_out), so that ``activities @ d`` estimates ``targets``.
    (4) is solved as the equivalent stacked least-squares problem [A; sqrt(N) sigma I] d = [F; 0], which is
    better conditioned than forming A^T A and gives the minimum-norm solution when reg = 0.
    """
    a = check_finite("activities", activities)
    f = check_finite("targets", targets)
    check_non_negative("reg", reg)
    check_shape("activities", a, (None, None))
    if f.ndim not in (1, 2) or f.shape[0] != a.shape[0]:
        raise ValueError(f"targets must have shape ({a.shape[0]},) or ({a.shape[0]}, D_out) to match activities "
                         f"{a.shape}; got {f.shape}")
    n_samples, n_neurons = a.shape
    sigma = reg * a.max(initial=0.0)
    stacked_a = np.vstack([a, np.sqrt(n_samples) * sigma * np.eye(n_neurons)])
    stacked_f = np.concatenate([f, np.zeros((n_neurons,) + f.shape[1:])])
    return lstsq(stacked_a, stacked_f, lapack_driver="gelsy")[0]   # QR with column pivoting


def filter_spikes(spikes, dt: float, tau_syn: float = 10.0) -> np.ndarray:
    """Instantaneous rates (Hz) from spike trains (T, n) through the synaptic filter (5).

    r[t] = beta r[t-1] + (1 - beta) (1000 / dt) s[t], beta = exp(-dt / tau_syn), starting from r = 0.
    """
    check_positive("dt", dt, "ms")
    check_positive("tau_syn", tau_syn, "ms")
    beta = float(exact_decay(dt, tau_syn))
    s = np.asarray(spikes, dtype=float)
    from scipy.signal import lfilter  # imported here: scipy.signal takes ~0.5 s to import
    return lfilter([(1.0 - beta) * 1000.0 / dt], [1.0, -beta], s, axis=0)
