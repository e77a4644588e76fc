"""NIR graphs run as they are written: each node's continuous equation, and the step of dt that runs it.

``spikingnn.nir.from_nir`` turns a chain of layers into an ``SNNClassifier``. ``simulate`` runs any graph of the
nodes below, those a classifier cannot hold included (synaptic currents, delays, scalings, thresholds, branches),
on a batch of input sequences at once, and records every node's output and state at every step: a network
trained in snnTorch, Norse or elsewhere can be read, run and inspected here, and its recordings are the
(T, neurons) arrays that ``spikingnn.viz.plot_raster`` and ``plot_membrane`` draw::

    recording = simulate("model.nir", inputs, dt=0.1)       # inputs (T, batch, *shape) of the Input node; ms
    recording.outputs["output"]                              # (T, batch, *shape): what reaches the Output node
    recording.states["lif1"]["v"][:, 0]                      # the membranes of node lif1, first sequence

Conventions. NIR's time constants and delays are in seconds, spikingnn's dt in ms. A node's input x is the sum of
the outputs of the nodes with an edge into it (NIR's rule) and is held constant over the step, as everywhere in
spikingnn (``spikingnn.discretisation``, update (2)); a spike is 1 in the step in which it happens, 0 otherwise.
Each first-order equation  tau dx/dt = (x_rest - x) + g u  is stepped with the decay factor d of the
discretisation module, ``decay_factor(dt, tau, integrator)``: d = exp(-dt / tau) ('exact', the default: exact for
u held over the step) or 1 - dt / tau ('euler', the step of snnTorch and Norse; refused where dt > tau)::

    x <- d x + (1 - d) x_rest + (1 - d) g u                                                    (1)

=============  ===============================================  ===============================================
node           continuous equation (NIR)                        step of dt (x: the node's input in the step)
=============  ===============================================  ===============================================
Input, Output  y = x                                            the same
Affine         y = W x + b   (W (out, in), on the last axis)    the same
Linear         y = W x                                          the same
Scale          y = s x   (element by element)                   the same
Threshold      y = 1 where x > threshold, else 0                the same
Flatten        y = x with dims start_dim..end_dim merged        the same (dims of the node's input, no batch)
Delay          y(t) = x(t - delay)                              y[t] = x[t - k], k = delay / dt; 0 before
I              dv/dt = r x                                      v <- v + dt r x   (exact, for both)
LI             tau dv/dt = (v_leak - v) + r x                   (1): v <- d v + (1 - d) v_leak + (1 - d) r x
IF, LIF        I, LI, and a spike where v > v_threshold         the I or LI step, then spike and reset
CubaLI         tau_syn di/dt = -i + w_in x                      (1) for i: i <- a i + (1 - a) w_in x, then
               tau_mem dv/dt = (v_leak - v) + r i               (1) for v, the new i held over the step
CubaLIF        CubaLI, and a spike where v > v_threshold        the CubaLI step, then spike and reset
=============  ===============================================  ===============================================

Spikes and resets follow ``params.RESET_MODES``: a spike where v > v_threshold (strictly), then v <- v_reset
('zero', NIR's definition) or v <- v - (v_threshold - v_reset) ('subtract'). ``reset=`` chooses for every node;
by default each spiking node's ``metadata['reset']`` (what ``to_nir`` writes), else 'zero'. A run starts at rest:
v = v_leak (0 for I and IF), i = 0, delays holding 0. (``from_nir``'s classifier starts v at 0: the same for
v_leak = 0, which is what ``to_nir`` writes.)

The book's pieces. LI and LIF are ``neurons.FirstOrderLIF`` (tau_mem = 1000 tau ms, resistance r,
v_rest = v_leak), without and with its threshold. CubaLIF is ``synapses.FirstOrderSynapse`` followed by
``FirstOrderLIF``: first the synaptic current, exactly (a = exp(-dt / tau_syn)), then the membrane with that
current held over the step, the piecewise-constant approximation the synapse chapter describes. A synapse that
jumps by w at each spike is (1 - a) w_in W = w: W = w and w_in = 1 / (1 - a) (as ``to_nir`` writes r = 1 / (1 -
beta) for a unit gain); with 'euler' the step is snnTorch's ``Synaptic`` (which exports w_in = tau_syn / dt,
r = tau_mem / dt: gains of 1). For a constant input, i is the continuous solution at every step and v stays
within r |w_in x| (1 - a) of it, the current's rise over one step. ``tests/test_nir.py`` checks each of these.

Order within a step. Subgraphs are inlined (their nodes are named 'subgraph.node'), and the nodes run in the
order of a depth-first search from the Input nodes that follows the edges in the order the graph lists them;
every node must be reachable from an Input. An edge that closes a cycle (back to a node on the search's path)
carries its source's output of the previous step (0 in the first): the recurrent subgraph that ``to_nir``
writes, LIF <-> Linear(w_rec^T), is then the classifier's recurrence w_rec s[t-1].

Refused, with a ValueError naming the node (and the file): node types not in the table (convolutions, pooling),
parameters that are NaN, infinite, or neither one value for all nor one per element of the node's input, a
projection whose weight does not fit its input, inputs of different shapes summed into one node, tau <= 0,
v_threshold <= v_reset, 'euler' steps longer than a time constant, delays that are negative or not whole
numbers of steps, and inputs of the wrong shape.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import NamedTuple

import numpy as np

from spikingnn._validation import check_choice, check_finite
from spikingnn.discretisation import decay_factor, step_count
from spikingnn.nir import (
    MS_PER_S,
    PROJECTIONS,
    _flatten,
    _node_reset,
    _on_graph,
    _projection,
    _require_nir,
    _time_step,
)
from spikingnn.params import RESET_MODES

NEURONS = {   # kind: (has a synaptic current, the field of its membrane time constant (None: no leak), spikes)
    "I": (False, None, False), "IF": (False, None, True), "LI": (False, "tau", False),
    "LIF": (False, "tau", True), "CubaLI": (True, "tau_mem", False), "CubaLIF": (True, "tau_mem", True)}
ELEMENTWISE = {"Scale": "scale", "Threshold": "threshold", "Delay": "delay"}    # kind: its parameter
RUNS = ("Input", "Output", "Flatten", *PROJECTIONS, *ELEMENTWISE, *NEURONS)


class Leak(NamedTuple):
    """A first-order variable of a neuron node and the constants of its step (1), per element:
    ``state`` <- decay * state + rest_drive + input_gain * u, starting from ``at_rest``."""

    state: str
    decay: np.ndarray
    rest_drive: np.ndarray
    input_gain: np.ndarray
    at_rest: np.ndarray


class Spike(NamedTuple):
    """A spiking node's threshold and reset value, per element."""

    v_threshold: np.ndarray
    v_reset: np.ndarray


def _param(name: str, node, field: str, shape: tuple) -> np.ndarray:
    """A node's parameter as floats of ``shape`` (the node's input): one value per element or one for all, finite."""
    kind = type(node).__name__
    try:
        value = None if getattr(node, field, None) is None else np.asarray(getattr(node, field), dtype=float)
    except (TypeError, ValueError):
        raise ValueError(f"node {name!r} ({kind}): parameter {field} must be numbers") from None
    if value is None or not (value.shape == tuple(shape) or (value.size == 1 and value.ndim <= 1)):
        raise ValueError(f"node {name!r} ({kind}): parameter {field} must have shape {tuple(shape)} or be a scalar; "
                         f"got {'nothing' if value is None else value.shape}")
    if not np.all(np.isfinite(value)):
        raise ValueError(f"node {name!r} ({kind}): parameter {field} must be finite; got NaN or infinite values")
    return np.broadcast_to(value if value.shape == tuple(shape) else value.reshape(()), shape).astype(float)


def neuron_steps(name: str, node, shape: tuple, dt_s: float, integrator: str) -> tuple[list, Spike | None]:
    """The step constants of a neuron node (a kind of ``NEURONS``) whose input has ``shape``, for steps of ``dt_s``
    seconds: its ``Leak`` variables in the order they are stepped (i_syn, then v), and its ``Spike`` (or None)."""
    kind = type(node).__name__
    synaptic, tau_field, spiking = NEURONS[kind]
    zeros = np.zeros(shape)

    def leak(state: str, field, gain: np.ndarray, at_rest: np.ndarray) -> Leak:
        """The step (1) of the variable ``state`` whose time constant is the parameter ``field`` (None: no leak)."""
        if field is None:                            # I, IF: dv/dt = r x, v <- v + dt r x (exact and Euler alike)
            return Leak(state, np.ones(shape), zeros, dt_s * gain, zeros)
        tau = _param(name, node, field, shape)
        if np.any(tau <= 0):
            raise ValueError(f"node {name!r} ({kind}): {field} must be > 0 s; got {tau.min()}")
        decay = decay_factor(dt_s, tau, integrator)
        if np.any(decay < 0):
            raise ValueError(f"node {name!r} ({kind}): forward Euler needs dt <= {field}; dt = {dt_s} s, "
                             f"{field} down to {tau.min()} s (use integrator='exact' or a smaller dt)")
        return Leak(state, decay, (1.0 - decay) * at_rest, (1.0 - decay) * gain, at_rest)

    leaks = [leak("i_syn", "tau_syn", _param(name, node, "w_in", shape), zeros)] if synaptic else []
    v_leak = zeros if tau_field is None else _param(name, node, "v_leak", shape)
    leaks.append(leak("v", tau_field, _param(name, node, "r", shape), v_leak))
    if not spiking:
        return leaks, None
    spike = Spike(_param(name, node, "v_threshold", shape), _param(name, node, "v_reset", shape))
    if np.any(spike.v_threshold <= spike.v_reset):
        raise ValueError(f"node {name!r} ({kind}): v_threshold must be > v_reset; got v_threshold down to "
                         f"{spike.v_threshold.min()}, v_reset up to {spike.v_reset.max()}")
    return leaks, spike


# ----------------------------------------------------------------------------------------- one node each
class _Node:
    """How a node steps: ``start(batch, steps)`` before a run of ``steps`` steps, then ``step(x)`` -> its output
    for each step's input x (batch, *shape); ``state``: the variables a recording keeps (none here)."""

    state: dict = {}

    def start(self, batch: int, steps: int) -> None:
        """Nothing to set."""


class _Function(_Node):
    """A node without state: y = function(x)."""

    def __init__(self, function):
        self.function = function

    def step(self, x: np.ndarray) -> np.ndarray:
        return self.function(x)


class _Delay(_Node):
    """y[t] = x[t - k] element by element, k whole steps >= 0: a ring of the last max(k) + 1 inputs (a delay
    longer than the run gives 0 throughout: k = the run's length, with the ring no longer than that)."""

    def __init__(self, lags: np.ndarray):
        self.lags = lags

    def start(self, batch: int, steps: int) -> None:
        self.run_lags = np.minimum(self.lags, steps)
        self.ring = np.zeros((int(self.run_lags.max(initial=0)) + 1, batch, *self.lags.shape))
        self.now = 0

    def step(self, x: np.ndarray) -> np.ndarray:
        self.now = (self.now + 1) % len(self.ring)
        self.ring[self.now] = x
        rows = np.broadcast_to((self.now - self.run_lags) % len(self.ring), (1, *x.shape))
        return np.take_along_axis(self.ring, rows, axis=0)[0]


class _Neuron(_Node):
    """A neuron node: its ``Leak`` variables stepped in order, each driven by the one before (the first by x),
    then, for a spiking node, spike and reset; the output is the spikes, or v."""

    def __init__(self, leaks: list, spike: Spike | None, reset: str | None):
        self.leaks, self.spike, self.reset = leaks, spike, reset

    def start(self, batch: int, steps: int) -> None:
        self.state = {leak.state: np.tile(leak.at_rest, (batch,) + (1,) * leak.at_rest.ndim) for leak in self.leaks}

    def step(self, x: np.ndarray) -> np.ndarray:
        for leak in self.leaks:
            x = self.state[leak.state] = leak.decay * self.state[leak.state] + leak.rest_drive + leak.input_gain * x
        if self.spike is None:
            return x
        spiked = x > self.spike.v_threshold
        self.state["v"] = (np.where(spiked, self.spike.v_reset, x) if self.reset == "zero"
                           else x - spiked * (self.spike.v_threshold - self.spike.v_reset))
        return spiked.astype(float)


def _flattened(name: str, node, shape: tuple) -> tuple:
    """The output shape of a Flatten node: dims start_dim..end_dim of its input merged into one (the dims of NIR's
    shapes, which have no batch, as snnTorch writes them; a negative dim counts from the end)."""
    start, end = (dim + len(shape) if dim < 0 else dim for dim in (int(node.start_dim), int(node.end_dim)))
    out = (*shape[:start], math.prod(shape[start:end + 1]), *shape[end + 1:])
    if math.prod(out) != math.prod(shape):
        raise ValueError(f"node {name!r} (Flatten): start_dim {node.start_dim}, end_dim {node.end_dim} do not "
                         f"flatten an input of shape {shape}")
    return out


def _unit(name: str, node, shape: tuple, dt_ms: float, integrator: str, reset) -> tuple:
    """(the stepping object, output shape) of one node whose input has ``shape``; its checks name the node."""
    kind = type(node).__name__
    if kind in ("Input", "Output"):
        return _Function(lambda x: x), shape
    if kind == "Flatten":
        out = _flattened(name, node, shape)
        return _Function(lambda x: x.reshape(len(x), *out)), out
    if kind in PROJECTIONS:
        weight = np.asarray(node.weight)
        weight, bias = _projection(name, node, weight.shape[0] if weight.ndim == 2 else -1, shape[-1] if shape else 0)
        return _Function(lambda x: x @ weight.T + bias), (*shape[:-1], len(weight))
    if kind in NEURONS:
        leaks, spike = neuron_steps(name, node, shape, dt_ms / MS_PER_S, integrator)
        if spike is not None and reset is None:
            reset = _node_reset(name, node)
        return _Neuron(leaks, spike, reset), shape
    value = _param(name, node, ELEMENTWISE[kind], shape)
    if kind == "Scale":
        return _Function(lambda x: x * value), shape
    if kind == "Threshold":
        return _Function(lambda x: (x > value).astype(float)), shape
    lags = value * MS_PER_S / dt_ms
    if not (np.all(lags >= 0) and np.all(lags < 2**31) and np.allclose(lags, np.round(lags), rtol=1e-6, atol=1e-6)):
        raise ValueError(f"node {name!r} (Delay): every delay must be a whole number >= 0 of steps of dt = {dt_ms} "
                         f"ms (fewer than 2**31); got delays from {value.min()} to {value.max()} s")
    return _Delay(step_count(value * MS_PER_S, dt_ms)), shape


# --------------------------------------------------------------------------------------------- the graph
def _search_order(nodes: dict, edges: list, starts: list) -> list:
    """The nodes reached by a depth-first search from ``starts`` along ``edges`` (in their order), in reverse
    post-order: every edge that does not close a cycle goes from an earlier node to a later one."""
    successors = {name: [] for name in nodes}
    for a, b in edges:
        successors[a].append(b)
    seen, finished = set(starts), []
    for start in starts:
        path = [(start, iter(successors[start]))]
        while path:
            node, left = path[-1]
            child = next((c for c in left if c not in seen), None)
            if child is None:
                finished.append(path.pop()[0])
            else:
                seen.add(child)
                path.append((child, iter(successors[child])))
    return finished[::-1]


class _Graph(NamedTuple):
    """A graph ready to run: its nodes in step order, their inputs (``forward``: this step's outputs; ``back``:
    the previous step's), their stepping objects and output shapes, and the top-level Input nodes."""

    order: list
    forward: dict
    back: dict
    units: dict
    shapes: dict
    starts: list


def _input_shape(name: str, node) -> tuple:
    try:
        shape = tuple(int(n) for n in np.asarray(node.input_type["input"]).reshape(-1))
    except (KeyError, TypeError, ValueError):
        shape = None
    if shape is None or any(n < 1 for n in shape):
        raise ValueError(f"Input node {name!r} must declare its shape (sizes >= 1); got {node.input_type!r:.80}")
    return shape


def _compile(nir, graph, dt_ms: float, integrator: str, reset) -> _Graph:
    """The step order, the inputs and the stepping object of every node of ``graph``, every one checked."""
    nodes, edges = _flatten(nir, graph)
    starts = [name for name, node in graph.nodes.items() if type(node).__name__ == "Input"]
    for name, node in nodes.items():
        if type(node).__name__ not in RUNS:
            raise ValueError(f"node {name!r} ({type(node).__name__}) cannot be run: simulate runs {', '.join(RUNS)}")
    if not starts:
        raise ValueError("the graph has no Input node: nothing would drive it")
    order = _search_order(nodes, edges, starts)
    for name in nodes:
        if name not in order:
            raise ValueError(f"node {name!r} ({type(nodes[name]).__name__}) is not reachable from an Input node")
    position = {name: k for k, name in enumerate(order)}
    forward, back = {name: [] for name in order}, {name: [] for name in order}
    for a, b in edges:
        if b in starts:
            raise ValueError(f"Input node {b!r} receives an edge from {a!r}: an Input is fed by the data alone")
        (forward if position[a] < position[b] else back)[b].append(a)
    inputs, units, shapes = {}, {}, {}
    for name in order:
        received = {shapes[a] for a in forward[name]}
        if len(received) > 1:
            raise ValueError(f"node {name!r} ({type(nodes[name]).__name__}) sums inputs of different shapes "
                             f"{sorted(received)}")
        inputs[name] = _input_shape(name, nodes[name]) if name in starts else received.pop()
        units[name], shapes[name] = _unit(name, nodes[name], inputs[name], dt_ms, integrator, reset)
    for name, sources in back.items():
        for a in sources:
            if shapes[a] != inputs[name]:
                raise ValueError(f"node {name!r} ({type(nodes[name]).__name__}) receives shape {inputs[name]} and, "
                                 f"one step late, {shapes[a]} from {a!r}")
    return _Graph(order, forward, back, units, shapes, starts)


def _input_arrays(net: _Graph, inputs) -> dict:
    """{Input node: (T, batch, *shape) floats}, checked against the graph's Input nodes."""
    given = inputs if isinstance(inputs, dict) else {net.starts[0]: inputs} if len(net.starts) == 1 else {}
    if set(given) != set(net.starts):
        raise ValueError(f"inputs must be {{name: array}} for the Input nodes {net.starts} (or one array for a "
                         f"graph with one Input); got {sorted(given) if isinstance(inputs, dict) else 'one array'}")
    arrays = {name: check_finite(f"inputs of Input node {name!r}", given[name]) for name in net.starts}
    for name, array in arrays.items():
        if array.ndim < 2 or array.shape[2:] != net.shapes[name]:
            raise ValueError(f"inputs of Input node {name!r} must have shape (T, batch, "
                             f"{', '.join(map(str, net.shapes[name]))}); got {array.shape}")
    if len({array.shape[:2] for array in arrays.values()}) > 1:
        raise ValueError(f"inputs must share T and batch; got shapes {[a.shape for a in arrays.values()]}")
    return arrays


@dataclass(frozen=True)
class GraphRecording:
    """What ``simulate`` returns, time first.

    ``outputs[name]``: node ``name``'s output at every step, (T, batch, *shape) floats: the spikes (0 or 1) of IF,
    LIF, CubaLIF and Threshold nodes, the membrane v of I, LI and CubaLI, the signal of the others.
    ``states[name]``: a neuron node's variables at the end of every step (after its reset), {'v': ...} and, for
    CubaLI and CubaLIF, 'i_syn', each (T, batch, *shape). ``dt`` (ms) and ``integrator``: the run's step.
    """

    outputs: dict
    states: dict
    dt: float
    integrator: str


def simulate(graph_or_path, inputs, dt=None, *, integrator=None, reset=None, record=None) -> GraphRecording:
    """Run a NIR graph (a ``nir.NIRGraph`` or the path of a NIR file) over the T steps of ``inputs``.

    ``inputs``: (T, batch, *shape) for a graph with one Input node, else {Input name: (T, batch, *shape)}, the
    same T and batch for all; ``dt``: the step in ms (default: the graph's metadata, as ``from_nir``);
    ``integrator``: 'exact' or 'euler' (default: the metadata's, else 'exact'); ``reset``: 'zero' or 'subtract'
    for every spiking node (default: each node's metadata, else 'zero'); ``record``: the names of the nodes to
    record (default: all; the top-level Output nodes always). Returns a ``GraphRecording``. Graphs and inputs it
    cannot run are refused with a ValueError naming the node (see the module docstring).
    """
    return _on_graph(graph_or_path, lambda graph: _run(graph, inputs, dt, integrator, reset, record))


def _run(graph, inputs, dt, integrator, reset, record) -> GraphRecording:
    """``simulate`` of a ``nir.NIRGraph``."""
    nir = _require_nir()
    dt_ms, integrator = _time_step(graph, dt, integrator)
    net = _compile(nir, graph, dt_ms, integrator, None if reset is None else check_choice("reset", reset, RESET_MODES))
    arrays = _input_arrays(net, inputs)
    steps, batch = next(iter(arrays.values())).shape[:2]
    kept = set(net.order) if record is None else set(record)
    if not kept <= set(net.order):
        raise ValueError(f"record names nodes the graph does not have: {sorted(map(str, kept - set(net.order)))}")
    kept |= {name for name, node in graph.nodes.items() if type(node).__name__ == "Output"}
    for unit in net.units.values():
        unit.start(batch, steps)
    outputs = {name: np.empty((steps, batch, *net.shapes[name])) for name in net.order if name in kept}
    states = {name: {key: np.empty((steps, *value.shape)) for key, value in net.units[name].state.items()}
              for name in outputs if net.units[name].state}
    now = {name: np.zeros((batch, *net.shapes[name])) for name in net.order}
    for t in range(steps):
        before, now = now, {}
        for name in net.order:
            x = arrays[name][t] if name in arrays else (sum(now[a] for a in net.forward[name])
                                                         + sum(before[a] for a in net.back[name]))
            now[name] = net.units[name].step(x)
            if name in kept:
                outputs[name][t] = now[name]
                for key, value in states.get(name, {}).items():
                    value[t] = net.units[name].state[key]
    return GraphRecording(outputs, states, dt_ms, integrator)
