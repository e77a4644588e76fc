"""A stack of layers: input -> [projection -> spiking layer] x L -> output spikes.

Layer l (0-based) projects the output o[l-1] of the layer below (o[-1] = the encoded input) through its
weights into a current, and its neurons turn that current into spikes s[l]:

    I_l[t] = o_{l-1}[t] @ W_l + b_l,      s_l = LIF/ALIF(I_l),      o_l = s_l  (+ o_{l-1} with a residual)

The projection is dense, or, for a network given by an architecture string (``arch.py``), a convolution whose
current may be pooled, I_l[t] = pool(conv(o_{l-1}[t], W_l) + b_l) (``conv.py``). Between layers the spikes are
always (T, B, n): a convolution reads them as maps (H, W, C), channels-last, and hands its own on flattened.

A residual (skip) connection, between hidden layers of equal width above the first, adds the layer's input to
its output spikes (o_l = s_l + o_{l-1}, "SEW" residual of Fang et al. 2021), so the next layer receives spike
counts 0, 1, 2, ...; its gradient passes straight through: dL/do_{l-1} += dL/do_l.

Parameters live in one flat dict of arrays named ``weights{l}`` (n_in, n_out), ``bias{l}`` (n_out,),
``beta{l}`` and ``v_threshold{l}`` (n_out,), and ``w_rec{l}`` (n_out, n_out) for recurrent hidden layers; a
convolution's ``weights{l}`` are (k, k, c_in, c_out) and its ``bias{l}`` (c_out,), one per filter.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import NamedTuple

import numpy as np

from spikingnn.training.conv import conv_stage_backward, conv_stage_forward
from spikingnn.training.layers import (
    NeuronSpec,
    RateCache,
    RateInput,
    dense_backward,
    dense_forward,
    neuron_backward,
    neuron_forward,
    rate_dense_backward,
    rate_dense_forward,
    rate_dense_spikes,
)


@dataclass(frozen=True)
class NetworkSpec:
    """Architecture: ``layer_sizes`` (n_in, hidden..., n_out), neuron choices, recurrence, residuals, T.

    A convolutional network also has ``stages`` (one ``arch.Stage`` per layer) and ``map_shapes``: the shape of the
    input and of each layer's output, (H, W, C) or (n,) (``arch.arch_shapes``); ``layer_sizes`` are their sizes.
    """

    layer_sizes: tuple
    num_steps: int
    hidden_neuron: NeuronSpec = NeuronSpec()
    output_neuron: NeuronSpec = NeuronSpec()
    recurrent: bool = False
    residual: bool = False
    stages: tuple = ()
    map_shapes: tuple = ()

    @property
    def n_layers(self) -> int:
        return len(self.layer_sizes) - 1

    def neuron(self, layer: int) -> NeuronSpec:
        return self.output_neuron if layer == self.n_layers - 1 else self.hidden_neuron

    def has_recurrence(self, layer: int) -> bool:
        return self.recurrent and layer < self.n_layers - 1

    def has_residual(self, layer: int) -> bool:
        sizes = self.layer_sizes
        return self.residual and 0 < layer < self.n_layers - 1 and sizes[layer] == sizes[layer + 1]

    def conv_stage(self, layer: int):
        """The ``arch.Stage`` of layer ``layer`` if it is a convolution, else None."""
        stage = self.stages[layer] if self.stages else None
        return stage if stage is not None and stage.kind == "conv" else None


def param_shapes(spec: NetworkSpec) -> dict:
    """{name: shape} of every parameter array of the network, layer by layer, in the order ``init_params`` draws
    them (known without allocating anything: model files are checked against it)."""
    shapes = {}
    for layer, (n_in, n_out) in enumerate(zip(spec.layer_sizes[:-1], spec.layer_sizes[1:])):
        shapes.update({f"weights{layer}": (n_in, n_out), f"bias{layer}": (n_out,), f"beta{layer}": (n_out,),
                       f"v_threshold{layer}": (n_out,)})
        if stage := spec.conv_stage(layer):
            kernel = (stage.size, stage.size, spec.map_shapes[layer][2], stage.units)
            shapes[f"weights{layer}"], shapes[f"bias{layer}"] = kernel, (stage.units,)
        if spec.has_recurrence(layer):
            shapes[f"w_rec{layer}"] = (n_out, n_out)
    return shapes


def init_params(spec: NetworkSpec, beta: float, v_threshold: float, rng: np.random.Generator,
                dtype=np.float32) -> dict:
    """Weights and biases ~ U(-1/sqrt(fan_in), 1/sqrt(fan_in)) (PyTorch's ``nn.Linear`` and ``nn.Conv2d``: fan_in
    is n_in, or k k c_in for a convolution); beta, thresholds filled."""
    params, filled = {}, {"beta": beta, "v_threshold": v_threshold}
    for name, shape in param_shapes(spec).items():
        kind = name.rstrip("0123456789")
        if kind in filled:
            params[name] = np.full(shape, filled[kind], dtype)
            continue
        if kind != "bias":                       # a bias shares the fan-in of its layer's weights
            bound = 1.0 / np.sqrt(np.prod(shape[:-1]))
        params[name] = rng.uniform(-bound, bound, shape).astype(dtype)
    return params


class NetworkCache(NamedTuple):
    projections: list    # per layer: DenseCache or RateCache
    neurons: list        # per layer: NeuronCache
    analog_input: bool   # 'current' encoding: the first projection saw one (1, B, n_in) frame


def network_forward(params, spec: NetworkSpec, encoded, backend="numba", smooth=False, reset_spikes=None,
                    inference=False):
    """Run the network on an encoded batch (a ``RateInput``, (T, B, n_in) spikes or (B, n_in) analog values).

    Returns the spikes of every layer (list of (T, B, n_l)) and the cache; the output layer's membrane is
    ``cache.neurons[-1].v``. ``smooth`` and ``reset_spikes`` (one array per layer) are for gradient checks.
    ``inference``: no backward pass will follow, so a rate-coded dense first hidden layer without recurrence only
    fires (``rate_dense_spikes``: the same spikes, and its two caches are None).
    """
    projections, neurons, spikes = [], [], []
    analog = not isinstance(encoded, RateInput) and encoded.ndim == 2
    x = encoded
    for layer in range(spec.n_layers):
        w, b = params[f"weights{layer}"], params[f"bias{layer}"]
        beta, v_threshold = params[f"beta{layer}"], params[f"v_threshold{layer}"]
        if inference and isinstance(x, RateInput) and spec.conv_stage(layer) is None \
                and layer < spec.n_layers - 1 and not spec.has_recurrence(layer):
            s = rate_dense_spikes(x, w, b, beta, v_threshold, spec.neuron(layer), backend)
            projection = neuron = None                                  # nothing for a backward pass
        else:
            current, projection = _layer_current(x, analog, spec, layer, w, b, backend)
            s, neuron = neuron_forward(current, beta, v_threshold, params.get(f"w_rec{layer}"), spec.neuron(layer),
                                       backend, smooth, None if reset_spikes is None else reset_spikes[layer])
        projections.append(projection)
        neurons.append(neuron)
        spikes.append(s)
        x = s + x if spec.has_residual(layer) else s
    return spikes, NetworkCache(projections, neurons, analog)


def _layer_current(x, analog, spec, layer, weights, bias, backend):
    """(current (T, B, n_out), projection cache) of layer ``layer`` from its input x: rate-coded input by events,
    one analog frame repeated over the T steps ('current' encoding), or spikes through ``_project``."""
    if isinstance(x, RateInput) and spec.conv_stage(layer) is None:
        return rate_dense_forward(x, weights, bias, backend)
    if analog and layer == 0:
        frame, projection = _project(x[None], spec, layer, weights, bias, backend)
        return np.repeat(frame, spec.num_steps, axis=0), projection          # the same current at every step
    return _project(x.dense() if isinstance(x, RateInput) else x, spec, layer, weights, bias, backend)


def _project(x, spec, layer, weights, bias, backend):
    """The current of layer ``layer`` from its input x (L, B, n_in): a convolutional stage or a dense projection."""
    if stage := spec.conv_stage(layer):
        return conv_stage_forward(x, stage, spec.map_shapes[layer], weights, bias, backend)
    return dense_forward(x, weights, bias, backend)


def _project_backward(d_current, projection, need_dx=True):
    """dx, dW, db of ``_project`` (a convolutional stage's cache has ``pooled_shape``, a dense one does not)."""
    if hasattr(projection, "pooled_shape"):
        return conv_stage_backward(d_current, projection, need_dx)
    return dense_backward(d_current, projection, need_dx)


def network_backward(d_spikes, d_v_out, cache: NetworkCache, spec: NetworkSpec, learn_leak_threshold=False):
    """Gradients of every parameter from dL/ds of each layer (list, None entries allowed) and the output's dL/dv.

    Returns a dict with the names of ``init_params``; ``beta{l}``/``v_threshold{l}`` only if
    ``learn_leak_threshold``.
    """
    grads, d_out = {}, None          # d_out: dL/do_l arriving from above
    for layer in reversed(range(spec.n_layers)):
        d_s = d_spikes[layer] if d_out is None else d_out if d_spikes[layer] is None else d_out + d_spikes[layer]
        last = layer == spec.n_layers - 1
        d_current, ng = neuron_backward(d_s, d_v_out if last else None, cache.neurons[layer], learn_leak_threshold)
        if learn_leak_threshold:
            grads[f"beta{layer}"], grads[f"v_threshold{layer}"] = ng.beta, ng.v_threshold
        if ng.w_rec is not None:
            grads[f"w_rec{layer}"] = ng.w_rec
        projection = cache.projections[layer]
        if layer > 0:
            d_x, grads[f"weights{layer}"], grads[f"bias{layer}"] = _project_backward(d_current, projection)
            d_out = d_x + d_out if spec.has_residual(layer) else d_x
        elif isinstance(projection, RateCache):
            grads["weights0"], grads["bias0"] = rate_dense_backward(d_current, projection)
        else:   # spikes, or one analog frame that receives the gradient of all T steps
            d_frame = d_current.sum(axis=0, keepdims=True) if cache.analog_input else d_current
            _, grads["weights0"], grads["bias0"] = _project_backward(d_frame, projection, need_dx=False)
    return grads
