"""NIR, the Neuromorphic Intermediate Representation: spikingnn classifiers out to other simulators and back.

NIR (``pip install spikingnn[nir]``; Pedersen et al., Nature Communications 2024) describes a network as a graph
of continuous-time primitives, written to HDF5. Time constants are in **seconds** there (milliseconds everywhere
else in spikingnn), weights are (out, in), and the time step is not part of the graph: an importer chooses it.

The neuron of a training layer (``spikingnn.training.layers``), v[t] = beta u[t-1] + I[t], is one step of the
continuous LIF  tau dv/dt = (v_leak - v) + r I  of NIR, with decay d and input gain g per step::

    exact (exponential integration, the default):  d = exp(-dt / tau),   g = (1 - d) r
    euler (forward Euler, snnTorch and Norse):     d = 1 - dt / tau,     g = (dt / tau) r

so ``to_nir`` writes, for a layer of leak beta and threshold thr (per neuron, dt in seconds):

=========================  ====================================  =========================================
spikingnn                  NIR, integrator 'exact' (default)     NIR, integrator 'euler'
=========================  ====================================  =========================================
weights W (in, out), b     Affine(weight = W^T, bias = b)        the same
beta (0 < beta < 1)        LIF.tau = -dt / ln(beta)              LIF.tau = dt / (1 - beta)
(input gain 1)             LIF.r = 1 / (1 - beta)                LIF.r = 1 / (1 - beta)  (= tau / dt)
beta = 1 (no leak)         IF.r = 1 / dt                         the same
v_threshold                LIF.v_threshold                       the same
rest and reset             v_leak = 0, v_reset = 0               the same
recurrent w_rec (H, H)     subgraph Input -> LIF <-> Linear(w_rec^T), LIF -> Output (the cycle delays one step)
residual o = s + o_below   both sources feed the next Affine (NIR sums a node's inputs)
membrane read-out          LI(tau, r, v_leak = 0), the same columns without threshold
=========================  ====================================  =========================================

Reset. NIR's LIF resets v <- v_reset. In continuous time a neuron crosses the threshold exactly, so reset by
subtraction (v <- v - (v_threshold - v_reset)) is the same neuron; after discretisation it is not (subtraction
keeps the overshoot of the step). Every spiking node therefore carries ``metadata['reset']`` ('zero' or
'subtract'), and so does the graph. ``from_nir`` takes ``reset=`` from its argument, else from the nodes'
metadata, else NIR's own definition, 'zero' (what snnTorch's importer does, with ``reset_delay=False``: its
step is then this one exactly). The graph's metadata also holds what NIR has no place for: ``dt`` (seconds),
``integrator``, ``encoding``, ``num_steps``, ``loss``, ``classes`` (JSON), ``source`` = 'spikingnn'. An importer
must not rely on it: ``from_nir`` takes each as an argument and falls back to the metadata, then to the
defaults ('exact', rate coding, 25 steps, classes 0..n-1).

An imported graph becomes an ``SNNClassifier`` (predict, score, record, the plots and the energy estimate work
unchanged): each layer's leak is beta = d, and the gain, r and v_leak fold into its weights and bias,
W = (g W_nir)^T (row i of W_nir scaled by g_i), b = g b_nir + (1 - d) v_leak. ALIF layers (no NIR primitive),
synaptic currents (CubaLIF, CubaLI), delays, thresholds, scalings and nodes off the chain of layers have no
SNNClassifier layer: ``from_nir`` refuses them, naming the node, and ``spikingnn.nir_graph.simulate`` runs such
graphs node by node (its docstring gives every node's step; the neurons' d and g above come from it).
Convolutions and pooling run in neither.

The neuron here: the LIF of neurons.py, as NIR's LIF and LI (CubaLIF: with the synapse of synapses.py).
"""
from __future__ import annotations

import io
import json
import math
from pathlib import Path

import numpy as np

from spikingnn import __version__
from spikingnn._io import atomic_write
from spikingnn._validation import check_choice
from spikingnn.discretisation import INTEGRATORS, time_constant
from spikingnn.params import RESET_MODES

MS_PER_S = 1000.0
MAX_ELEMENTS = 1 << 27        # numbers in one NIR file (512 MiB of float32), checked before any is read
MAX_NODES = 10_000
MAX_DEPTH = 8                 # nesting of subgraphs
PROJECTIONS = ("Affine", "Linear")
SPIKING = ("LIF", "IF")
READOUTS = ("LI", "I")
PASS_THROUGH = ("Input", "Output", "Flatten")   # shape-only nodes: a classifier sees flat vectors


def _require_nir():
    try:
        import nir
    except ImportError:
        raise ModuleNotFoundError("NIR support needs the optional package nir: pip install spikingnn[nir]") from None
    return nir


# ----------------------------------------------------------------------------------------------------- export
def _layer_node(nir, kind: str, beta, v_threshold, dt_s: float, integrator: str, reset: str, layer: int):
    """The NIR neuron node of one layer: its leak ``beta`` (H,) as (tau, r) of the table above."""
    if np.all(beta == 1.0):                          # no leak: the integrator dv/dt = r I, g = dt r = 1
        r = np.full(beta.shape, 1.0 / dt_s)
        if kind == "readout":
            return nir.I(r=r)
        return nir.IF(r=r, v_threshold=v_threshold, v_reset=np.zeros_like(r), metadata={"reset": reset})
    if not np.all((beta > 0.0) & (beta < 1.0)):
        raise ValueError(f"layer {layer}: its leaks must all lie in (0, 1), or all be 1, to have a NIR neuron; "
                         f"got beta in [{beta.min()}, {beta.max()}]")
    r = 1.0 / (1.0 - beta)
    tau = time_constant(beta, dt_s) if integrator == "exact" else dt_s * r
    if kind == "readout":
        return nir.LI(tau=tau, r=r, v_leak=np.zeros_like(r))
    return nir.LIF(tau=tau, r=r, v_leak=np.zeros_like(r), v_threshold=v_threshold, v_reset=np.zeros_like(r),
                   metadata={"reset": reset})


def to_nir(model, dt=None, integrator: str = "exact"):
    """The ``nir.NIRGraph`` of a fitted ``SNNClassifier`` whose ``integrator`` step of ``dt`` ms (default: the
    model's ``dt``) is the trained network (see the module docstring for the mapping)."""
    nir = _require_nir()
    from spikingnn.training.hyperparams import build
    from spikingnn.training.network import param_shapes

    check_choice("integrator", integrator, INTEGRATORS)
    if not hasattr(model, "params_"):
        raise ValueError("model is not fitted: only a trained SNNClassifier can be exported")
    if model.arch is not None:
        raise ValueError(f"model has arch {model.arch!r}: only networks of dense layers (hidden=...) are exported; "
                         f"convolutional layers (NIR's Conv2d and pooling nodes) are not written yet")
    dt_ms = float(model.dt if dt is None else dt)
    if not (math.isfinite(dt_ms) and dt_ms > 0):
        raise ValueError(f"dt must be a time step > 0 ms; got {dt!r}")
    spec = build(model.get_params(), tuple(model.layer_sizes_)).spec
    for name, shape in param_shapes(spec).items():
        if np.shape(model.params_.get(name)) != shape:
            raise ValueError(f"model parameter {name!r} must have shape {shape}; got "
                             f"{np.shape(model.params_.get(name))}")
    if model.neuron == "alif" and model.beta_adapt != 0:
        raise ValueError("layer 0 is ALIF (adaptive threshold, beta_adapt != 0): NIR 1.0 has no primitive for an "
                         "adaptive threshold, so an ALIF model cannot be exported")
    p, dt_s = model.params_, dt_ms / MS_PER_S
    nodes = {"input": nir.Input(input_type={"input": np.array([spec.layer_sizes[0]])})}
    edges, sources = [], ["input"]                  # sources: the nodes whose sum is the layer's input o[l-1]
    for layer in range(spec.n_layers):
        neuron = spec.neuron(layer)
        kind = "readout" if neuron.reset == "readout" else "spiking"
        fc, lif = f"fc{layer}", f"{'li' if kind == 'readout' else 'lif'}{layer}"
        nodes[fc] = nir.Affine(weight=np.ascontiguousarray(p[f"weights{layer}"].T), bias=p[f"bias{layer}"].copy())
        cell = _layer_node(nir, kind, p[f"beta{layer}"].astype(float), p[f"v_threshold{layer}"].astype(float),
                           dt_s, integrator, model.reset, layer)
        if spec.has_recurrence(layer):              # recurrence is a subgraph with a cycle (snnTorch's layout)
            width = np.array([spec.layer_sizes[layer + 1]])
            cell = nir.NIRGraph(nodes={"input": nir.Input(input_type={"input": width}), "lif": cell,
                                       "w_rec": nir.Linear(weight=np.ascontiguousarray(p[f"w_rec{layer}"].T)),
                                       "output": nir.Output(output_type={"output": width})},
                                edges=[("input", "lif"), ("lif", "w_rec"), ("w_rec", "lif"), ("lif", "output")],
                                type_check=False)
        nodes[lif] = cell
        edges += [(source, fc) for source in sources] + [(fc, lif)]
        sources = [lif, *sources] if spec.has_residual(layer) else [lif]
    nodes["output"] = nir.Output(output_type={"output": np.array([spec.layer_sizes[-1]])})
    edges.append((sources[0], "output"))
    metadata = {"source": "spikingnn", "spikingnn_version": __version__, "dt": dt_s, "integrator": integrator,
                "reset": model.reset, "encoding": model.encoding, "num_steps": int(model.num_steps),
                "loss": model.loss, "classes": json.dumps(np.asarray(model.classes_).tolist())}
    return nir.NIRGraph(nodes=nodes, edges=edges, metadata=metadata)


# ------------------------------------------------------------------------------------------------ files
def write(graph, path) -> Path:
    """Write ``graph`` to ``path`` (HDF5, ``nir.write``'s format), atomically (``spikingnn._io``). Returns it."""
    nir = _require_nir()
    buffer = io.BytesIO()
    nir.write(buffer, graph)
    with atomic_write(path, "wb") as handle:
        handle.write(buffer.getvalue())
    return Path(path)


def read(path):
    """Read the NIR file at ``path`` as a ``nir.NIRGraph``, trusting nothing in it: every dataset's type and size
    is checked before it is read (at most ``MAX_ELEMENTS`` numbers), nodes of an unknown type or with missing or
    malformed parameters are refused by name. Shapes along the edges are checked by ``from_nir``."""
    _require_nir()
    import h5py

    path = Path(path)
    try:
        with h5py.File(path, "r") as handle:
            if not isinstance(handle.get("node"), h5py.Group):
                raise ValueError("not a NIR file: it has no 'node' group")
            return _node_from_dict(_read_group(handle["node"], "node", [MAX_ELEMENTS], 0), "graph", 0)
    except FileNotFoundError:
        raise
    except OSError as exc:                  # h5py's word for a truncated, corrupt or non-HDF5 file
        raise ValueError(f"{path} cannot be read as a NIR (HDF5) file, truncated or corrupt? ({exc})") from None
    except ValueError as exc:
        raise ValueError(f"{path}: {exc}") from None


def _read_group(group, where: str, budget: list, depth: int) -> dict:
    import h5py

    if depth > 2 * MAX_DEPTH + 4 or len(group) > MAX_NODES:
        raise ValueError(f"{where} nests too deep or holds more than {MAX_NODES} entries")
    tree = {}
    for key, item in group.items():
        if isinstance(item, h5py.Group):
            tree[key] = _read_group(item, f"{where}/{key}", budget, depth + 1)
            continue
        text = h5py.check_string_dtype(item.dtype) is not None
        if not (text or item.dtype.kind in "biuf"):
            raise ValueError(f"dataset {where}/{key} has type {item.dtype}; NIR stores numbers and strings")
        budget[0] -= item.size
        if budget[0] < 0:
            raise ValueError(f"more than {MAX_ELEMENTS} numbers in the file (at {where}/{key})")
        value = item.asstr()[()] if text else item[()]
        tree[key] = value.tolist() if isinstance(value, np.ndarray) and value.dtype == object else value
    return tree


def _node_from_dict(data: dict, name: str, depth: int):
    """One node of ``read``'s tree as a NIR node (a graph recursively), or a ValueError naming it."""
    nir = _require_nir()
    kind = data.get("type")
    known = [k for k in nir.ir.__all__ if k not in ("NIRNode", "str2NIRNode", "dict2NIRNode")]
    if kind not in known:
        raise ValueError(f"node {name!r} has the unknown type {str(kind)[:40]!r}; NIR 1.0 knows {', '.join(known)}")
    if kind != "NIRGraph":
        try:
            return nir.dict2NIRNode(dict(data))
        except (AssertionError, KeyError, TypeError, ValueError) as exc:      # nir's own checks of a node
            raise ValueError(f"node {name!r} ({kind}) is malformed: {type(exc).__name__}: {exc}") from None
    if depth > MAX_DEPTH or not isinstance(data.get("nodes"), dict):
        raise ValueError(f"node {name!r} (NIRGraph) must hold a 'nodes' group, nested at most {MAX_DEPTH} deep")
    edges = data.get("edges", [])
    if not (isinstance(edges, list) and all(isinstance(e, list) and len(e) == 2 for e in edges)):
        raise ValueError(f"node {name!r} (NIRGraph): 'edges' must be a list of (source, target) names")
    nodes = {key: _node_from_dict(node, key if name == "graph" else f"{name}.{key}", depth + 1)
             for key, node in data["nodes"].items()}
    metadata = data.get("metadata", {})
    return nir.NIRGraph(nodes=nodes, edges=[(str(a), str(b)) for a, b in edges],
                        metadata=metadata if isinstance(metadata, dict) else {}, type_check=False)


# ------------------------------------------------------------------------------------------------ import
def _flatten(nir, graph, prefix: str = "") -> tuple[dict, list]:
    """(nodes, edges) of ``graph`` with every subgraph inlined (inner names 'sub.inner'): an edge into a subgraph
    goes to its Input nodes, an edge out of it leaves from its Output nodes."""
    nodes, edges, ports = {}, [], {}
    for key, node in graph.nodes.items():
        if isinstance(node, nir.NIRGraph):
            inner_nodes, inner_edges = _flatten(nir, node, f"{prefix}{key}.")
            nodes.update(inner_nodes)
            edges += inner_edges
            ports[key] = tuple([f"{prefix}{key}.{k}" for k, n in node.nodes.items() if isinstance(n, kind)]
                               for kind in (nir.Input, nir.Output))
        else:
            nodes[prefix + key] = node
    for a, b in graph.edges:
        for end in (a, b):
            if end not in graph.nodes:
                raise ValueError(f"edge ({a!r}, {b!r}) of graph {prefix.rstrip('.') or 'top'!r} names the missing "
                                 f"node {end!r}")
        edges += [(source, target) for source in (ports[a][1] if a in ports else [prefix + a])
                  for target in (ports[b][0] if b in ports else [prefix + b])]
    return nodes, edges


def _neuron_step(name: str, node, width: int, dt_s: float, integrator: str) -> tuple:
    """(decay d, gain g, rest drive (1 - d) v_leak, v_threshold or None) of one neuron node (LIF, IF, LI or I),
    per neuron: its step in ``spikingnn.nir_graph``, which must reset to 0 here."""
    from spikingnn.nir_graph import neuron_steps

    (leak,), spike = neuron_steps(name, node, (width,), dt_s, integrator)
    if spike is not None and np.any(spike.v_reset != 0):
        raise ValueError(f"node {name!r} ({type(node).__name__}): v_reset must be 0 (a classifier's neurons reset "
                         f"to 0); shift v_leak, v_threshold and v_reset by -v_reset before exporting, or run the "
                         f"graph with spikingnn.nir_graph.simulate")
    return leak.decay, leak.input_gain, leak.rest_drive, None if spike is None else spike.v_threshold


def _node_reset(name: str, node) -> str:
    """A spiking node's reset: its ``metadata['reset']`` (what ``to_nir`` writes), else NIR's v <- v_reset, 'zero'."""
    reset = (node.metadata if isinstance(node.metadata, dict) else {}).get("reset", "zero")
    if reset not in RESET_MODES:
        raise ValueError(f"node {name!r} ({type(node).__name__}): its metadata reset is {str(reset)[:40]!r}, not one "
                         f"of {', '.join(RESET_MODES)}; pass reset=")
    return reset


def _projection(name: str, node, n_out: int, n_in: int) -> tuple:
    """(weight (n_out, n_in), bias (n_out,)) of an Affine or Linear node, checked."""
    kind = type(node).__name__
    weight = np.asarray(node.weight, dtype=float)
    bias = np.asarray(node.bias, dtype=float) if kind == "Affine" else np.zeros(weight.shape[:1])
    if weight.shape != (n_out, n_in) or bias.shape != (n_out,):
        raise ValueError(f"node {name!r} ({kind}): weight must have shape ({n_out}, {n_in}) and bias ({n_out},) "
                         f"here; got {weight.shape} and {bias.shape}")
    if not (np.all(np.isfinite(weight)) and np.all(np.isfinite(bias))):
        raise ValueError(f"node {name!r} ({kind}): weight and bias must be finite; got NaN or infinite values")
    return weight, bias


def _layers(nir, graph) -> tuple:
    """The chain input -> [projection -> neuron (+ recurrent projection)] x L -> output of a graph, as
    (nodes, input name, layers, residual layers): the graph's nodes with subgraphs inlined and shape-only nodes
    bypassed, and each layer as (projection, neuron, recurrent projection or None) names."""
    nodes, edges = _flatten(nir, graph)
    ends = {kind: [n for n in graph.nodes if type(graph.nodes[n]).__name__ == kind] for kind in ("Input", "Output")}
    if len(ends["Input"]) != 1 or len(ends["Output"]) != 1:
        raise ValueError(f"a classifier graph has one Input and one Output node; got inputs {ends['Input']} and "
                         f"outputs {ends['Output']}")
    start, end = ends["Input"][0], ends["Output"][0]
    for name in [n for n, node in nodes.items() if type(node).__name__ in PASS_THROUGH and n not in (start, end)]:
        into, out = [a for a, b in edges if b == name], [b for a, b in edges if a == name]
        edges = [e for e in edges if name not in e] + [(a, b) for a in into for b in out]
        del nodes[name]
    for name, node in nodes.items():
        kind = type(node).__name__
        if kind not in (*PROJECTIONS, *SPIKING, *READOUTS, "Input", "Output"):
            raise ValueError(f"node {name!r} ({kind}) has no spikingnn classifier layer; supported: Affine, Linear, "
                             f"LIF, IF, LI, I (recurrent through a subgraph), Flatten, Input, Output (run other "
                             f"graphs with spikingnn.nir_graph.simulate)")
    preds = {n: sorted({a for a, b in edges if b == n}) for n in nodes}
    succs = {n: sorted({b for a, b in edges if a == n}) for n in nodes}
    kind_of = {n: type(node).__name__ for n, node in nodes.items()}
    layers, residual, below, source = [], [], [start], start     # below: the nodes summed into source's layer
    while source == start or end not in succs[source]:
        forward = [b for b in succs[source] if kind_of[b] in PROJECTIONS and succs[b] != [source]
                   and set(preds[b]) <= {source, *below}]      # not a loop, nor a skip to a layer further up
        if len(forward) != 1 or len(succs[forward[0]]) != 1 or len(layers) > len(nodes):
            raise ValueError(f"node {source!r} must feed exactly one projection (Affine or Linear) that feeds one "
                             f"neuron; it feeds {succs[source]}")
        fc, (cell,) = forward[0], succs[forward[0]]
        if preds[fc] != [source]:                  # o[l] = s[l] + o[l-1], a SEW residual, above the first layer
            if source == start or below == [start] or preds[fc] != sorted({source, *below}):
                raise ValueError(f"node {fc!r} sums {preds[fc]}: not a chain or a residual of the layers below")
            residual.append(len(layers) - 1)
        below = preds[fc]
        if kind_of[cell] not in (*SPIKING, *READOUTS):
            raise ValueError(f"node {fc!r} must feed a neuron (LIF, IF, LI or I); it feeds {cell!r} "
                             f"({kind_of[cell]})")
        loops = [n for n in preds[cell] if n != fc]
        if loops and not (len(loops) == 1 and kind_of[loops[0]] in PROJECTIONS
                          and preds[loops[0]] == succs[loops[0]] == [cell]):
            raise ValueError(f"node {cell!r} receives {preds[cell]}: a neuron takes one projection and at most one "
                             f"recurrent projection of its own spikes")
        layers.append((fc, cell, loops[0] if loops else None))
        source = cell
    if preds[end] != [source] or set(nodes) != {start, end, *(n for layer in layers for n in layer if n)}:
        raise ValueError(f"the graph is not a chain from {start!r} to {end!r} (nodes off the path, or an output "
                         f"fed by more than the last layer)")
    return nodes, start, layers, residual


def _metadata(graph, key: str, given, default, check):
    """An import setting: the argument ``given``, else the graph's metadata (checked by ``check``), else ``default``."""
    if given is not None:
        return given
    value = graph.metadata.get(key) if isinstance(graph.metadata, dict) else None
    if value is None:
        return default
    value = value.item() if isinstance(value, np.generic) else value
    if not check(value):
        raise ValueError(f"the graph's metadata {key} is {str(value)[:80]!r}: not a valid value; pass {key}= instead")
    return value


def _time_step(graph, dt, integrator) -> tuple[float, str]:
    """(dt in ms, integrator) of an import or a run: the arguments, else the graph's metadata (dt in seconds
    there), else (integrator only) 'exact'; a graph that holds no dt needs the argument."""
    seconds = _metadata(graph, "dt", None, None, lambda v: isinstance(v, (int, float)) and v > 0)
    dt_ms = float(dt if dt is not None else float("nan") if seconds is None else seconds * MS_PER_S)
    if not (math.isfinite(dt_ms) and dt_ms > 0):
        raise ValueError(f"dt must be a time step > 0 ms (a NIR graph holds none; pass dt=); got {dt!r}")
    integrator = _metadata(graph, "integrator", integrator, "exact", lambda v: v in INTEGRATORS)
    return dt_ms, check_choice("integrator", integrator, INTEGRATORS)


def _on_graph(graph_or_path, use):
    """``use(graph)`` for a ``nir.NIRGraph``, or for the graph of the NIR file at a path (``read``): its
    ValueErrors then name the file."""
    nir = _require_nir()
    if isinstance(graph_or_path, nir.NIRGraph):
        return use(graph_or_path)
    path, graph = Path(graph_or_path), read(graph_or_path)
    try:
        return use(graph)
    except ValueError as exc:
        raise ValueError(f"{path}: {exc}") from None


def from_nir(graph_or_path, dt=None, *, integrator=None, reset=None, num_steps=None, encoding=None,
             dtype: str = "float32"):
    """A runnable ``SNNClassifier`` from a NIR graph (a ``nir.NIRGraph`` or the path of a NIR file).

    ``dt``: the time step in ms (default: the graph's metadata, if it has one); ``integrator``: 'exact' or
    'euler', how each neuron is stepped (default: the metadata's, else 'exact'); ``reset``: 'zero' or 'subtract'
    (default: the nodes' metadata, else NIR's v <- v_reset, 'zero'); ``num_steps`` and ``encoding``: the input
    code, which NIR does not hold (default: the metadata's, else 25 steps of rate coding). Classes are 0..n-1
    unless the metadata lists them. Anything the classifier cannot run is refused with a ValueError naming the
    node (see the module docstring).
    """
    return _on_graph(graph_or_path, lambda graph: _classifier(graph, dt, integrator, reset, num_steps, encoding,
                                                              dtype))


def _classifier(graph, dt, integrator, reset, num_steps, encoding, dtype):
    """``from_nir`` of a ``nir.NIRGraph``."""
    from spikingnn.training.hyperparams import build
    from spikingnn.training.losses import LOSSES, SPIKE_LOSSES
    from spikingnn.training.model import STATE_FORMAT, SNNClassifier

    nir = _require_nir()
    dt_ms, integrator = _time_step(graph, dt, integrator)
    nodes, start, layers, residual = _layers(nir, graph)
    params, widths = {}, [math.prod(np.asarray(nodes[start].input_type["input"]).reshape(-1).tolist())]
    resets = set() if reset is None else {check_choice("reset", reset, RESET_MODES)}
    for layer, (fc, cell, loop) in enumerate(layers):
        width = np.asarray(nodes[fc].weight).shape[0] if np.ndim(nodes[fc].weight) == 2 else -1
        weight, bias = _projection(fc, nodes[fc], width, widths[-1])
        decay, gain, rest, threshold = _neuron_step(cell, nodes[cell], width, dt_ms / MS_PER_S, integrator)
        if threshold is not None and reset is None:
            resets.add(_node_reset(cell, nodes[cell]))
        if loop is not None:
            w_loop, b_loop = _projection(loop, nodes[loop], width, width)
            params[f"w_rec{layer}"], bias = (gain[:, None] * w_loop).T, bias + b_loop
        params.update({f"weights{layer}": (gain[:, None] * weight).T, f"bias{layer}": gain * bias + rest,
                       f"beta{layer}": decay,
                       f"v_threshold{layer}": np.ones(width) if threshold is None else threshold})
        widths.append(width)
    kinds = [type(nodes[cell]).__name__ for _, cell, _ in layers]
    for (_, cell, _), kind in zip(layers[:-1], kinds):
        if kind in READOUTS:
            raise ValueError(f"node {cell!r} ({kind}): a non-spiking neuron can only be the last layer (a read-out)")
    if len(resets) != 1 and any(kind in SPIKING for kind in kinds):
        raise ValueError(f"the spiking nodes disagree on their reset ({sorted(map(str, resets))}); pass reset=")
    if layers[-1][2] is not None:
        raise ValueError(f"node {layers[-1][1]!r}: the output layer of a classifier cannot be recurrent")
    spiking_out = kinds[-1] in SPIKING
    hyper = SNNClassifier().get_params()
    hyper.update(
        hidden=widths[1:-1], dt=dt_ms, tau_mem=None, dtype=dtype, reset=next(iter(resets), "zero"),
        recurrent=any(loop is not None for _, _, loop in layers), residual=bool(residual),
        # beta and v_threshold only seed init_params, which an imported model never calls: any valid value does
        beta=float(np.clip(params["beta0"].mean(), 0.0, 1.0)), v_threshold=float(params["v_threshold0"].mean()),
        num_steps=_metadata(graph, "num_steps", num_steps, hyper["num_steps"], lambda v: isinstance(v, int)),
        encoding=_metadata(graph, "encoding", encoding, hyper["encoding"], lambda v: isinstance(v, str)),
        loss=_metadata(graph, "loss", None, None, lambda v: v in LOSSES))
    if hyper["loss"] is None or (hyper["loss"] in SPIKE_LOSSES) != spiking_out:
        hyper["loss"] = "ce_count" if spiking_out else "ce_mem_mean"
    built = build(hyper, tuple(widths))
    if residual and residual != [layer for layer in range(len(layers)) if built.spec.has_residual(layer)]:
        raise ValueError(f"residual connections around layers {residual} only: a classifier has them around every "
                         f"hidden layer of the width of the layer below, or none")
    if hyper["recurrent"]:                          # a hidden layer without a loop of its own gets a zero one
        for layer in range(len(layers) - 1):
            params.setdefault(f"w_rec{layer}", np.zeros((widths[layer + 1],) * 2))
    params = {name: np.asarray(value, dtype) for name, value in params.items()}
    # the optimiser's moments of the trained arrays (all but leak and threshold), zero: fit() may fine-tune
    trained = {name: value for name, value in params.items() if not name.startswith(("beta", "v_threshold"))}
    classes = json.loads(_metadata(graph, "classes", None, json.dumps(list(range(widths[-1]))),
                                   lambda v: isinstance(v, str)))
    arrays = {"classes": np.asarray(classes), **{f"param/{k}": v for k, v in params.items()},
              **{f"optimizer/{k}": v for k, v in built.optimizer.init_state(trained).items()}}
    config = {"format": STATE_FORMAT, "params": hyper, "n_features_in": widths[0], "epoch": 0, "batch_in_epoch": 0,
              "history": [], "epoch_stats": {"loss_sum": 0.0, "correct": 0, "seen": 0, "seconds": 0.0,
                                             "spike_sums": [0.0] * len(layers)}}
    return SNNClassifier.from_state(config, arrays)
