"""The surrogate gradients: the Heaviside spike, and the smooth derivatives used in its place when learning.

    python visualizations/surrogate_viz.py [--out DIR] [--show]

Top row: the forward pass is the Heaviside step H(v - threshold) for every surrogate; beside it, dashed, the
smooth function whose derivative the backward pass uses. Bottom row: that derivative, for three slopes; the
true derivative of H is zero everywhere but at the threshold. Writes surrogates.png.
"""
import numpy as np

from spikingnn.plotting import run_script, save_figure, script_parser, use_backend
from spikingnn.training.surrogate import make_surrogate

SLOPES = {"fast_sigmoid": (5.0, 10.0, 25.0), "arctan": (1.0, 2.0, 5.0), "triangle": (0.5, 1.0, 2.0)}
TITLES = {"fast_sigmoid": "fast sigmoid (SuperSpike)", "arctan": "arctan", "triangle": "triangle"}


def make_figure():
    import matplotlib.pyplot as plt

    x = np.linspace(-1.5, 1.5, 1201)
    fig, axes = plt.subplots(2, 3, figsize=(11, 5.6), dpi=90, sharex=True, constrained_layout=True)
    for column, (name, slopes) in enumerate(SLOPES.items()):
        top, bottom = axes[0, column], axes[1, column]
        top.plot(x, make_surrogate(name).spike(x), color="black", lw=2, label="H(x): the spike (forward)")
        for slope, color in zip(slopes, ("tab:blue", "tab:orange", "tab:green")):
            surrogate = make_surrogate(name, slope)
            smooth = surrogate.smooth(x)
            if name == "fast_sigmoid":                  # its antiderivative rises by 2/k: rescale to a 0..1 step
                smooth = 0.5 + 0.5 * slope * smooth
            top.plot(x, smooth, "--", color=color, lw=1.2, label=f"smooth, slope {slope:g}")
            bottom.plot(x, surrogate.grad(x), color=color, lw=1.5, label=f"slope {slope:g}")
        top.set_title(TITLES[name])
        top.set_ylabel("spike s" if column == 0 else "")
        bottom.set_ylabel("surrogate dS/dx" if column == 0 else "")
        bottom.set_xlabel("x = v - threshold (dimensionless)")
        top.legend(fontsize=7, loc="upper left")
        bottom.legend(fontsize=7, loc="upper right")
        for ax in (top, bottom):
            ax.axvline(0.0, color="grey", lw=0.5)
            ax.grid(alpha=0.3)
    fig.suptitle("Surrogate gradients: Heaviside forward, smooth derivative backward")
    return fig


def main(argv=None):
    args = script_parser(__doc__).parse_args(argv)
    use_backend(args.show)
    fig = make_figure()
    save_figure(fig, args.out, "surrogates.png")
    if args.show:
        import matplotlib.pyplot as plt
        plt.show()


if __name__ == "__main__":
    run_script(main)
