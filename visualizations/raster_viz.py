"""A network run at a glance: spike raster, population rate and membrane traces of a small CUBA network.

    python visualizations/raster_viz.py [--out figures] [--show]

Writes raster.png: 1,000 LIF neurons (800 excitatory, 200 inhibitory, ~80 inputs each; ``spikingnn/cuba.py``)
for 500 ms. (a) the spikes of every neuron; (b) the population rate; (c) the membrane potential of three
excitatory neurons with the threshold: the inputs keep v near threshold, and each crossing is a spike, a reset
to -60 mV, held there for a 5 ms refractory period. Since the resting potential (-49 mV) lies above threshold, the
neurons would fire at 19 Hz alone; the balance of excitation and inhibition holds them to a few Hz, irregularly.
"""
import numpy as np

from spikingnn.cuba import NEURON, cuba_network
from spikingnn.monitors import StateMonitor, population_rate
from spikingnn.plotting import plot_membrane, plot_raster_events, run_script, save_figure, script_parser, use_backend

N, P, DURATION, SEED, TRACED = 1000, 0.08, 500.0, 1, (0, 1, 2)


def simulate():
    """The network, its spike monitors (excitatory, inhibitory) and a trace monitor of v."""
    net = cuba_network(N, P, rng=SEED)
    trace = StateMonitor(net.groups[0], "v", indices=TRACED)
    net.add(trace)
    net.run(DURATION)
    return net, trace


def plot_run(net, trace):
    import matplotlib.pyplot as plt

    fig, (ax_raster, ax_rate, ax_v) = plt.subplots(3, 1, figsize=(8, 8), sharex=True, constrained_layout=True,
                                                   gridspec_kw=dict(height_ratios=(3, 1, 1.5)))
    excitatory, inhibitory = net.monitors[:2]
    n_exc = excitatory.source.n
    times = np.concatenate([excitatory.times, inhibitory.times])
    rows = np.concatenate([excitatory.indices, n_exc + inhibitory.indices])
    classes = np.repeat([0, 1], [n_exc, inhibitory.source.n])
    plot_raster_events(times, rows, N, classes=classes, class_names=("excitatory", "inhibitory"),
                       duration=DURATION, ax=ax_raster, title=f"(a) spikes of the {N} neurons")
    ax_raster.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0), fontsize="small")
    ax_raster.set_xlabel("")
    t, rate = population_rate(times, n=N, dt=1.0, window=5.0, t_stop=DURATION)
    ax_rate.plot(t, rate, color="tab:blue", lw=1.0)
    ax_rate.set(ylabel="rate (Hz)", title=f"(b) population rate, 5 ms window (mean {times.size / N / 0.5:.1f} Hz)")
    ax_rate.set_ylim(bottom=0.0)
    fired = np.zeros(trace.v.shape, dtype=bool)
    for j, k in enumerate(TRACED):
        fired[excitatory.steps[excitatory.indices == k], j] = True
    plot_membrane(trace.v, dt=net.dt, threshold=NEURON["v_threshold"], spikes=fired,
                  labels=[f"neuron {k}" for k in TRACED], ax=ax_v, ylabel="v (mV)")
    ax_v.set_title("(c) membrane potentials of three excitatory neurons")
    return fig


def main(argv=None):
    args = script_parser(__doc__).parse_args(argv)
    use_backend(args.show)
    save_figure(plot_run(*simulate()), args.out, "raster.png")
    if args.show:
        import matplotlib.pyplot as plt
        plt.show()


if __name__ == "__main__":
    run_script(main)
