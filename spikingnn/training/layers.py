"""Layers of a trainable spiking network: forward returns ``(out, cache)``, backward consumes the cache.

The neuron here: the LIF / ALIF of neurons.py, exact step, training_lif_params.

Two kinds of layer alternate, as in snnTorch's ``nn.Linear`` + ``snn.Leaky``:

* a **dense projection** turns the previous layer's spikes x[t] (T, B, n_in) into a current
  ``I[t] = x[t] @ W + b`` (W: (n_in, n_out), b: (n_out,)); its gradients are dW = sum_t x[t]^T dI[t],
  db = sum_t dI[t], dx[t] = dI[t] @ W^T;
* a **spiking layer** of LIF or ALIF neurons integrates that current over time (discrete update below) and
  fires; its backward pass is backpropagation through time (BPTT) with a surrogate derivative.

The neuron of a spiking layer is the LIF / ALIF neuron of ``spikingnn.neurons`` (the one every chapter runs),
discretised by ``spikingnn.discretisation`` with the exact integrator. Its update, for the layer's leak ``beta``
(one per neuron), threshold ``v_threshold`` and reset mode (``params.RESET_MODES``)::

    v[t] = beta u[t-1] + I[t],    s[t] = H(v[t] - thr[t])  (fires when v is strictly above the threshold),
    u[t] = v[t] - thr[t] s[t]  ('subtract')   |   u[t] = v[t] (1 - s[t])  ('zero'),

where v[t] is the membrane before its own reset (the surrogate needs it) and u[t] after it. An ALIF layer raises
its threshold after each spike: thr[t] = v_threshold + beta_adapt a[t], a[t] = rho (a[t-1] + s[t-1]). A
recurrent layer adds s[t-1] @ w_rec to its current.

This is ``neurons.FirstOrderLIF`` / ``neurons.ALIF`` (and ``groups.LIFGroup`` / ``ALIFGroup``), step for step, for
the continuous parameters of ``discretisation.training_lif_params(beta, v_threshold, dt, reset, rho, beta_adapt)``:

    tau_mem = -dt / ln(beta),   R = 1 / (1 - beta),   v_rest = v_reset = 0,   refractory = 0,
    tau_adapt = -dt / ln(rho)   (ALIF), and the same v_threshold, beta_adapt and reset,

so that the unit's input gain (1 - beta) R is 1: the layer's weights carry it, and its current I[t] is the
textbook R I times (1 - beta). The unit's membrane after step t is u[t]; ``tests/test_one_book.py`` runs both on
random inputs. The full update and its BPTT equations are in ``spikingnn.kernels.neuron_bptt``.

Detaching the reset (``detach_reset=True``, snnTorch's default): the spike s[t-1] that triggers the reset is
treated as a constant by the backward pass. The gradient then flows through the leak and the threshold only,
not back through the reset's own surrogate, which would push the membrane away from the threshold it just
crossed (Zenke & Vogels 2021 found it trains better). Not detaching gives the full surrogate gradient.

``backend='numba'`` runs event-driven kernels, ``backend='numpy'`` the dense NumPy references; both compute
the same numbers (``tests/test_bptt_kernels.py``).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import NamedTuple

import numpy as np

from spikingnn.kernels import neuron_bptt, projection
from spikingnn.kernels import rate_input as rate_kernels
from spikingnn.training.surrogate import FastSigmoid, Surrogate

BACKENDS = ("numba", "numpy")
# With backend 'numba', a projection runs on events when its input has fewer than EVENT_DENSITY non-zeros and it
# has at least EVENT_MIN_OUTPUTS outputs; otherwise BLAS is faster (measured on 2 cores: at 10 % density,
# 100 -> 100 costs the same both ways, and a 10-wide output is 4x faster with BLAS).
EVENT_DENSITY, EVENT_MIN_OUTPUTS = 0.05, 32
_NO_ARRAY_3D = np.zeros((0, 0, 0))


def pick_kernel(module, name: str, backend: str):
    """The kernel ``name`` of a ``spikingnn.kernels`` module for ``backend``: ``name_kernel`` or ``name_reference``."""
    return getattr(module, f"{name}_{'kernel' if backend == 'numba' else 'reference'}")


# --------------------------------------------------------------------------------------- dense projection
class DenseCache(NamedTuple):
    x: np.ndarray           # (T, B, n_in) input spikes (or counts, or analog values)
    weights: np.ndarray     # (n_in, n_out)
    backend: str            # the kernels used: 'numba' (events) or 'numpy' (BLAS)


def dense_forward(x, weights, bias, backend="numba"):
    """I[t] = x[t] @ W + b.  x: (T, B, n_in) -> current (T, B, n_out).

    With backend 'numba', very sparse input into a wide layer goes through the event-driven kernels (one weight
    row per spike); anything else is left to BLAS, which is faster for it (see EVENT_DENSITY).
    """
    x = np.ascontiguousarray(x, dtype=weights.dtype)
    if backend == "numba" and (weights.shape[1] < EVENT_MIN_OUTPUTS
                               or np.count_nonzero(x) >= EVENT_DENSITY * x.size):
        backend = "numpy"
    return pick_kernel(projection, "spike_current", backend)(x, weights, bias), DenseCache(x, weights, backend)


def sum_leading_axes(x):
    """x summed over every axis but the last ((T, B, n) -> (n,): over time and batch), as the matrix-vector product
    ones @ x (BLAS); NumPy's sum over the leading axes took 3x as long (125 against 37 us for (25, 128, 100)
    float32)."""
    rows = x.reshape(-1, x.shape[-1])
    return np.ones(rows.shape[0], x.dtype) @ rows


def dense_backward(d_current, cache, need_dx=True):
    """Gradients of dense_forward: dx = dI @ W^T (None unless ``need_dx``), dW = sum_t x^T dI, db = sum dI."""
    d_w = pick_kernel(projection, "spike_weight_grad", cache.backend)(cache.x, d_current)
    d_x = projection.project(d_current, cache.weights.T) if need_dx else None
    return d_x, d_w, sum_leading_axes(d_current)


class RateInput(NamedTuple):
    """A batch of rate-coded images, as the bytes from which the kernels draw its spikes (see encoders.py)."""
    pixel_index: np.ndarray     # (nnz,) int32, the non-zero pixels of each sample, sample after sample
    pixel_level: np.ndarray     # (nnz,) uint16, their levels 1..256: each fires with p = level / 256
    offsets: np.ndarray         # (B + 1,) int64, sample b owns entries offsets[b]:offsets[b+1]
    random_bytes: np.ndarray    # (T * nnz,) uint8
    num_steps: int
    n_inputs: int

    def dense(self) -> np.ndarray:
        """The spikes as a dense (T, B, n_inputs) 0/1 float32 array."""
        return rate_kernels.rate_spikes_reference(*self)

    def samples(self, start: int, stop: int) -> "RateInput":
        """Samples start:stop of the batch, with their own bytes: the same spikes as in the whole batch."""
        lo, hi = self.offsets[start], self.offsets[stop]
        return RateInput(self.pixel_index[lo:hi], self.pixel_level[lo:hi], self.offsets[start:stop + 1] - lo,
                         self.random_bytes[self.num_steps * lo:self.num_steps * hi], self.num_steps, self.n_inputs)


class RateCache(NamedTuple):
    rate_input: RateInput
    backend: str


def rate_dense_forward(rate_input, weights, bias, backend="numba"):
    """dense_forward for rate-coded input: the spikes are drawn inside the kernel, never stored."""
    current = pick_kernel(rate_kernels, "rate_current", backend)(*rate_input[:5], weights, bias)
    return current, RateCache(rate_input, backend)


def rate_dense_spikes(rate_input, weights, bias, beta, v_threshold, spec, backend="numba"):
    """The spikes (T, B, H) of rate_dense_forward followed by neuron_forward (no recurrence), and nothing else:
    for inference, where no gradient needs the current, the membrane or the caches (the same spikes, to the bit)."""
    return pick_kernel(rate_kernels, "rate_neuron_spikes", backend)(
        *rate_input[:5], weights, bias, beta, v_threshold, spec.rho, spec.beta_adapt, spec.reset_code)


def rate_dense_backward(d_current, cache):
    """dW, db of rate_dense_forward (the input needs no gradient); the spikes are regenerated from the bytes."""
    r = cache.rate_input
    d_w = pick_kernel(rate_kernels, "rate_weight_grad", cache.backend)(*r[:4], d_current, r.n_inputs)
    return d_w, sum_leading_axes(d_current)


# ------------------------------------------------------------------------------------ spiking neurons
@dataclass(frozen=True)
class NeuronSpec:
    """The fixed (never trained) choices of a spiking layer.

    reset: 'subtract' or 'zero' (``params.RESET_MODES``, with v_reset = 0), or 'readout' (never fires nor resets:
    a leaky integrator, the output layer of the membrane losses); detach_reset: see the module docstring;
    rho, beta_adapt: ALIF adaptation (rho = exp(-dt / tau_adapt)); beta_adapt = 0 gives LIF;
    surrogate: the backward pass's stand-in for H'.
    """

    reset: str = "subtract"
    detach_reset: bool = True
    rho: float = 0.0
    beta_adapt: float = 0.0
    surrogate: Surrogate = FastSigmoid()

    @property
    def reset_code(self) -> int:
        return {"subtract": neuron_bptt.RESET_SUBTRACT, "zero": neuron_bptt.RESET_ZERO,
                "readout": neuron_bptt.READOUT}[self.reset]


class NeuronCache(NamedTuple):
    v: np.ndarray               # (T, B, H) membrane before its own reset (v[t] of the module docstring)
    s: np.ndarray               # (T, B, H) spikes
    thr: np.ndarray             # (T, B, H) threshold in force (constant for LIF)
    beta: np.ndarray            # (H,)
    w_rec: np.ndarray           # (H, H), or (0, 0) without recurrence
    reset_spikes: np.ndarray    # (T, B, H) fixed reset spikes, or (0, 0, 0)
    spec: NeuronSpec
    backend: str


class NeuronGrads(NamedTuple):
    beta: np.ndarray | None          # (H,)
    v_threshold: np.ndarray | None   # (H,)
    w_rec: np.ndarray | None         # (H, H), None without recurrence


def neuron_forward(current, beta, v_threshold, w_rec, spec, backend="numba", smooth=False, reset_spikes=None):
    """Run LIF/ALIF neurons over time. current: (T, B, H); beta, v_threshold: (H,); w_rec: (H, H) or None.

    Returns the spikes s (T, B, H) and the cache (``cache.v`` holds the membrane). ``smooth`` replaces H by
    ``spec.surrogate.smooth`` and ``reset_spikes`` fixes the spikes that drive the reset: both only for the
    gradient checks.
    """
    dtype = current.dtype
    w_rec = np.zeros((0, 0), dtype) if w_rec is None else w_rec
    reset_spikes = _NO_ARRAY_3D.astype(dtype) if reset_spikes is None else np.ascontiguousarray(reset_spikes, dtype)
    number = dtype.type      # the kernels' scalars in the arrays' dtype (no float64 detour for float32)
    v, s, thr = pick_kernel(neuron_bptt, "neuron_forward", backend)(
        current, beta, v_threshold, number(spec.rho), number(spec.beta_adapt), w_rec, spec.reset_code,
        spec.surrogate.code, number(spec.surrogate.slope), smooth, reset_spikes)
    return s, NeuronCache(v, s, thr, beta, w_rec, reset_spikes, spec, backend)


def after_reset(cache) -> np.ndarray:
    """u, the membrane after its reset (T, B, H): v - thr r ('subtract'), v (1 - r) ('zero'), v ('readout')."""
    c = cache
    r = c.reset_spikes if c.reset_spikes.size else c.s
    if c.spec.reset == "subtract":
        return c.v - c.thr * r
    return c.v * (1.0 - r) if c.spec.reset == "zero" else c.v


def neuron_backward(d_s, d_v, cache, need_leak_threshold=True):
    """BPTT through neuron_forward. d_s: (T, B, H) dL/ds; d_v: dL/dv (T, B, H) or None.

    Returns dL/dcurrent (T, B, H) and the parameter gradients:
    dbeta = sum_t dv[t] u[t-1] (u: the membrane after its reset), dv_threshold = sum_t dthr[t]
    (both None unless ``need_leak_threshold``), dw_rec = sum_t s[t-1]^T dv[t] (None without recurrence).
    """
    c, spec = cache, cache.spec
    d_s = np.ascontiguousarray(d_s, c.v.dtype)
    d_v = _NO_ARRAY_3D.astype(c.v.dtype) if d_v is None else np.ascontiguousarray(d_v, c.v.dtype)
    number = c.v.dtype.type
    dv, dthr = pick_kernel(neuron_bptt, "neuron_backward", c.backend)(
        d_s, d_v, c.v, c.s, c.thr, c.beta, number(spec.rho), number(spec.beta_adapt), c.w_rec, spec.reset_code,
        spec.detach_reset, spec.surrogate.code, number(spec.surrogate.slope), c.reset_spikes)
    d_w_rec = pick_kernel(projection, "spike_weight_grad", c.backend)(c.s[:-1], dv[1:]) if c.w_rec.size else None
    if not need_leak_threshold:
        return dv, NeuronGrads(None, None, d_w_rec)
    d_beta = np.einsum("tbh,tbh->h", dv[1:], after_reset(c)[:-1])
    return dv, NeuronGrads(d_beta, sum_leading_axes(dthr), d_w_rec)
