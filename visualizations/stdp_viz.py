"""STDP: the pair window, measured by simulation over the analytic curve, and a synapse learning which of its
inputs are correlated (Song, Miller & Abbott 2000).

    python visualizations/stdp_viz.py [--out DIR] [--show]

stdp_window.png: weight change of one synapse after one pre and one post spike Delta t apart, simulated with
``spikingnn.stdp.STDP`` (dots) over the exponential window (lines), for additive STDP (hard bounds) and for
multiplicative STDP (soft bounds, starting at w = 0.75 w_max: less room to grow, more to shrink).
stdp_weights.png: one LIF neuron with 200 plastic input synapses, 100 from inputs that share part of their
spikes (correlated) and 100 independent ones, all at 10 Hz; the correlated synapses grow to w_max, the
independent ones are pushed to zero.
"""
from __future__ import annotations

import numpy as np

from spikingnn.groups import LIFGroup, SynapseGroup
from spikingnn.plotting import run_script, save_figure, script_parser, use_backend
from spikingnn.sources import PoissonSource
from spikingnn.stdp import STDP, pair_weight_change

WINDOW = dict(a_plus=0.01, a_minus=0.0105, tau_plus=16.8, tau_minus=33.7)   # Bi & Poo's time constants


def plot_window(plt):
    fig, ax = plt.subplots(figsize=(6.4, 3.8), layout="constrained")
    dense, measured = np.linspace(-100, 100, 801), np.arange(-100.0, 101.0, 5.0)
    cases = (("additive, hard bounds", "tab:blue", dict(bounds="hard"), 0.5),
             ("multiplicative, soft bounds (w = 0.75)", "tab:orange", dict(bounds="soft", mu=1.0), 0.75))
    for label, color, bounds, w0 in cases:
        scale_up, scale_down = ((1.0 - w0), w0) if bounds["bounds"] == "soft" else (1.0, 1.0)
        curve = np.where(dense >= 0, WINDOW["a_plus"] * scale_up * np.exp(-dense / WINDOW["tau_plus"]),
                         -WINDOW["a_minus"] * scale_down * np.exp(dense / WINDOW["tau_minus"]))
        ax.plot(dense[dense < 0], curve[dense < 0], color=color, lw=1.5, label=f"{label}: analytic")
        ax.plot(dense[dense >= 0], curve[dense >= 0], color=color, lw=1.5)
        points = [pair_weight_change(d, dt=0.5, w0=w0, **WINDOW, **bounds) for d in measured]
        ax.plot(measured, points, "o", color=color, ms=4, mfc="white", label=f"{label}: simulated")
    ax.axhline(0, color="gray", lw=0.6)
    ax.axvline(0, color="gray", lw=0.6)
    ax.set_xlabel(r"$\Delta t = t_\mathrm{post} - t_\mathrm{pre}$ (ms)")
    ax.set_ylabel(r"weight change $\Delta w$ (units of $w_\mathrm{max}$)")
    ax.set_title(rf"STDP window ($\tau_+$ = {WINDOW['tau_plus']} ms, $\tau_-$ = {WINDOW['tau_minus']} ms, dt = 0.5 ms)")
    ax.text(50, 0.0045, "pre before post:\npotentiation (LTP)", ha="center", fontsize="small")
    ax.text(-62, -0.0085, "post before pre:\ndepression (LTD)", ha="center", fontsize="small")
    ax.set_ylim(-0.0115, 0.019)
    ax.legend(fontsize="x-small", loc="upper left", ncol=2)
    return fig


def correlated_inputs(rng, n_steps, n_correlated, n_independent, rate_hz, correlation, dt):
    """(n_steps, n) bool: the first inputs copy each spike of a shared mother train with probability
    ``correlation`` (the mother fires at rate / correlation), the others are independent; all at ``rate_hz``."""
    p = rate_hz * dt / 1000.0
    mother = rng.random((n_steps, 1)) < p / correlation
    shared = mother & (rng.random((n_steps, n_correlated)) < correlation)
    return np.concatenate([shared, rng.random((n_steps, n_independent)) < p], axis=1)


def learn_correlations(seconds=80.0, dt=1.0, n_each=100, seed=0):
    """Weights (n_samples, 2 n_each) over time of one LIF neuron's input synapses, and the sample times (s)."""
    rng = np.random.default_rng(seed)
    neuron = LIFGroup(1, dt=dt, tau_mem=20.0)
    inputs = PoissonSource(2 * n_each, rate_hz=10.0)           # only its size is used: we draw the spikes here
    rule = STDP(dt=dt, a_plus=0.01, a_minus=0.0125, tau_plus=20.0, tau_minus=20.0, w_max=1.0)
    synapses = SynapseGroup(inputs, neuron, np.full((2 * n_each, 1), 0.5), tau_syn=5.0, learning_rule=rule)
    gain = 0.12                                                # current per unit weight: the neuron fires ~ 10-20 Hz
    steps_per_block = int(round(1000.0 / dt))
    history = [synapses.weights[:, 0].copy()]
    for _ in range(int(seconds)):
        block = correlated_inputs(rng, steps_per_block, n_each, n_each, 10.0, 0.2, dt)
        for pre in block:
            spikes = neuron.step(gain * synapses.step(pre)[0])
            synapses.learn(pre, spikes)
        history.append(synapses.weights[:, 0].copy())
    return np.arange(len(history)), np.array(history)


def plot_trajectories(plt, times, weights):
    fig, ax = plt.subplots(figsize=(6.4, 3.8), layout="constrained")
    half = weights.shape[1] // 2
    for name, color, part in (("correlated inputs", "tab:red", weights[:, :half]),
                              ("independent inputs", "tab:gray", weights[:, half:])):
        ax.plot(times, part[:, :6], color=color, lw=0.5, alpha=0.6)
        ax.plot(times, part.mean(axis=1), color=color, lw=2.5, label=f"{name} (mean; thin: single synapses)")
    ax.set_xlabel("time (s)")
    ax.set_ylabel(r"synaptic weight $w$ (units of $w_\mathrm{max}$)")
    ax.set_ylim(-0.03, 1.03)
    ax.set_title("STDP separates correlated from independent inputs (additive, hard bounds)")
    ax.legend(fontsize="small", loc="center right")
    return fig


def main(argv=None) -> None:
    args = script_parser(__doc__).parse_args(argv)
    use_backend(args.show)
    import matplotlib.pyplot as plt

    save_figure(plot_window(plt), args.out, "stdp_window.png")
    save_figure(plot_trajectories(plt, *learn_correlations()), args.out, "stdp_weights.png")
    if args.show:
        plt.show()


if __name__ == "__main__":
    run_script(main)
