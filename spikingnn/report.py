"""The window onto a training run: one self-contained, interactive HTML file (``spikingnn report RUN_DIR``).

    spikingnn report runs/mnist                       # writes runs/mnist/report.html
    spikingnn report runs/stdp100 --out stdp.html     # a Diehl & Cook run of examples/stdp_mnist.py

For a run of ``spikingnn train`` (model.npz, config.json, metrics.csv) the report shows the training curves
(loss, accuracy, firing rate per layer), the confusion matrix on the test split, a picker over test digits
(the picture, the input raster, the hidden raster and the output race, drawn as the read-out works: spike
counts, or a non-spiking read-out's membranes and score, never a threshold or an output raster for it), the
weight histograms and the first hidden layer's receptive fields (for a convolutional network, an ``arch`` such as
12C5-MP2-64C5-MP2-FC10, the first convolution's kernels instead). For a Diehl & Cook run (network.npz,
results.json) it shows the receptive fields of the excitatory neurons with the label each was given, how many
neurons each class got, the weights and the adaptive thresholds.

Built with Plotly, not hand-written JavaScript: its figures are data, and its sliders change the data of the
traces declaratively (``method='update'``), which is all the digit picker needs; Bokeh would need JavaScript
callbacks for that. plotly.js (~4.8 MB) is inlined once, so the file opens from disk with no network.
"""
from __future__ import annotations

import html
import json
import math
from pathlib import Path

import numpy as np

from spikingnn import cli
from spikingnn._io import atomic_write

MAX_DIGITS = 100           # test digits in the picker: each adds its spikes to the file
MAX_FIELDS = 100           # receptive fields drawn for a classifier's first hidden layer
WEIGHT_BINS = 60


# ------------------------------------------------------------------------------------------------ helpers
def _check_count(name: str, value, low: int, high: int | None = None) -> None:
    """``value`` an integer in [low, high] (``high`` None: no upper bound); None is accepted (the default)."""
    if value is None:
        return
    if (isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < low
            or (high is not None and value > high)):
        accepted = f"in [{low}, {high}]" if high is not None else f">= {low}"
        raise ValueError(f"{name} must be an integer {accepted}; got {value!r}")


def _palette(n: int) -> list:
    """One colour per class, the tab10 colours of the matplotlib figures (26 beyond ten classes)."""
    from plotly.colors import qualitative

    colors = qualitative.D3 if n <= 10 else qualitative.Alphabet
    return [colors[k % len(colors)] for k in range(n)]


def _mosaic(weights, n_show: int):
    """Columns of ``weights`` (side * side, n) as tiles of a grid, one pixel of NaN between tiles.

    Returns (picture, neuron index of each pixel, -1 in the gaps, number of grid columns, tile side)."""
    from spikingnn.viz.conv import tile_grid

    side = math.isqrt(weights.shape[0])
    ncols = math.ceil(math.sqrt(n_show))
    picture, owner = tile_grid(weights[:, :n_show].T.reshape(n_show, side, side), ncols)
    return picture.astype(np.float32), owner, ncols, side


def _fields_figure(weights, title: str, symmetric: bool, labels=None):
    """Receptive fields, one tile per neuron (column of ``weights``); ``labels``: a class per neuron, written
    in the corner of its tile and in the hover text."""
    import plotly.graph_objects as go

    n_show = min(weights.shape[1], MAX_FIELDS if labels is None else weights.shape[1])
    picture, owner, ncols, side = _mosaic(weights, n_show)
    hover = np.array([f"neuron {k}" + ("" if labels is None or k < 0 else f", label {labels[k]}")
                      for k in range(-1, n_show)], dtype=object)[owner + 1]
    scale = float(np.percentile(np.abs(weights[:, :n_show]), 99)) or 1.0   # a few large weights wash nothing out
    colors = dict(colorscale="RdBu_r", zmid=0.0, zmin=-scale, zmax=scale) if symmetric else \
        dict(colorscale="Viridis", zmin=0.0, zmax=scale)
    fig = go.Figure(go.Heatmap(z=picture, customdata=hover, colorbar=dict(title="weight"), **colors,
                               hovertemplate="%{customdata}<br>w = %{z:.3g}<extra></extra>"))
    for k in range(n_show if labels is not None else 0):
        row, col = divmod(k, ncols)
        fig.add_annotation(x=col * (side + 1) + 1, y=row * (side + 1) + 1, text=str(labels[k]), showarrow=False,
                           font=dict(color="white", size=10), xanchor="left", yanchor="top")
    size = min(900, max(320, 70 * ncols))            # pixels: ~70 per tile, the whole grid at most 900
    fig.update_layout(title=title, width=size + 140, height=size + 60, plot_bgcolor="white")
    fig.update_xaxes(visible=False)
    fig.update_yaxes(visible=False, autorange="reversed", scaleanchor="x")
    return fig


def _kernels_figure(weights, title: str):
    """A convolution's kernels ``weights`` (k, k, c_in, c_out) as tiles of k x k on one scale centred at 0: one tile
    per filter (one input channel), or a row per filter and a column per input channel (``kernel_mosaic``)."""
    import plotly.graph_objects as go

    from spikingnn.viz.conv import kernel_mosaic

    k, _, c_in, c_out = weights.shape
    n_filters = min(c_out, MAX_FIELDS)
    picture, owner, ncols = kernel_mosaic(weights, n_filters)
    names = [f"filter {t // c_in}" + (f", input channel {t % c_in}" if c_in > 1 else "")
             for t in range(n_filters * c_in)]
    hover = np.array(["", *names], dtype=object)[owner + 1]
    scale = float(np.max(np.abs(weights[..., :n_filters]))) or 1.0
    fig = go.Figure(go.Heatmap(z=picture, customdata=hover, colorscale="RdBu_r", zmid=0.0, zmin=-scale, zmax=scale,
                               colorbar=dict(title="weight"),
                               hovertemplate="%{customdata}<br>w = %{z:.3g}<extra></extra>"))
    nrows = -(-picture.shape[0] // (k + 1))
    tile = min(70, max(24, 700 // max(nrows, ncols)))           # pixels per tile, the whole grid at most ~900
    if c_in > 1:
        fig.update_xaxes(title_text="input channel", tickvals=[c * (k + 1) + (k - 1) / 2 for c in range(c_in)],
                         ticktext=[str(c) for c in range(c_in)])
        shown = range(0, n_filters, max(1, n_filters // 32))
        fig.update_yaxes(title_text="filter", tickvals=[f * (k + 1) + (k - 1) / 2 for f in shown],
                         ticktext=[str(f) for f in shown])
    else:
        fig.update_xaxes(visible=False)
        fig.update_yaxes(visible=False)
        for f in range(n_filters):
            row, col = divmod(f, ncols)
            fig.add_annotation(x=col * (k + 1) - 0.4, y=row * (k + 1) - 0.4, text=str(f), showarrow=False,
                               font=dict(size=10), xanchor="left", yanchor="top", bgcolor="rgba(255,255,255,0.6)")
    fig.update_layout(title=title, width=max(320, tile * ncols) + 160, height=max(280, tile * nrows) + 90,
                      plot_bgcolor="white")
    fig.update_xaxes(showgrid=False, zeroline=False)
    fig.update_yaxes(autorange="reversed", scaleanchor="x", showgrid=False, zeroline=False)
    return fig


def _histograms_figure(panels: dict, title: str):
    """One histogram per panel, pre-binned (the file holds counts, not every weight). ``panels``: {panel title:
    {series name: values}}; the first series as bars, any other as an outline on the same bins."""
    import plotly.graph_objects as go
    from plotly.subplots import make_subplots

    fig = make_subplots(1, len(panels), subplot_titles=list(panels))
    for k, series in enumerate(panels.values()):
        arrays = {name: np.asarray(values, dtype=float).ravel() for name, values in series.items()}
        edges = np.histogram_bin_edges(np.concatenate(list(arrays.values())), bins=WEIGHT_BINS)
        for j, (name, values) in enumerate(arrays.items()):
            counts = np.histogram(values, bins=edges)[0]
            trace = (go.Bar(x=(edges[:-1] + edges[1:]) / 2, y=counts, width=np.diff(edges), marker_color="#1f77b4")
                     if j == 0 else go.Scatter(x=edges, y=np.append(counts, counts[-1]), line=dict(shape="hv",
                                                                                               color="black")))
            trace.update(name=name, legendgroup=name, showlegend=k == 0 and len(arrays) > 1, hovertemplate="%{y}")
            fig.add_trace(trace, 1, k + 1)
        fig.update_xaxes(title_text="value", row=1, col=k + 1)
    fig.update_yaxes(title_text="count", row=1, col=1)
    fig.update_layout(title=title, height=330, bargap=0)
    return fig


# ------------------------------------------------------------------------------------ a classifier's run
def _curves_figure(history, spiking_output: bool):
    import plotly.graph_objects as go
    from plotly.subplots import make_subplots

    epochs = [m["epoch"] for m in history]
    fig = make_subplots(1, 3, subplot_titles=("loss", "accuracy (%)", "mean firing rate"))
    fig.add_trace(go.Scatter(x=epochs, y=[m["train_loss"] for m in history], name="train loss"), 1, 1)
    for split, dash in (("train", "solid"), ("val", "dash")):
        values = [None if m[f"{split}_accuracy"] is None else 100 * m[f"{split}_accuracy"] for m in history]
        fig.add_trace(go.Scatter(x=epochs, y=values, name=f"{split} accuracy", line_dash=dash), 1, 2)
    rates = np.array([m["spike_rates"] for m in history], dtype=float).reshape(len(history), -1)
    # a membrane loss's output layer never fires: its rate is 0 by construction, not a result
    for layer in range(rates.shape[1] - (not spiking_output)):
        name = "output" if layer == rates.shape[1] - 1 else f"hidden {layer + 1}"
        fig.add_trace(go.Scatter(x=epochs, y=rates[:, layer], name=f"rate, {name}"), 1, 3)
    fig.update_traces(mode="lines+markers")
    fig.update_xaxes(title_text="epoch", dtick=1)
    fig.update_yaxes(title_text="spikes per neuron per step", row=1, col=3)
    fig.update_layout(height=360, title="training curves (one point per epoch)")
    return fig


def _confusion_figure(cm, names):
    import plotly.graph_objects as go

    fig = go.Figure(go.Heatmap(z=cm, x=names, y=names, colorscale="Blues", texttemplate="%{z}",
                               hovertemplate="true %{y}, predicted %{x}: %{z} images<extra></extra>"))
    total = int(cm.sum())
    fig.update_layout(title=f"confusion matrix: accuracy {100 * np.trace(cm) / total:.2f}% of {total} test images",
                      width=560, height=520, xaxis_title="predicted class", yaxis_title="true class")
    fig.update_xaxes(type="category")
    fig.update_yaxes(type="category", autorange="reversed")
    return fig


def _pick_digits(y, predicted, classes, n: int) -> list:
    """The first test image of each class, then the first misclassified ones, then the rest in order: ``n``."""
    firsts = [int(np.flatnonzero(y == c)[0]) for c in classes if np.any(y == c)]
    wrong = np.flatnonzero(predicted != y).tolist()
    return list(dict.fromkeys(firsts + wrong + list(range(len(y)))))[:n]


def _raster_xy(spikes, dt, offset=0):
    steps, neurons = np.nonzero(spikes)
    return (steps * dt).tolist(), (neurons + offset).tolist()


def _digit_data(model, recording, k, image, names, kind):
    """For picture ``k`` of ``recording``: (x, y, z) of every trace of the picker, in its order, and the race's
    verdict. Order: picture, input raster, one raster per hidden layer, output activity (C), race (C)."""
    from spikingnn.training.losses import output_scores
    from spikingnn.viz.classifier import running_scores

    dt, side = model.dt, math.isqrt(image.size)
    data = [(None, None, image.reshape(side, side).tolist())]
    spiking_input = model.encoding != "current"
    data.append((*_raster_xy(recording.input_spikes[:, k], dt), None) if spiking_input else ([], [], None))
    offset = 0                  # the hidden layers stacked in one raster, layer 1 at the bottom
    for hidden in recording.spikes[:-1]:
        data.append((*_raster_xy(hidden[:, k], dt, offset), None))
        offset += hidden.shape[2]
    out_s, out_v = recording.spikes[-1][:, k], recording.v[-1][:, k]
    time = (np.arange(out_s.shape[0]) * dt).tolist()
    if kind.spiking:
        data += [(*_raster_xy(out_s[:, [c]], dt, c), None) for c in range(len(names))]
        race = np.vstack([np.zeros((1, len(names))), np.cumsum(out_s, axis=0)])   # count after step t
        race_time = (np.arange(race.shape[0]) * dt).tolist()
    else:
        data += [(time, out_v[:, c].tolist(), None) for c in range(len(names))]
        race, race_time = running_scores(model.loss, out_s, out_v), time
    data += [(race_time, race[:, c].tolist(), None) for c in range(len(names))]
    winner = int(np.argmax(output_scores(model.loss, out_s[:, None], out_v[:, None])[0]))
    return data, winner


def _picker_figure(model, images, labels, indices):
    """Test digits under a slider: each step swaps the data of every trace (no JavaScript of ours)."""
    import plotly.graph_objects as go
    from plotly.subplots import make_subplots

    from spikingnn.viz.classifier import readout
    from spikingnn.viz.conv import conv_layers

    kind = readout(model.loss)
    names = [str(c) for c in model.classes_]
    colors = _palette(len(names))
    recording = model.record(images[indices])
    maps = {layer.index: layer.output_shape for layer in conv_layers(model)} if model.has_convolutions else {}
    hidden_titles = ", ".join(f"layer {k + 1}: " + ("×".join(map(str, maps[k])) if k in maps else str(s.shape[2]))
                              for k, s in enumerate(recording.spikes[:-1]))       # a conv layer: H×W×C maps
    activity_title = ("output spikes" if kind.spiking
                      else f"read-out membranes (non-spiking leaky integrators, loss {model.loss})")
    input_title = ("input spikes" if model.encoding != "current"
                   else "input: an analog current (encoding 'current'), no spikes")
    fig = make_subplots(2, 3, specs=[[{}, {}, {}], [{"colspan": 2}, None, {}]], column_widths=[0.22, 0.39, 0.39],
                        subplot_titles=("picture", input_title, f"hidden spikes ({hidden_titles})", activity_title,
                                        "race"), vertical_spacing=0.14, horizontal_spacing=0.07)
    tick = dict(symbol="line-ns-open", line_width=1)
    fig.add_trace(go.Heatmap(colorscale="Greys", showscale=False, hoverinfo="skip"), 1, 1)
    fig.add_trace(go.Scatter(mode="markers", marker=dict(color="black", size=3, **tick), name="input",
                             showlegend=False), 1, 2)
    for k in range(len(recording.spikes) - 1):
        fig.add_trace(go.Scatter(mode="markers", marker=dict(color=_palette(10)[k + 1], size=5, **tick),
                                 name=f"hidden {k + 1}", showlegend=False), 1, 3)
    for c, name in enumerate(names):
        trace = (go.Scatter(mode="markers", marker=dict(color=colors[c], size=8, **tick)) if kind.spiking
                 else go.Scatter(mode="lines", line_color=colors[c]))
        fig.add_trace(trace.update(name=f"class {name}", legendgroup=name, showlegend=False), 2, 1)
    for c, name in enumerate(names):
        fig.add_trace(go.Scatter(mode="lines", line=dict(color=colors[c], shape="hv" if kind.spiking else "linear"),
                                 name=f"class {name}", legendgroup=name), 2, 3)
    race_annotation = len(fig.layout.annotations) - 1
    steps = []
    for k, index in enumerate(indices):
        data, winner = _digit_data(model, recording, k, np.asarray(images[index], dtype=float), names, kind)
        update = {key: [d[i] for d in data] for i, key in enumerate(("x", "y", "z"))}
        label = f"test image {index}: label {labels[index]}, predicted {names[winner]}"
        layout = {"title.text": label,
                  f"annotations[{race_annotation}].text": f"race: prediction {names[winner]} (true {labels[index]})"}
        steps.append(dict(method="update", label=str(labels[index]), args=[update, layout]))
        if k == 0:
            for trace, values in zip(fig.data, data):
                trace.update({key: v for key, v in zip("xyz", values) if v is not None})
            fig.update_layout(layout)
    fig.update_layout(sliders=[dict(steps=steps, active=0, currentvalue=dict(prefix="test digit, label "),
                                    pad=dict(t=40))], height=820, legend_title_text="output neuron")
    fig.update_yaxes(autorange="reversed", row=1, col=1, scaleanchor="x", constrain="domain", visible=False)
    fig.update_xaxes(visible=False, row=1, col=1, constrain="domain")
    duration = recording.input_spikes.shape[0] * model.dt          # every raster spans the whole run
    for row, col in ((1, 2), (1, 3), (2, 1), (2, 3)):
        fig.update_xaxes(title_text="time (ms)", range=[-0.5 * model.dt, duration], row=row, col=col)
    n_hidden = sum(s.shape[2] for s in recording.spikes[:-1])
    fig.update_yaxes(title_text="input (pixel)", range=[-0.5, model.n_features_in_ - 0.5], row=1, col=2)
    fig.update_yaxes(title_text="hidden neuron", range=[-0.5, n_hidden - 0.5], row=1, col=3)
    fig.update_yaxes(title_text="class" if kind.spiking else "read-out membrane v", row=2, col=1)
    fig.update_yaxes(title_text="cumulative spike count" if kind.spiking else kind.score_name, row=2, col=3)
    if kind.spiking:
        fig.update_yaxes(tickvals=list(range(len(names))), ticktext=names, range=[-0.5, len(names) - 0.5], row=2,
                         col=1)
    return fig


def _classifier_sections(run_dir: Path, digits: int, limit, data_dir):
    from spikingnn.viz.classifier import readout
    from spikingnn.viz.conv import conv_layers
    from spikingnn.viz.demo import initial_weights

    model = cli._load_model(run_dir / "model.npz", "RUN_DIR")
    conv = {layer.index: layer for layer in conv_layers(model)} if model.has_convolutions else {}
    config = run_dir / "config.json"
    options, _, where = cli._read_run_config(config) if config.is_file() else ({}, {}, {})
    if data_dir is not None:
        where = {"data_dir": "--data-dir"}
    images, labels = cli._load_split(options.get("dataset", "mnist"), "test",
                                     data_dir if data_dir is not None else options.get("data_dir"), where)
    images, labels = images[:limit], labels[:limit]
    predicted = model.predict(images)
    cm = cli.confusion_matrix(labels, predicted, model.classes_)
    kind = readout(model.loss)
    names = [str(c) for c in model.classes_]
    sizes = "-".join(map(str, model.layer_sizes_))
    network = (f"{model.arch} convolutional {model.neuron.upper()} network ({sizes} neurons)" if conv
               else f"{sizes} {model.neuron.upper()} network")
    summary = (f"{network}, T = {model.num_steps} steps of {model.dt:g} ms, "
               f"{model.encoding} input, loss {model.loss}: "
               + ("the output neurons spike and the class scores are spike counts." if kind.spiking else
                  f"the output layer is a non-spiking read-out; its scores are the {kind.score_name}.")
               + f" {model.epoch_} epoch(s) trained.")
    sections = [("Run", summary, None)]
    if model.history_:
        sections.append(("Training", "Loss and accuracy per epoch (validation on the test split), and the mean "
                         "firing rate of each spiking layer.", _curves_figure(model.history_, kind.spiking)))
    sections.append(("Confusion matrix", f"Row: true class; column: predicted class; {len(labels)} test images.",
                     _confusion_figure(cm, names)))
    picked = _pick_digits(labels, predicted, model.classes_, digits)
    sections.append(("Test digits", "Move the slider to pick a test digit (the first of each class, then "
                     "misclassified ones): its picture, the input spikes, the hidden layers' spikes and the race "
                     "of the output scores.", _picker_figure(model, images, labels, picked)))
    layers = {f"layer {k + 1}: " + (f"{w.shape[3]} kernels {' × '.join(map(str, w.shape[:3]))}" if k in conv
                                    else f"{w.shape[0]} → {w.shape[1]}"): {"after training": w, "before training": w0}
              for k, (w, w0) in enumerate(zip(model.weights_, initial_weights(model)))}
    sections.append(("Weights", "Weights of each layer after training (bars) and as they were drawn before it "
                     "(outline).", _histograms_figure(layers, "weight histograms")))
    first = model.weights_[0]
    if 0 in conv:
        sections.append(("Kernels", f"The first layer is a convolution ({conv[0].name}): each of its filters slides "
                         f"one small kernel over the picture, so instead of a receptive field per neuron it learns "
                         f"{first.shape[3]} kernels of {first.shape[0]} × {first.shape[1]} pixels"
                         + (" per input channel (a row per filter, a column per channel)" if first.shape[2] > 1
                            else "") + ": red pixels excite the filter's neurons, blue ones inhibit them.",
                         _kernels_figure(np.asarray(first, float), f"kernels of layer 1 ("
                                         f"{min(first.shape[3], MAX_FIELDS)} filters of {first.shape[0]} × "
                                         f"{first.shape[1]})")))
    elif first.ndim == 2 and math.isqrt(first.shape[0]) ** 2 == first.shape[0]:
        sections.append(("Receptive fields", "Each tile is one hidden neuron's input weights drawn as a picture: "
                         "red pixels excite it, blue ones inhibit it.",
                         _fields_figure(np.asarray(first, float), f"receptive fields of hidden layer 1 (the first "
                                        f"{min(first.shape[1], MAX_FIELDS)} neurons)", symmetric=True)))
    return sections


# ---------------------------------------------------------------------------------- a Diehl & Cook run
def _diehl_cook_sections(run_dir: Path):
    import plotly.graph_objects as go

    from spikingnn.diehl_cook import DiehlCookNetwork

    net = DiehlCookNetwork.load(run_dir / "network.npz")
    results_path = run_dir / "results.json"
    results = json.loads(results_path.read_text()) if results_path.is_file() else {}
    accuracy = results.get("test_accuracy")
    summary = (f"Diehl & Cook (2015) network of {net.n_neurons} excitatory neurons, trained without labels by "
               f"STDP on {net.images_seen} images"
               + ("" if accuracy is None else f"; test accuracy {100 * accuracy:.2f}% on "
                                              f"{results.get('test_images')} images") + ".")
    labelled = bool(np.any(net.assignments >= 0))
    names = [str(a) if a >= 0 else "-" for a in net.assignments.tolist()]
    sections = [("Run", summary, None)]
    if math.isqrt(net.n_input) ** 2 == net.n_input:
        sections.append(("Receptive fields", "Each tile is one excitatory neuron's input weights; the number in "
                         "its corner is the class it fires most for ('-': not labelled yet).",
                         _fields_figure(np.asarray(net.weights, float), "receptive fields and labels",
                                        symmetric=False, labels=names)))
    if labelled:
        classes, counts = np.unique(net.assignments[net.assignments >= 0], return_counts=True)
        fig = go.Figure(go.Bar(x=[str(c) for c in classes], y=counts, marker_color="#1f77b4"))
        fig.update_layout(title="neurons per label", xaxis_title="label", yaxis_title="neurons", height=330,
                          width=560, xaxis_type="category")
        sections.append(("Labels", "How many excitatory neurons were assigned to each class.", fig))
    sections.append(("Weights and thresholds", "Input weights after learning, and the adaptive threshold "
                     "increments theta (mV) the homeostasis left.",
                     _histograms_figure({"input → E weights": {"weights": net.weights},
                                         "theta (mV)": {"theta": net.theta}}, "histograms")))
    return sections


# --------------------------------------------------------------------------------------------- the page
_STYLE = ("body{font-family:sans-serif;max-width:1250px;margin:1em auto;padding:0 1em;color:#222}"
          "h1{font-size:1.5em}h2{font-size:1.2em;margin-top:1.6em;border-bottom:1px solid #ddd}")


def _page(title: str, sections) -> str:
    from plotly.offline import get_plotlyjs

    parts = [f"<!DOCTYPE html><html><head><meta charset='utf-8'><title>{html.escape(title)}</title>"
             f"<style>{_STYLE}</style><script type='text/javascript'>{get_plotlyjs()}</script></head><body>"
             f"<h1>{html.escape(title)}</h1>"]
    for k, (heading, text, fig) in enumerate(sections):
        parts.append(f"<h2>{html.escape(heading)}</h2><p>{html.escape(text)}</p>")
        if fig is not None:
            div_id = heading.lower().replace(" ", "-") if heading else f"figure-{k}"
            parts.append(fig.to_html(full_html=False, include_plotlyjs=False, div_id=div_id,
                                     config={"displaylogo": False, "responsive": True}))
    parts.append("</body></html>")
    return "\n".join(parts)


def write_report(run_dir, out=None, *, digits: int = 20, limit: int | None = None, data_dir=None) -> Path:
    """Write the HTML report of the run in ``run_dir`` to ``out`` (default ``run_dir/report.html``); returns it.

    A ``spikingnn train`` run (model.npz) is evaluated on the first ``limit`` test images (default all) of its
    dataset, found as the run found it (or in ``data_dir``); ``digits`` test digits go into the picker. A
    Diehl & Cook run (network.npz, from examples/stdp_mnist.py) needs no data. Raises ValueError naming the
    argument for a folder that holds neither, a bad number, or a missing dataset.
    """
    run_dir = Path(run_dir)
    if not run_dir.is_dir():
        raise ValueError(f"RUN_DIR {run_dir} is not a folder (give a run folder of `spikingnn train` or of "
                         f"examples/stdp_mnist.py)")
    out = run_dir / "report.html" if out is None else Path(out)
    if out.is_dir():
        raise ValueError(f"out {out} is a folder; give the name of the HTML file to write")
    _check_count("digits", digits, 1, MAX_DIGITS)
    _check_count("limit", limit, 1)
    if (run_dir / "model.npz").is_file():
        sections = _classifier_sections(run_dir, digits, limit, data_dir)
    elif (run_dir / "network.npz").is_file():
        sections = _diehl_cook_sections(run_dir)
    else:
        raise ValueError(f"RUN_DIR {run_dir} holds neither model.npz (a `spikingnn train` run) nor network.npz "
                         f"(an examples/stdp_mnist.py run)")
    page = _page(f"spikingnn report: {run_dir.resolve().name}", sections)
    with atomic_write(out, "w") as handle:
        handle.write(page)
    return out


def _run(args) -> int:
    print(f"wrote {write_report(args.run_dir, args.out, digits=args.digits, limit=args.limit, data_dir=args.data_dir)}")
    return 0


def add_command(commands, make_parser) -> None:
    """Add ``report`` to the ``spikingnn`` command. ``commands``: the subparsers it joins, which ``make_parser(
    name, summary, description, examples)`` (``cli._subcommand`` bound to them) adds the parser to."""
    parser = make_parser(
        "report", "an interactive HTML report of a training run",
        "Write one self-contained HTML file (it opens from disk, offline) showing what a run produced: training "
        "curves, confusion matrix, a picker over test digits with their input, hidden and output activity, "
        "weights and receptive fields (a convolutional network's kernels); for a Diehl & Cook run "
        "(examples/stdp_mnist.py), its receptive fields and labels.",
        "  spikingnn report runs/mnist                    # writes runs/mnist/report.html\n"
        "  spikingnn report runs/mnist --out mnist.html --digits 40 --limit 2000")
    parser.add_argument("run_dir", metavar="RUN_DIR", help="a run folder (model.npz, or network.npz)")
    parser.add_argument("--out", help="the HTML file to write (default RUN_DIR/report.html)")
    parser.add_argument("--digits", type=int, default=20, metavar="N",
                        help=f"test digits in the picker, 1 to {MAX_DIGITS} (default 20)")
    parser.add_argument("--limit", type=int, metavar="N", help="confusion matrix on the first N test images "
                        "(default: all)")
    parser.add_argument("--data-dir", help=cli.DATA_DIR_HELP + "; default: the run's")
    parser.set_defaults(run=_run)
