"""Train a recurrent ALIF network on cue accumulation (Bellec et al. 2020, Fig. 3) with BPTT or e-prop.

    python examples/cue_accumulation.py                                  # e-prop, ALIF, 7 cues
    python examples/cue_accumulation.py --method bptt
    python examples/cue_accumulation.py --method eprop --feedback random
    python examples/cue_accumulation.py --neuron lif                     # the same network without adaptation

The network: 40 Poisson inputs -> 100 recurrent neurons (tau_mem 20 ms; ALIF: tau_adapt 2 s) -> 2 leaky read-outs
(tau_out 20 ms), dt = 1 ms, 2250 steps per trial; Adam at 5e-3 on batches of 64 fresh trials, a rate regulariser
towards 10 Hz. The decision (left or right: where most of the 7 cues were) is read during the last 150 ms, after
a delay of 1050 ms: only a memory that lasts a second solves it, and ALIF's threshold is that memory.

Every iteration prints a line; every ``--eval-every`` iterations the accuracy on ``--val-trials`` (256) held-out
trials. A checkpoint (``--out``/checkpoint.npz) is written every ``--save-every`` iterations and on Ctrl-C;
running the same command again resumes from it, on exactly the trials the uninterrupted run would have seen (trial
batch k is drawn from ``default_rng([seed, 1, k])``).
"""
import argparse
import json
import time
from pathlib import Path

import numpy as np

from spikingnn._signals import deferred_sigint
from spikingnn.tasks import cue_accumulation
from spikingnn.training.eprop import RecurrentNetwork

EVAL_CHUNK = 64      # prediction runs BPTT's forward, which stores (T, chunk, H): evaluated in chunks


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
    parser.add_argument("--eval-every", type=int, default=25)
    parser.add_argument("--val-trials", type=int, default=256, help="held-out trials per evaluation (default 256)")
    parser.add_argument("--save-every", type=int, default=10)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", default=None, help="checkpoint folder (default runs/cue_<method>_<neuron>)")
    args = parser.parse_args(argv)
    for name in ("iterations", "batch_size", "hidden", "eval_every", "val_trials", "save_every"):
        if getattr(args, name) < 1:
            parser.error(f"--{name.replace('_', '-')} must be >= 1; got {getattr(args, name)}")
    if args.cues < 1 or args.cues % 2 == 0:
        parser.error(f"--cues must be an odd number >= 1; got {args.cues}")
    if args.out is None:
        args.out = f"runs/cue_{args.method}_{args.neuron}"
    return args


def _accuracy(net, args):
    batch = cue_accumulation(args.val_trials, args.cues, rng=np.random.default_rng([args.seed, 2]))
    correct = sum(int(np.sum(net.predict(batch.x[:, k:k + EVAL_CHUNK], batch.loss_steps)
                             == batch.labels[k:k + EVAL_CHUNK])) for k in range(0, args.val_trials, EVAL_CHUNK))
    return correct / args.val_trials


def main(argv=None):
    args = _parse(argv)
    config = {k: getattr(args, k) for k in ("method", "feedback", "neuron", "batch_size", "hidden", "cues", "lr",
                                            "seed")}
    net = RecurrentNetwork(40, args.hidden, 2, neuron=args.neuron, method=args.method, feedback=args.feedback,
                           lr=args.lr, random_state=args.seed)
    checkpoint = Path(args.out) / "checkpoint.npz"
    iteration, history = 0, []
    if checkpoint.exists():
        with np.load(checkpoint) as saved:
            if json.loads(str(saved["config"])) != config:
                raise SystemExit(f"{checkpoint} was trained with {saved['config']}; pass another --out for {config}")
            net.load_state_arrays({k: saved[k] for k in saved.files if k.startswith(("param/", "opt/", "feedback/"))})
            iteration, history = int(saved["iteration"]), json.loads(str(saved["history"]))
        print(f"resuming from {checkpoint} at iteration {iteration}")

    def save():
        checkpoint.parent.mkdir(parents=True, exist_ok=True)
        partial = checkpoint.with_suffix(".partial.npz")      # never leave a half-written checkpoint behind
        np.savez(partial, **net.state_arrays(), iteration=iteration, history=json.dumps(history),
                 config=json.dumps(config))
        partial.replace(checkpoint)

    print(f"{args.method} ({args.feedback} feedback)" if args.method == "eprop" else "bptt",
          f"| {args.neuron.upper()} x {args.hidden} | {args.cues} cues | batches of {args.batch_size}")
    with deferred_sigint() as interrupted:
        while iteration < args.iterations:
            start = time.perf_counter()
            batch = cue_accumulation(args.batch_size, args.cues, rng=np.random.default_rng([args.seed, 1, iteration]))
            result = net.train_step(*batch)
            iteration += 1
            record = {"iteration": iteration, **result._asdict(), "seconds": time.perf_counter() - start}
            if iteration % args.eval_every == 0 or iteration == args.iterations:
                record["val_accuracy"] = _accuracy(net, args)
            history.append(record)
            val = f"  val {record['val_accuracy']:.1%}" if "val_accuracy" in record else ""
            print(f"iter {iteration:5d}  loss {result.loss:.3f}  acc {result.accuracy:5.1%}  "
                  f"rate {result.rate_hz:4.1f} Hz  {record['seconds']:.1f} s{val}", flush=True)
            if iteration % args.save_every == 0 or iteration == args.iterations or interrupted():
                save()
            if interrupted():
                print(f"interrupted: checkpoint saved to {checkpoint} at iteration {iteration}; run again to resume")
                raise SystemExit(130)
    print(f"done: validation accuracy {_accuracy(net, args):.1%} (checkpoint {checkpoint})")


if __name__ == "__main__":
    main()
