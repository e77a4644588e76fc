"""Ensemble coding with diverse tuning curves (the Neural Engineering Framework recipe).

    python visualizations/population_viz.py [--out figures] [--show]

Writes
- tuning_curves.png: (a) the LIF tuning curves a_i(x) of a population representing a scalar x in [-1, 1],
  each with its own intercept, maximum rate and preferred direction (+1 "on" or -1 "off"); (b) x and x^2
  decoded from those rates with regularised least-squares decoders, against the true functions.
- population_decoding.png: the same ensemble, simulated as a LIFGroup driven by a slow sine x(t): (a) the
  spike raster, neurons sorted by where they start firing; (b) x(t) and (c) x(t)^2 decoded from the filtered
  spike trains, against the true signals.
"""
import numpy as np

from spikingnn.plotting import plot_raster, run_script, save_figure, script_parser, use_backend
from spikingnn.population_coding import Ensemble, EnsembleParams, filter_spikes, sample_unit_ball, solve_decoders

N_NEURONS, SEED = 80, 0
DT, TAU_SYN, DURATION = 0.1, 15.0, 1000.0    # ms
FUNCTIONS = {"x": lambda x: x, "x²": lambda x: x**2}


def fit_decoders(ensemble, rng):
    """One set of decoders per function, fitted to the rate tuning curves at 500 random points of [-1, 1]."""
    points = sample_unit_ball(500, 1, rng)[:, 0]
    rates = ensemble.rates(points)
    return {name: solve_decoders(rates, f(points), reg=0.1) for name, f in FUNCTIONS.items()}


def plot_tuning_curves(ensemble, decoders):
    import matplotlib.pyplot as plt

    fig, (ax_curves, ax_decoded) = plt.subplots(1, 2, figsize=(10, 3.8), constrained_layout=True)
    x = np.linspace(-1.0, 1.0, 401)
    rates = ensemble.rates(x)
    for i, encoder in enumerate(ensemble.encoders[:, 0]):
        ax_curves.plot(x, rates[:, i], lw=0.9, color="tab:blue" if encoder > 0 else "tab:red", alpha=0.8)
    ax_curves.plot([], [], color="tab:blue", label="preferred direction +1 (on)")
    ax_curves.plot([], [], color="tab:red", label="preferred direction -1 (off)")
    ax_curves.set(xlabel="represented value x", ylabel="firing rate (Hz)",
                  title=f"(a) LIF tuning curves of {ensemble.params.n_neurons} neurons")
    ax_curves.legend(loc="upper center", fontsize="small")
    for (name, d), color in zip(decoders.items(), ("tab:green", "tab:purple")):
        ax_decoded.plot(x, rates @ d, color=color, lw=2.5, alpha=0.8, label=f"decoded {name}")
        ax_decoded.plot(x, FUNCTIONS[name](x), color="black", ls="--", lw=1.0)
    ax_decoded.plot([], [], color="black", ls="--", lw=1.0, label="true function")
    ax_decoded.set(xlabel="represented value x", ylabel="decoded value",
                   title="(b) decoded from the rates: sum_i a_i(x) d_i")
    ax_decoded.legend(fontsize="small")
    return fig


def plot_spiking_decoding(ensemble, decoders):
    import matplotlib.pyplot as plt

    time = np.arange(round(DURATION / DT)) * DT
    x = 0.9 * np.sin(2 * np.pi * time / DURATION)
    spikes = ensemble.simulate(x, dt=DT)
    rates = filter_spikes(spikes, DT, TAU_SYN)
    encoders = ensemble.encoders[:, 0]
    start_firing = encoders * (1.0 - ensemble.bias) / ensemble.gain     # the x where J = 1 (rheobase)
    order = np.lexsort((start_firing, encoders > 0))                        # off neurons below, on above
    fig, axes = plt.subplots(3, 1, figsize=(8, 7), sharex=True, constrained_layout=True,
                             gridspec_kw=dict(height_ratios=(1.3, 1, 1)))
    plot_raster(spikes[:, order], dt=DT, ax=axes[0], colors=list(np.where(encoders[order] > 0, "tab:blue", "tab:red")))
    axes[0].set(ylabel="neuron (off, then on)", xlabel="",
                title=f"(a) spikes of the LIFGroup driven by J = gain <e, x(t)> + bias ({spikes.sum()} spikes)")
    for ax, (name, d), color in zip(axes[1:], decoders.items(), ("tab:green", "tab:purple")):
        ax.plot(time, FUNCTIONS[name](x), color="black", ls="--", lw=1.0, label=f"true {name}")
        ax.plot(time, rates @ d, color=color, lw=1.2, label=f"decoded from spikes (tau_syn = {TAU_SYN:g} ms)")
        ax.set(ylabel=name)
        ax.legend(loc="lower left", fontsize="small")
    axes[1].set_title("(b) the represented value x(t); the estimate lags it by about tau_syn")
    axes[2].set_title("(c) a function of it, x(t)², from the same spikes")
    axes[2].set_xlabel("time (ms)")
    return fig


def main(argv=None):
    args = script_parser(__doc__).parse_args(argv)
    use_backend(args.show)
    rng = np.random.default_rng(SEED)
    ensemble = Ensemble.random(EnsembleParams(n_neurons=N_NEURONS), rng)
    decoders = fit_decoders(ensemble, rng)
    save_figure(plot_tuning_curves(ensemble, decoders), args.out, "tuning_curves.png")
    save_figure(plot_spiking_decoding(ensemble, decoders), args.out, "population_decoding.png")
    if args.show:
        import matplotlib.pyplot as plt

        plt.show()


if __name__ == "__main__":
    run_script(main)
