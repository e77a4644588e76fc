"""Train a recurrent ALIF network on cue accumulation (Bellec et al. 2020, Fig. 3) with BPTT or e-prop.

    python examples/cue_accumulation.py                                  # e-prop, ALIF, 7 cues
    python examples/cue_accumulation.py --method bptt
    python examples/cue_accumulation.py --method eprop --feedback random
    python examples/cue_accumulation.py --neuron lif                     # the same network without adaptation

The network: 40 Poisson inputs -> 100 recurrent neurons (tau_mem 20 ms; ALIF: tau_adapt 2 s) -> 2 leaky read-outs
(tau_out 20 ms), dt = 1 ms, 2250 steps per trial; Adam at 5e-3 (times ``--lr-decay`` per 100 batches) on batches
of 64 fresh trials, a rate regulariser towards 10 Hz. The decision (left or right: where most of the 7 cues were)
is read during the last 150 ms, after a delay of 1050 ms: only a memory that lasts a second solves it, and ALIF's
threshold is that memory.

Every iteration prints a line; every ``--eval-every`` iterations the accuracy on ``--val-trials`` (256) held-out
trials. A checkpoint (``--out``/checkpoint.npz) is written every ``--save-every`` iterations and on Ctrl-C;
running the same command again resumes from it, on exactly the trials the uninterrupted run would have seen (trial
batch k is drawn from ``default_rng([seed, 1, k])``).
"""
import argparse
from pathlib import Path

import numpy as np

from spikingnn.tasks import cue_accumulation
from spikingnn.training.eprop import RecurrentNetwork
from spikingnn.training.sequence_run import CHECKPOINT, train_sequences


def _parse(argv):
    parser = argparse.ArgumentParser(description=" ".join(__doc__.split("\n\n")[0].split()))
    parser.add_argument("--method", choices=("eprop", "bptt"), default="eprop")
    parser.add_argument("--feedback", choices=("symmetric", "random"), default="symmetric",
                        help="e-prop's learning-signal weights (default symmetric)")
    parser.add_argument("--neuron", choices=("alif", "lif"), default="alif")
    parser.add_argument("--iterations", type=int, default=1000, help="batches to train on (default 1000)")
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--hidden", type=int, default=100)
    parser.add_argument("--cues", type=int, default=7)
    parser.add_argument("--lr", type=float, default=5e-3)
    parser.add_argument("--lr-decay", type=float, default=1.0, help="factor on the learning rate per 100 batches "
                                                                    "(default 1: constant)")
    parser.add_argument("--eval-every", type=int, default=25)
    parser.add_argument("--val-trials", type=int, default=256, help="held-out trials per evaluation (default 256)")
    parser.add_argument("--save-every", type=int, default=10)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", default=None, help="checkpoint folder (default runs/cue_<method>_<neuron>)")
    args = parser.parse_args(argv)
    for name in ("iterations", "batch_size", "hidden", "eval_every", "val_trials", "save_every"):
        if getattr(args, name) < 1:
            parser.error(f"--{name.replace('_', '-')} must be >= 1; got {getattr(args, name)}")
    if not 0 < args.lr_decay <= 1:
        parser.error(f"--lr-decay must be in (0, 1]; got {args.lr_decay}")
    if args.cues < 1 or args.cues % 2 == 0:
        parser.error(f"--cues must be an odd number >= 1; got {args.cues}")
    if args.out is None:
        args.out = f"runs/cue_{args.method}_{args.neuron}"
    return args


def _accuracy(net, args):
    batch = cue_accumulation(args.val_trials, args.cues, rng=np.random.default_rng([args.seed, 2]))
    return float(np.mean(net.predict(batch.x, batch.loss_steps) == batch.labels))


def main(argv=None):
    args = _parse(argv)
    config = {k: getattr(args, k) for k in ("method", "feedback", "neuron", "batch_size", "hidden", "cues", "lr",
                                            "lr_decay", "seed")}
    net = RecurrentNetwork(40, args.hidden, 2, neuron=args.neuron, method=args.method, feedback=args.feedback,
                           lr=args.lr, random_state=args.seed)
    print(f"{args.method} ({args.feedback} feedback)" if args.method == "eprop" else "bptt",
          f"| {args.neuron.upper()} x {args.hidden} | {args.cues} cues | batches of {args.batch_size}")
    train_sequences(net, lambda k: cue_accumulation(args.batch_size, args.cues, rng=np.random.default_rng(
                        [args.seed, 1, k])), iterations=args.iterations, out=args.out, config=config,
                    evaluate=lambda net: _accuracy(net, args), eval_every=args.eval_every,
                    save_every=args.save_every, lr_schedule=lambda k: args.lr * args.lr_decay ** (k / 100),
                    log=lambda line: print(line, flush=True))
    print(f"done: validation accuracy {_accuracy(net, args):.1%} (checkpoint {Path(args.out) / CHECKPOINT})")


if __name__ == "__main__":
    main()
