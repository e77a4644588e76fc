"""Energy per inference: what a spiking network's work would cost, against the same network run as an ANN.

A spiking network does arithmetic only when a spike arrives. A spike of presynaptic neuron ``i`` makes every
one of its outgoing synapses add its weight to a postsynaptic current: one accumulate (AC) per synapse, no
multiply, because the spike is 1. Counting these *synaptic operations* (SynOps) over the ``T`` steps of one
image, for a projection with weights ``W`` (n_in, n_out):

    SynOps = sum_t sum_i s_i[t] * fan_out_i,        fan_out_i = number of non-zero weights in row i of W,

averaged over images. A hidden spike also reaches the layer's recurrent synapses (if any); with residual
connections a layer passes on its spikes plus its input, and a 2 there costs two accumulates. The same
architecture run as an ordinary ANN multiplies every input by every weight once per image (not once per step):

    MACs = number of synapses = count_nonzero(W)    (multiply-accumulates, per image).

A convolution's synapses are its kernel's weights met at every position: input (y, x, c) of a k x k convolution
reaches the outputs whose windows hold it, so its fan-out is the sum of count_nonzero(W[ky, kx, c, :]) over the
kernel offsets (ky, kx) that land inside the output map (``conv_fan_out``); its ANN MACs are the sum of the
fan-outs. Pooling (comparisons or adds on the current) is not counted.

With the analog ``current`` encoding the first layer receives pixel values, not spikes: it costs MACs too,
counted once per image (the input current ``W x`` is constant over the steps and computed once).

Energy is then *estimated* with published per-operation energies for 32-bit floating point in a 45 nm process
(M. Horowitz, "Computing's energy problem (and what we can do about it)", ISSCC 2014, p. 10-14):
add 0.9 pJ, multiply 3.7 pJ, so a multiply-add 4.6 pJ. These are estimates of arithmetic alone: memory
access (which Horowitz shows often dominates), neuron state updates (leak, bias, threshold) and control
are not counted, for either network. Useful to compare the two networks, not as a hardware measurement.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

ENERGY_SOURCE = ("estimate from Horowitz, ISSCC 2014, 45 nm, 32-bit float: add 0.9 pJ, multiply-add 4.6 pJ "
                 "(arithmetic only; memory access and neuron updates not counted)")
ADD_PJ = 0.9            # 32-bit float add, 45 nm (Horowitz 2014)
MULT_PJ = 3.7           # 32-bit float multiply, 45 nm (Horowitz 2014)
MAC_PJ = MULT_PJ + ADD_PJ   # multiply-add: 4.6 pJ


def fan_out(weights: np.ndarray) -> np.ndarray:
    """Outgoing synapses of each presynaptic neuron: the non-zero weights in each row of ``weights`` (n_in, n_out);
    a 1-D array is taken to be the fan-outs themselves (``conv_fan_out``)."""
    weights = np.asarray(weights)
    return weights if weights.ndim == 1 else np.count_nonzero(weights, axis=1)


def conv_fan_out(weights: np.ndarray, input_shape: tuple, stride: int, padding: int) -> np.ndarray:
    """Outgoing synapses of each input (H W c_in,), flattened channels-last, of a convolution with kernel ``weights``
    (k, k, c_in, c_out): for each input, the non-zero weights of the kernel offsets that reach an output. It is
    the input gradient of an all-ones output gradient through the kernel's non-zero pattern."""
    from spikingnn.kernels.conv import conv_input_grad_reference, output_size  # here: Numba loads only if needed

    nonzero = (np.asarray(weights) != 0).astype(np.float64)
    k, height, width = nonzero.shape[0], input_shape[0], input_shape[1]
    ones = np.ones((1, output_size(height, k, stride, padding), output_size(width, k, stride, padding),
                    nonzero.shape[3]))
    return np.rint(conv_input_grad_reference(ones, nonzero, (height, width), stride, padding)).astype(np.int64).ravel()


def synops(spikes: np.ndarray, weights: np.ndarray) -> float:
    """SynOps per image through one projection: ``sum_t sum_i s_i[t] fan_out_i``, averaged over the N images.

    ``spikes`` (T, N, n_in), 0/1 or bool, the presynaptic spikes; ``weights`` (n_in, n_out), or the fan-outs
    (n_in,) of a convolution.
    """
    spikes = np.asarray(spikes)
    spikes_per_neuron = spikes.sum(axis=(0, 1), dtype=np.int64)          # (n_in,) over all steps and images
    return float(spikes_per_neuron @ fan_out(weights)) / spikes.shape[1]


def macs(weights: np.ndarray) -> int:
    """Multiply-accumulates of one projection in an ANN, per image: one per synapse (non-zero weight), or the sum
    of the fan-outs (n_in,) of a convolution."""
    weights = np.asarray(weights)
    return int(weights.sum() if weights.ndim == 1 else np.count_nonzero(weights))


@dataclass(frozen=True)
class InferenceCost:
    """Work per image of a spiking network and of the same architecture as an ANN; all arrays per layer.

    ``spike_rates`` (L,): mean spikes per neuron per step of each spiking layer (hidden..., output).
    ``synops`` (P,): SynOps per image of each projection (feed-forward, then recurrent if any).
    ``snn_macs`` (P,): MACs the spiking network still needs (the first projection under analog input).
    ``ann_macs`` (L,): MACs per image of each feed-forward layer run as an ANN.
    """

    spike_rates: np.ndarray
    synops: np.ndarray
    snn_macs: np.ndarray
    ann_macs: np.ndarray

    @property
    def snn_energy_pj(self) -> float:
        """Estimated energy of one inference of the spiking network, picojoules (see ENERGY_SOURCE)."""
        return float(self.synops.sum() * ADD_PJ + self.snn_macs.sum() * MAC_PJ)

    @property
    def ann_energy_pj(self) -> float:
        """Estimated energy of one inference of the same architecture as an ANN, picojoules."""
        return float(self.ann_macs.sum() * MAC_PJ)


def count_operations(layer_spikes, projections, feedforward_weights, analog_input: bool = False) -> InferenceCost:
    """Operation counts of one batch, from arrays.

    ``layer_spikes``: list of (T, N, n_l) spike arrays of the spiking layers (hidden..., output).
    ``projections``: list of ``(presynaptic_spikes (T, N, n_in), weights (n_in, n_out) or fan-outs (n_in,))``, the
    first being the input projection. With ``analog_input`` the first projection carries pixel values, not spikes,
    and is counted as MACs once per image. ``feedforward_weights``: the layer weights of the equivalent ANN.
    """
    synops_per_projection = np.array([synops(s, w) for s, w in projections], dtype=float)
    snn_macs = np.zeros(len(projections), dtype=float)
    if analog_input:
        synops_per_projection[0] = 0.0
        snn_macs[0] = macs(projections[0][1])
    return InferenceCost(
        spike_rates=np.array([float(np.mean(s)) for s in layer_spikes]),
        synops=synops_per_projection,
        snn_macs=snn_macs,
        ann_macs=np.array([macs(w) for w in feedforward_weights], dtype=float),
    )


def _model_projections(model, recording) -> list:
    """(presynaptic spikes, weights) of every projection of a fitted SNNClassifier, feed-forward then recurrent.

    With residual connections a layer passes on its spikes plus its input (o_l = s_l + o_{l-1}), so the next
    layer's synapses are driven by that sum: a value of 2 costs two accumulates.
    """
    spec = model._built().spec
    x, presynaptic = recording.input_spikes, []
    for layer, s in enumerate(recording.spikes):
        presynaptic.append(x)
        x = s.astype(np.int8) + x if spec.has_residual(layer) else s
    projections = list(zip(presynaptic, _synapses(model)))
    projections += list(zip(recording.spikes[:-1], model.recurrent_weights_))
    return projections


def _synapses(model) -> list:
    """Each feed-forward layer's weights (n_in, n_out), or its fan-outs (``conv_fan_out``) for a convolution."""
    spec, synapses = model._built().spec, []
    for layer, weights in enumerate(model.weights_):
        stage = spec.conv_stage(layer)
        synapses.append(weights if stage is None else
                        conv_fan_out(weights, spec.map_shapes[layer], stage.stride, stage.padding))
    return synapses


def measure(model, X, batch_size: int = 500) -> InferenceCost:
    """Run a fitted SNNClassifier on images ``X`` (via ``model.record``) and average its costs per image.

    Processes ``batch_size`` images at a time so that the recording of a large test set never sits in memory.
    """
    X = np.asarray(X)
    if len(X) == 0:
        raise ValueError("X must hold at least one image; got 0")
    analog = getattr(model, "encoding", None) == "current"
    parts, sizes = [], []
    for start in range(0, len(X), batch_size):
        recording = model.record(X[start:start + batch_size])
        parts.append(count_operations(recording.spikes, _model_projections(model, recording), _synapses(model),
                                      analog_input=analog))
        sizes.append(len(X[start:start + batch_size]))
    share = np.asarray(sizes, dtype=float) / len(X)
    return InferenceCost(
        spike_rates=sum(w * p.spike_rates for w, p in zip(share, parts)),
        synops=sum(w * p.synops for w, p in zip(share, parts)),
        snn_macs=parts[0].snn_macs,
        ann_macs=parts[0].ann_macs,
    )


def describe(cost: InferenceCost) -> str:
    """Several lines of text: SynOps and MACs per layer, and both energy estimates, labelled with their source."""
    lines = ["spike rate per layer (spikes/neuron/step): "
             + ", ".join(f"{r:.4f}" for r in cost.spike_rates),
             "SynOps per image per projection: " + ", ".join(f"{s:,.0f}" for s in cost.synops)
             + f"  (total {cost.synops.sum():,.0f})"]
    if cost.snn_macs.any():
        lines.append(f"MACs per image of the analog input layer: {cost.snn_macs.sum():,.0f}")
    lines += ["MACs per image of the same ANN per layer: " + ", ".join(f"{m:,.0f}" for m in cost.ann_macs)
              + f"  (total {cost.ann_macs.sum():,.0f})",
              f"energy per inference: SNN {cost.snn_energy_pj / 1e3:,.2f} nJ, ANN {cost.ann_energy_pj / 1e3:,.2f} nJ "
              f"(ratio ANN/SNN {cost.ann_energy_pj / max(cost.snn_energy_pj, 1e-30):.1f}x)",
              f"  [{ENERGY_SOURCE}]"]
    return "\n".join(lines)
