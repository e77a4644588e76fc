"""The exponential synapse: post-synaptic currents, their summation, tau_syn, and a neuron driven through it.

    python visualizations/synapse_viz.py [--out figures] [--show]

Writes synapse_dynamics.png: (a) the current i_syn for a presynaptic spike train; (b) superposition, the
response to two spikes equals the sum of the responses to each; (c) the kernel w exp(-t / tau_syn) for several
tau_syn; (d) a LIF neuron driven through the synapse by a Poisson spike train (the three-line loop of
spikingnn/synapses.py). Time in ms; currents in units of the weight w, so that R i_syn is in units of v.
"""
import numpy as np

from spikingnn.neurons import FirstOrderLIF
from spikingnn.plotting import plot_membrane, run_figure_script, run_script
from spikingnn.synapses import FirstOrderSynapse

DT = 0.1   # ms


def spike_train(spike_times, duration):
    """Boolean (T,) presynaptic train with spikes at the given times (ms)."""
    pre = np.zeros(round(duration / DT), dtype=bool)
    pre[np.round(np.asarray(spike_times) / DT).astype(int)] = True
    return pre


def mark_spikes(ax, pre, height, color="black", label="presynaptic spikes"):
    """Ticks at the presynaptic spike times, at ``height`` on the y-axis."""
    times = np.flatnonzero(pre) * DT
    ax.scatter(times, np.full(times.size, height), marker="|", s=120, color=color, label=label)


def plot_spike_train_current(ax):
    """Each spike adds w; between spikes the current decays. Close spikes pile up (temporal summation)."""
    pre = spike_train([10, 40, 44, 47, 50, 90, 130, 133], 160)
    i_syn = FirstOrderSynapse(tau_syn=5.0, weight=1.0, dt=DT).simulate(pre)
    ax.plot(np.arange(pre.size) * DT, i_syn, lw=1.5, label="i_syn (tau_syn = 5 ms, w = 1)")
    mark_spikes(ax, pre, i_syn.max() + 0.3)
    ax.set_title("(a) post-synaptic current of a spike train")
    ax.set_xlabel("time (ms)")
    ax.set_ylabel("synaptic current i_syn")
    ax.legend(fontsize="small", loc="center right")


def plot_superposition(ax):
    """The equation is linear: the response to spikes at 10 and 16 ms is the sum of the two responses."""
    duration, tau_syn = 60.0, 8.0
    time = np.arange(round(duration / DT)) * DT
    first, second = spike_train([10], duration), spike_train([16], duration)
    response = {name: FirstOrderSynapse(tau_syn=tau_syn, dt=DT).simulate(pre)
                for name, pre in (("first", first), ("second", second), ("both", first | second))}
    ax.plot(time, response["first"], ls="--", lw=1.2, label="spike at 10 ms alone")
    ax.plot(time, response["second"], ls="--", lw=1.2, label="spike at 16 ms alone")
    ax.plot(time, response["both"], color="black", lw=2.0, label="both spikes (simulated)")
    ax.plot(time[::25], (response["first"] + response["second"])[::25], "o", color="tab:red", ms=4,
            label="sum of the two responses")
    mark_spikes(ax, first | second, 2.0)
    ax.set_title(f"(b) superposition (tau_syn = {tau_syn:g} ms, w = 1)")
    ax.set_xlabel("time (ms)")
    ax.set_ylabel("synaptic current i_syn")
    ax.legend(fontsize="small")


def plot_time_constants(ax):
    """The kernel w exp(-t / tau_syn): fast (AMPA-like, ~2 ms) to slow (GABA_B/NMDA-like tens of ms) synapses."""
    pre = spike_train([0], 60)
    time = np.arange(pre.size) * DT
    for tau_syn in (2.0, 5.0, 10.0, 20.0):
        line, = ax.plot(time, FirstOrderSynapse(tau_syn=tau_syn, dt=DT).simulate(pre), lw=1.5,
                        label=f"tau_syn = {tau_syn:g} ms")
        ax.plot(tau_syn, np.exp(-1.0), "o", color=line.get_color(), ms=5)
    ax.axhline(np.exp(-1.0), color="gray", ls=":", lw=1.0, label="w / e, reached at t = tau_syn")
    ax.set_title("(c) impulse response i_syn(t) = w exp(-t / tau_syn)")
    ax.set_xlabel("time after the presynaptic spike (ms)")
    ax.set_ylabel("synaptic current i_syn")
    ax.legend(fontsize="small")


def plot_driven_neuron(ax_current, ax_membrane, seed=0):
    """A Poisson train (500 Hz for 100 ms, then 150 Hz) through a w = 0.6 synapse into a tau_mem = 10 ms LIF.

    The expected current w tau_syn rate is 1.5 (above the rheobase 1), then 0.45: regular firing, then rare spikes
    riding on the fluctuations."""
    rng = np.random.default_rng(seed)
    time = np.arange(round(200 / DT)) * DT
    rate_hz = np.where(time < 100, 500.0, 150.0)
    pre_spikes = rng.random(time.size) < rate_hz * DT / 1000.0
    synapse, neuron = FirstOrderSynapse(tau_syn=5.0, weight=0.6, dt=DT), FirstOrderLIF(tau_mem=10.0, dt=DT)
    i_syn, v, post_spikes = np.empty(time.size), np.empty(time.size), np.zeros(time.size, dtype=bool)
    for t, pre in enumerate(pre_spikes):
        i_syn[t] = synapse.step(pre)
        post_spikes[t] = neuron.step(i_syn[t])
        v[t] = neuron.v
    ax_current.plot(time, i_syn, color="tab:orange", lw=1.0, label="i_syn (tau_syn = 5 ms, w = 0.6)")
    mark_spikes(ax_current, pre_spikes, i_syn.max() * 1.15, color="gray",
                label=f"presynaptic Poisson spikes ({pre_spikes.sum()})")
    ax_current.set_ylabel("i_syn")
    ax_current.legend(fontsize="small", loc="upper left", bbox_to_anchor=(1.01, 1.0))
    ax_current.set_title("(d) a LIF neuron driven through the synapse: 500 Hz input, then 150 Hz")
    ax_current.tick_params(labelbottom=False)
    plot_membrane(v, dt=DT, threshold=neuron.params.v_threshold, spikes=post_spikes,
                  labels=[f"v (tau_mem = 10 ms), {post_spikes.sum()} output spikes"], ax=ax_membrane)


def make_figure():
    """The whole picture; pyplot is imported here, after main() has chosen the backend."""
    import matplotlib.pyplot as plt

    fig = plt.figure(figsize=(14, 8.5), layout="constrained")
    grid = fig.add_gridspec(2, 2)
    for panel, cell in ((plot_spike_train_current, grid[0, 0]), (plot_superposition, grid[0, 1]),
                        (plot_time_constants, grid[1, 0])):
        panel(fig.add_subplot(cell))
    driven = grid[1, 1].subgridspec(2, 1, height_ratios=(1, 2))
    ax_current = fig.add_subplot(driven[0])
    plot_driven_neuron(ax_current, fig.add_subplot(driven[1], sharex=ax_current))
    fig.suptitle("First-order synapse: tau_syn di_syn/dt = -i_syn, jumping by w at each presynaptic spike")
    return fig


def main(argv=None):
    run_figure_script(__doc__, make_figure, "synapse_dynamics.png", argv)


if __name__ == "__main__":
    run_script(main)
