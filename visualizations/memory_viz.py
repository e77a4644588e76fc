"""Why adaptation gives a spiking network memory: ALIF thresholds carry the cues through the delay, LIF forgets.

    python visualizations/memory_viz.py [--iterations 60] [--runs runs/memory_viz] [--out figures] [--show]

Trains two recurrent networks on cue accumulation (Bellec et al. 2020, Fig. 3: 7 cues, a 1050 ms delay, then the
decision), the same in all but adaptation: 100 ALIF neurons (tau_adapt 2 s) and 100 LIF neurons, with e-prop
(``--method bptt`` for BPTT). Training resumes from ``--runs`` (checkpoints as in examples/cue_accumulation.py), so
a second call only draws. Writes adaptation_memory.png: (a) one held-out trial's input; (b) the ALIF network's
adaptive thresholds in that trial, the neurons sorted by the side they learned to prefer; (c) at every step, how
well a linear read-out of each network's state tells the side of the majority of the cues (ridge regression,
fitted on half of 256 held-out trials, tested on the other half; 50 % is chance): the ALIF thresholds keep the
answer through the delay, the LIF membranes lose it within a few tau_mem.
"""
from pathlib import Path

import numpy as np

from spikingnn.plotting import plot_raster, run_script, save_figure, script_parser, use_backend
from spikingnn.tasks import CUE_GROUPS, cue_accumulation
from spikingnn.training.eprop import RecurrentNetwork
from spikingnn.training.sequence_run import train_sequences

N_PER_GROUP = 10
HELD_OUT = 256
EVERY = 10                   # the read-out of panel (c) is fitted every EVERY steps
RIDGE = 1.0


def _parse(argv):
    parser = script_parser(__doc__)
    parser.add_argument("--iterations", type=int, default=60, help="training batches of 64 trials per network "
                                                                   "(default 60)")
    parser.add_argument("--hidden", type=int, default=100)
    parser.add_argument("--method", choices=("eprop", "bptt"), default="eprop")
    parser.add_argument("--runs", default="runs/memory_viz", help="checkpoint folder (default runs/memory_viz)")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    if args.iterations < 1 or args.hidden < 1:
        parser.error(f"--iterations and --hidden must be >= 1; got {args.iterations} and {args.hidden}")
    return args


def trained(neuron, args):
    """The network of ``neuron`` ('alif' or 'lif') after ``args.iterations`` batches (resumed from --runs)."""
    net = RecurrentNetwork(len(CUE_GROUPS) * N_PER_GROUP, args.hidden, 2, neuron=neuron, method=args.method,
                           random_state=args.seed)
    config = {"neuron": neuron, "method": args.method, "hidden": args.hidden, "seed": args.seed}
    train_sequences(net, lambda k: cue_accumulation(64, rng=np.random.default_rng([args.seed, 1, k])),
                    iterations=args.iterations, out=Path(args.runs) / neuron, config=config, save_every=20,
                    log=lambda line: print(f"{neuron}: {line}", flush=True))
    return net


def decodability(state, sides):
    """Accuracy of a ridge read-out of the side from state[t] (B, H), every EVERY steps: (steps, accuracies).

    Fitted on the first half of the trials, tested on the second; features standardised per step."""
    half, steps, accuracy = len(sides) // 2, np.arange(0, state.shape[0], EVERY), []
    target = 2.0 * sides - 1.0
    for t in steps:
        features = state[t].astype(np.float64)
        features = (features - features[:half].mean(axis=0)) / (features[:half].std(axis=0) + 1e-9)
        train, test = features[:half], features[half:]
        weights = np.linalg.solve(train.T @ train + RIDGE * np.eye(train.shape[1]), train.T @ target[:half])
        accuracy.append(np.mean((test @ weights > 0) == (sides[half:] == 1)))
    return steps, np.array(accuracy)


def make_figure(args):
    import matplotlib.pyplot as plt

    networks = {neuron: trained(neuron, args) for neuron in ("alif", "lif")}
    batch, cues = cue_accumulation(HELD_OUT, rng=np.random.default_rng([args.seed, 3]), return_cues=True)
    sides = batch.labels
    alif, lif = networks["alif"].record(batch.x), networks["lif"].record(batch.x)
    v_alif, thr_alif, v_lif = alif.v, alif.thr, lif.v
    accuracy = {neuron: float(np.mean(net.predict(batch.x, batch.loss_steps) == sides))
                for neuron, net in networks.items()}
    recall_start, n_steps = int(np.flatnonzero(batch.loss_steps)[0]), batch.x.shape[0]
    last_cue_end = int(np.flatnonzero(batch.x[:, :, :2 * N_PER_GROUP].any(axis=(1, 2)))[-1]) + 1

    fig, axes = plt.subplots(3, 1, figsize=(11, 10), layout="constrained", height_ratios=(1.3, 2, 2), sharex=True)
    trial = 0
    plot_raster(batch.x[:, trial].astype(bool), dt=1.0, ax=axes[0],
                classes=np.repeat(np.arange(len(CUE_GROUPS)), N_PER_GROUP), class_names=CUE_GROUPS)
    axes[0].legend(loc="upper center", ncols=len(CUE_GROUPS), fontsize="small")
    axes[0].set_ylabel("input neuron")
    side_names = np.array(["left", "right"])
    axes[0].set_title(f"(a) one held-out trial: cues {' '.join(side_names[cues[trial]])} (majority "
                      f"{side_names[sides[trial]]}), then the delay, the recall and the decision")

    # prefer: how much more a neuron's threshold rises in right-majority than in left-majority trials, at recall
    prefer = thr_alif[recall_start, sides == 1].mean(axis=0) - thr_alif[recall_start, sides == 0].mean(axis=0)
    image = axes[1].imshow(thr_alif[:, trial, np.argsort(prefer)].T, aspect="auto", origin="lower",
                           interpolation="nearest", cmap="magma", extent=(0, n_steps, 0, args.hidden))
    fig.colorbar(image, ax=axes[1], label="threshold v_th + beta_a a")
    axes[1].set_ylabel("ALIF neuron\n(sorted by preferred side)")
    axes[1].set_title("(b) the ALIF thresholds of that trial: each cue's spikes raise them, and they decay with "
                      "tau_adapt = 2 s, so they still hold the cues at the recall")

    for label, state, color in ((f"ALIF thresholds (network: {accuracy['alif']:.0%} correct)", thr_alif,
                                 "tab:blue"), ("ALIF membranes", v_alif, "tab:cyan"),
                                (f"LIF membranes (network: {accuracy['lif']:.0%} correct)", v_lif, "tab:red")):
        axes[2].plot(*decodability(state, sides), color=color, label=label, lw=1.4)
    axes[2].axhline(0.5, color="gray", ls=":", lw=1)
    for ax in axes[1:]:
        ax.axvspan(last_cue_end, recall_start, color="0.9", zorder=-1)
    axes[2].text((last_cue_end + recall_start) / 2, 0.42, "delay", ha="center", color="0.4")
    axes[2].set_ylim(0.35, 1.02)
    axes[2].set_ylabel("side read from the state\n(held-out trials)")
    axes[2].set_xlabel("time (ms)")
    axes[2].legend(loc="lower left", fontsize="small")
    axes[2].set_title("(c) what each network still knows: a linear read-out of its state at every step")
    fig.suptitle(f"Cue accumulation, {args.hidden} neurons, {args.method}, {args.iterations} batches of 64: "
                 "adaptation is the memory")
    return fig


def main(argv=None):
    args = _parse(argv)
    use_backend(args.show)
    save_figure(make_figure(args), args.out, "adaptation_memory.png")
    if args.show:
        import matplotlib.pyplot as plt

        plt.show()


if __name__ == "__main__":
    run_script(main)
