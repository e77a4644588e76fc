"""The leaky integrate-and-fire neuron at work: step response, leak, refractory period and f-I curve.

    python visualizations/LIF_viz.py [--out figures] [--show]

Writes lif_dynamics.png: (a) the membrane under a step current, with threshold and spikes; (b) the free decay
v(t) = exp(-t / tau_mem) for several tau_mem; (c) the absolute refractory period, v held at v_reset after each
spike; (d) the f-I curve, simulated rates (dots) over the analytic curve (lines). Time in ms, v dimensionless.
"""
import numpy as np

from spikingnn.neurons import FirstOrderLIF, lif_rate
from spikingnn.plotting import plot_membrane, run_figure_script, run_script

DT = 0.1   # ms


def plot_step_response(ax):
    """A current of 1.5 from 20 to 120 ms (rheobase 1): the membrane charges, fires regularly, then relaxes."""
    time = np.arange(round(160 / DT)) * DT
    currents = np.where((time >= 20) & (time < 120), 1.5, 0.0)
    neuron = FirstOrderLIF(tau_mem=10.0, dt=DT)
    v_trace, spike_steps = neuron.simulate(currents)
    spikes = np.zeros(time.size, dtype=bool)
    spikes[spike_steps] = True
    ax.fill_between(time, currents, color="tab:orange", alpha=0.15, step="post", label="input R I")
    plot_membrane(v_trace, dt=DT, threshold=neuron.params.v_threshold, spikes=spikes, labels=["v"], ax=ax)
    ax.set_title("(a) step current: integrate, fire, reset (tau_mem = 10 ms)")
    ax.legend(loc="upper right", fontsize="small")


def plot_leak(ax):
    """With no input, v relaxes from 1 to rest with time constant tau_mem: it has lost 63% after tau_mem."""
    time = np.arange(1, round(100 / DT) + 1) * DT
    for tau_mem in (5.0, 10.0, 20.0, 40.0):
        neuron = FirstOrderLIF(tau_mem=tau_mem, v_threshold=2.0, dt=DT)
        neuron.v = 1.0
        v_trace, _ = neuron.simulate(np.zeros(time.size))
        line, = ax.plot(np.concatenate([[0.0], time]), np.concatenate([[1.0], v_trace]), lw=1.5,
                        label=f"tau_mem = {tau_mem:g} ms")
        ax.plot(tau_mem, np.exp(-1.0), "o", color=line.get_color(), ms=5)
    ax.axhline(np.exp(-1.0), color="gray", ls=":", lw=1.0, label="v = 1/e, reached at t = tau_mem")
    ax.set_title("(b) leak: v(t) = v(0) exp(-t / tau_mem) without input")
    ax.set_xlabel("time (ms)")
    ax.set_ylabel("membrane potential v")
    ax.legend(fontsize="small")


def plot_refractory(ax):
    """The same strong input with and without a 4 ms refractory period: v is held after the reset, the next spike
    waits."""
    refractory, duration = 4.0, 40.0
    currents = np.full(round(duration / DT), 3.0)
    for refractory_ms, color in ((0.0, "tab:gray"), (refractory, "tab:blue")):
        neuron = FirstOrderLIF(tau_mem=10.0, refractory=refractory_ms, dt=DT)
        v_trace, spike_steps = neuron.simulate(currents)
        ax.plot(np.arange(currents.size) * DT, v_trace, color=color, lw=1.5 if refractory_ms else 1.0,
                label=f"refractory = {refractory_ms:g} ms ({spike_steps.size} spikes)")
    for k, start in enumerate(spike_steps * DT):
        ax.axvspan(start, start + refractory, color="tab:blue", alpha=0.15, lw=0,
                   label="refractory: v held at v_reset" if k == 0 else None)
    ax.axhline(1.0, color="gray", ls="--", lw=1.0, label="threshold")
    ax.set_xlim(0, duration)
    ax.set_ylim(-0.05, 1.45)
    ax.set_title("(c) absolute refractory period (I = 3, tau_mem = 10 ms)")
    ax.set_xlabel("time (ms)")
    ax.set_ylabel("membrane potential v")
    ax.legend(fontsize="small", loc="upper right", ncol=2)


def simulated_rate(neuron, current, duration=300.0):
    """Rate in Hz from the mean inter-spike interval of a constant-current run (0 if fewer than two spikes)."""
    _, spike_steps = neuron.simulate(np.full(round(duration / neuron.dt), current))
    if spike_steps.size < 2:
        return 0.0
    return 1000.0 * (spike_steps.size - 1) / ((spike_steps[-1] - spike_steps[0]) * neuron.dt)


def plot_f_i_curve(ax):
    """rate(I) = 1 / (t_ref + tau_mem ln(R I / (R I - 1))): zero up to the rheobase, saturating at 1 / t_ref."""
    currents = np.linspace(0.0, 6.0, 400)
    sampled = np.linspace(0.25, 6.0, 24)
    for refractory in (0.0, 2.0, 5.0):
        line, = ax.plot(currents, lif_rate(currents, tau_mem=10.0, refractory=refractory), lw=1.5,
                        label=f"analytic, t_ref = {refractory:g} ms")
        rates = [simulated_rate(FirstOrderLIF(tau_mem=10.0, refractory=refractory, dt=DT), i) for i in sampled]
        ax.plot(sampled, rates, "o", color=line.get_color(), ms=4)
        if refractory:
            ax.axhline(1000.0 / refractory, color=line.get_color(), ls=":", lw=1.0)
    ax.plot([], [], "o", color="black", ms=4, label=f"simulated, dt = {DT:g} ms (intervals end on whole steps)")
    ax.plot([], [], ":", color="black", lw=1.0, label="1 / t_ref")
    ax.axvline(1.0, color="gray", ls="--", lw=1.0, label="rheobase")
    ax.set_title("(d) f-I curve (tau_mem = 10 ms)")
    ax.set_xlabel("input current I (R = 1, so R I in units of v)")
    ax.set_ylabel("firing rate (Hz)")
    ax.legend(fontsize="small", loc="upper left")


def make_figure():
    """The whole picture; pyplot is imported here, after main() has chosen the backend."""
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(2, 2, figsize=(13, 8.5), layout="constrained")
    for panel, ax in zip((plot_step_response, plot_leak, plot_refractory, plot_f_i_curve), axes.ravel()):
        panel(ax)
    fig.suptitle("First-order LIF neuron: tau_mem dv/dt = -(v - v_rest) + R I, spike and reset at v_threshold")
    return fig


def main(argv=None):
    run_figure_script(__doc__, make_figure, "lif_dynamics.png", argv)


if __name__ == "__main__":
    run_script(main)
