"""The CUBA network of Brette et al. 2007 (after Vogels & Abbott 2005), as in Brian2's examples/CUBA.py.

    python examples/cuba.py                                  # 4,000 neurons, 1 s: figures/cuba_raster.png
    python examples/cuba.py --n 40000 --p 0.002 --duration 500 --out runs/cuba --show

4,000 LIF neurons (80 % excitatory), each pair connected with probability 0.02, exponential current synapses
(5 ms excitatory, 10 ms inhibitory), v in mV: see ``spikingnn/cuba.py`` for the equations and parameters.
Prints the mean rate (Brian2: about 5.6 Hz at N = 4,000) and draws a raster of some neurons over the
population rate. ``benchmarks/cuba.py`` times the same network against Brian2.
"""
import time

import numpy as np

from spikingnn.cuba import cuba_network
from spikingnn.monitors import population_rate
from spikingnn.plotting import plot_raster_events, run_script, save_figure, script_parser, use_backend


def plot_cuba(net, duration, shown):
    """Raster of the first neurons of each population (as many as their share of ``shown``), over the rate."""
    import matplotlib.pyplot as plt

    fig, (ax_raster, ax_rate) = plt.subplots(2, 1, figsize=(8, 5.5), sharex=True, constrained_layout=True,
                                             gridspec_kw=dict(height_ratios=(3, 1)))
    n = net.groups[0].n
    times, rows, classes = [], [], []
    for label, monitor in enumerate(net.monitors):                # excitatory, then inhibitory
        k = max(1, round(shown * monitor.source.n / n))
        mine = monitor.indices < k
        times.append(monitor.times[mine])
        rows.append(len(classes) + monitor.indices[mine])
        classes += [label] * k
    plot_raster_events(np.concatenate(times), np.concatenate(rows), len(classes), classes=np.array(classes),
                       class_names=("excitatory", "inhibitory"), duration=duration, ax=ax_raster,
                       title=f"CUBA network of {n} neurons: spikes of {len(classes)} of them")
    ax_raster.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0), fontsize="small")
    ax_raster.set_xlabel("")
    t, rate = population_rate(np.concatenate([m.times for m in net.monitors]), n=n, dt=1.0, window=5.0,
                              t_stop=duration)
    ax_rate.plot(t, rate, color="tab:blue", lw=1.0)
    ax_rate.set(xlabel="time (ms)", ylabel="rate (Hz)", title="population rate (all neurons, 5 ms window)")
    ax_rate.set_ylim(bottom=0.0)
    return fig


def main(argv=None):
    parser = script_parser(__doc__)
    parser.add_argument("--n", type=int, default=4000, help="number of neurons (default 4000)")
    parser.add_argument("--p", type=float, default=0.02, help="connection probability (default 0.02)")
    parser.add_argument("--duration", type=float, default=1000.0, help="model time in ms (default 1000)")
    parser.add_argument("--shown", type=int, default=400, help="neurons in the raster (default 400)")
    parser.add_argument("--seed", type=int, default=0, help="seed of the connections and initial potentials "
                                                             "(default 0)")
    args = parser.parse_args(argv)
    use_backend(args.show)
    net = cuba_network(args.n, args.p, rng=args.seed)
    start = time.perf_counter()
    net.run(args.duration, progress=True)
    seconds = time.perf_counter() - start
    spikes = sum(int(m.count.sum()) for m in net.monitors)
    print(f"{args.n} neurons, p = {args.p}: {args.duration:g} ms of model time in {seconds:.2f} s, "
          f"{spikes} spikes, mean rate {spikes / args.n / (args.duration / 1000.0):.2f} Hz")
    save_figure(plot_cuba(net, args.duration, min(args.shown, args.n)), args.out, "cuba_raster.png")
    if args.show:
        import matplotlib.pyplot as plt
        plt.show()


if __name__ == "__main__":
    run_script(main)
