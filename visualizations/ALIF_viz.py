"""Spike-frequency adaptation in the ALIF neuron: the threshold climbs with every spike, the intervals grow.

    python visualizations/ALIF_viz.py [--out figures] [--show]

Writes alif_adaptation.png: (a) membrane potential and adaptive threshold v_threshold + beta_adapt * a under a
constant current; (b) the spike trains of ALIF and of the plain LIF (beta_adapt = 0) side by side; (c) the
inter-spike intervals against spike number for several beta_adapt. Time in ms, v dimensionless.
"""
import numpy as np

from spikingnn.neurons import ALIF
from spikingnn.plotting import plot_membrane, plot_raster, run_figure_script, run_script

DT = 0.1                     # ms
DURATION = 800.0             # ms
CURRENT = 2.0                # constant input, twice the rheobase
TAU_MEM, TAU_ADAPT = 20.0, 200.0
BETAS = (0.0, 0.1, 0.3, 1.0)
SHOWN_BETA = 0.3             # the ALIF of panels (a) and (b)


def run(beta_adapt):
    """Step an ALIF through the constant current; return v, threshold and spikes, each (T,)."""
    neuron = ALIF(tau_mem=TAU_MEM, tau_adapt=TAU_ADAPT, beta_adapt=beta_adapt, dt=DT)
    steps = round(DURATION / DT)
    v, threshold, spikes = np.empty(steps), np.empty(steps), np.zeros(steps, dtype=bool)
    for t in range(steps):
        spikes[t] = neuron.step(CURRENT)
        v[t], threshold[t] = neuron.v, neuron.threshold
    return v, threshold, spikes


def make_figure():
    """The whole picture; pyplot is imported here, after main() has chosen the backend."""
    import matplotlib.pyplot as plt

    runs = {beta: run(beta) for beta in BETAS}
    fig, axes = plt.subplots(3, 1, figsize=(11, 10), layout="constrained", height_ratios=(3, 1, 2.2))

    v, threshold, spikes = runs[SHOWN_BETA]
    plot_membrane(v, dt=DT, threshold=threshold, spikes=spikes, labels=["v (ALIF)"], ax=axes[0])
    axes[0].set_title(f"(a) ALIF under a constant current I = {CURRENT:g}: each spike raises the threshold by "
                      f"beta_adapt = {SHOWN_BETA:g}, which decays back with tau_adapt = {TAU_ADAPT:g} ms")

    plot_raster(np.stack([runs[0.0][2], spikes], axis=1), dt=DT, ax=axes[1], colors=["tab:gray", "tab:blue"])
    axes[1].set_yticks([0, 1], ["LIF\n(beta_adapt = 0)", f"ALIF\n(beta_adapt = {SHOWN_BETA:g})"])
    axes[1].set_ylabel("")
    axes[1].set_title(f"(b) the same input: regular firing (LIF, {runs[0.0][2].sum()} spikes) against adapting "
                      f"firing (ALIF, {spikes.sum()} spikes)")

    for beta, (_, _, beta_spikes) in runs.items():
        intervals = np.diff(np.flatnonzero(beta_spikes)) * DT
        axes[2].plot(np.arange(1, intervals.size + 1), intervals, "o-", ms=3.5, lw=1.2,
                     label=f"beta_adapt = {beta:g}" + (" (plain LIF)" if beta == 0 else ""))
    axes[2].set_title(f"(c) inter-spike intervals grow, then settle where adaptation balances the input "
                      f"({DURATION:g} ms of I = {CURRENT:g})")
    axes[2].set_xlabel("interval number")
    axes[2].set_ylabel("inter-spike interval (ms)")
    axes[2].set_ylim(bottom=0)
    axes[2].legend(fontsize="small")

    fig.suptitle(f"Adaptive LIF (tau_mem = {TAU_MEM:g} ms): threshold = v_threshold + beta_adapt a,  "
                 "tau_adapt da/dt = -a + tau_adapt sum delta(t - t_f)")
    return fig


def main(argv=None):
    run_figure_script(__doc__, make_figure, "alif_adaptation.png", argv)


if __name__ == "__main__":
    run_script(main)
