"""Train a recurrent ALIF network on sequential MNIST: the 784 pixels of a digit, one per step, then a decision.

    python examples/sequential_mnist.py                                 # BPTT, ALIF, threshold-crossing spikes
    python examples/sequential_mnist.py --input current                 # the grey value as an input current
    python examples/sequential_mnist.py --neuron lif                    # the same network without adaptation
    python examples/sequential_mnist.py --method eprop                  # learning online, memory flat in T
    python examples/sequential_mnist.py --permuted                      # the pixels in one fixed random order

The network (Bellec et al. 2018, "Long short-term memory and learning-to-learn in networks of spiking neurons"): the
spikes of 80 threshold-crossing input neurons (``--input spikes``, the default) or the pixel's grey value as an input
current (``--input current``, 1 input) -> ``--hidden`` recurrent ALIF neurons (tau_mem 20 ms, tau_adapt
``--tau-adapt`` ms) -> 10 leaky read-outs (``--tau-out`` ms), one step per pixel (dt = 1 ms, 784 steps). The decision
is the read-out averaged over the last ``--loss-steps`` steps, and the cross-entropy looks at each of them: the bottom
rows of a digit are mostly blank, so the network must hold what it saw there for a few hundred steps: an adaptive
threshold is such a memory, and a slow read-out (300 ms) also gathers what the spikes said along the way: after 400
batches, a first measurement gave 63 % of the training batches right with 300 ms and 54 % with 20 ms, and with it a
network without adaptation ends close behind (README). Adam at ``--lr``, times ``--lr-decay`` per epoch, on batches of
``--batch-size``, the gradient's norm clipped at ``--grad-clip``, a rate regulariser towards 10 Hz. The defaults
(spikes, Adam at 5e-3 times 0.9 per epoch, 22 epochs) reached 90.1 % on the test images in 66 minutes of training on
one thread of this project's machine (README); with the grey value as a current and a decay of 0.8 the same network
stopped near 81 %, its learning rate spent.

Training uses the first 55,000 training images (batch k of epoch e in the order of ``default_rng([seed, 1, e])``);
every ``--eval-every`` batches the accuracy on ``--val-images`` of the last 5,000 (held out); at the end, the 10,000
test images. A checkpoint (``--out``/checkpoint.npz) is written every ``--save-every`` batches and on Ctrl-C;
running the same command again resumes from it, on exactly the batches the uninterrupted run would have seen.
"""
import argparse
import functools
import time
from pathlib import Path

import numpy as np

from spikingnn.datasets import ENV_VAR, load_mnist
from spikingnn.tasks import permuted_mnist, sequential_mnist
from spikingnn.training.eprop import RecurrentNetwork
from spikingnn.training.sequence_run import CHECKPOINT, train_sequences

N_TRAIN = 55_000          # the rest of the 60,000 training images is the validation set
N_LEVELS = 40             # --input spikes: 40 levels x 2 directions = 80 input neurons, as in Bellec et al. 2018


def _parse(argv):
    parser = argparse.ArgumentParser(description=" ".join(__doc__.split("\n\n")[0].split()))
    parser.add_argument("--method", choices=("bptt", "eprop"), default="bptt")
    parser.add_argument("--feedback", choices=("symmetric", "random"), default="symmetric",
                        help="e-prop's learning-signal weights (default symmetric)")
    parser.add_argument("--neuron", choices=("alif", "lif"), default="alif")
    parser.add_argument("--input", choices=("current", "spikes"), default="spikes",
                        help="threshold-crossing spikes (80 inputs), or the grey value as a current (default spikes)")
    parser.add_argument("--permuted", action="store_true", help="the pixels in a fixed random order")
    parser.add_argument("--epochs", type=float, default=22.0, help="passes over the 55,000 images (default 22)")
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--hidden", type=int, default=100)
    parser.add_argument("--tau-adapt", type=float, default=700.0, help="ALIF adaptation time constant, ms "
                                                                       "(default 700, as Bellec et al. 2018)")
    parser.add_argument("--tau-out", type=float, default=300.0, help="read-out time constant, ms (default 300)")
    parser.add_argument("--loss-steps", type=int, default=200, help="the last steps the loss and the decision "
                                                                    "look at (default 200)")
    parser.add_argument("--lr", type=float, default=5e-3, help="Adam's learning rate at the start (default 5e-3)")
    parser.add_argument("--lr-decay", type=float, default=0.9, help="factor on the learning rate per epoch "
                                                                    "(default 0.9)")
    parser.add_argument("--grad-clip", type=float, default=1.0, help="largest global norm of the gradient "
                                                                     "(default 1)")
    parser.add_argument("--eval-every", type=int, default=500)
    parser.add_argument("--val-images", type=int, default=1000, help="held-out images per evaluation "
                                                                     "(default 1000, at most 5000)")
    parser.add_argument("--save-every", type=int, default=20)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", default=None, help="checkpoint folder (default runs/smnist_<method>_<neuron>)")
    parser.add_argument("--data-dir", help=f"folder with the four MNIST IDX files (default: ${ENV_VAR}/mnist, ...)")
    args = parser.parse_args(argv)
    for name in ("batch_size", "hidden", "eval_every", "save_every"):
        if getattr(args, name) < 1:
            parser.error(f"--{name.replace('_', '-')} must be >= 1; got {getattr(args, name)}")
    if not 0 < args.epochs <= 1000:
        parser.error(f"--epochs must be in (0, 1000]; got {args.epochs}")
    if not 0 < args.lr_decay <= 1 or args.grad_clip <= 0:
        parser.error(f"--lr-decay must be in (0, 1] and --grad-clip > 0; got {args.lr_decay} and {args.grad_clip}")
    if not 1 <= args.loss_steps <= 784:
        parser.error(f"--loss-steps must be in [1, 784]; got {args.loss_steps}")
    if not 1 <= args.val_images <= 60_000 - N_TRAIN:
        parser.error(f"--val-images must be in [1, {60_000 - N_TRAIN}]; got {args.val_images}")
    if args.out is None:
        args.out = f"runs/smnist_{args.method}_{args.neuron}{'_permuted' if args.permuted else ''}"
    return parser, args


def _sequences(args):
    """images, labels -> SequenceBatch of the chosen order and input, the loss on the last --loss-steps steps."""
    n_levels = N_LEVELS if args.input == "spikes" else None

    def make(images, labels):
        batch = (permuted_mnist(images, labels, rng=args.seed, n_levels=n_levels) if args.permuted
                 else sequential_mnist(images, labels, n_levels=n_levels))
        loss_steps = np.zeros_like(batch.loss_steps)
        loss_steps[-args.loss_steps:] = True
        return batch._replace(loss_steps=loss_steps)
    return make


def _accuracy(net, make, images, labels, chunk=500):
    """Accuracy on images, a chunk at a time (as spikes, the sequences of 10,000 images would take 2.5 GB)."""
    right = 0
    for k in range(0, len(images), chunk):
        batch = make(images[k:k + chunk], labels[k:k + chunk])
        right += int(np.sum(net.predict(batch.x, batch.loss_steps) == batch.labels))
    return right / len(images)


def main(argv=None):
    parser, args = _parse(argv)
    try:
        (train_x, train_y), (test_x, test_y) = (load_mnist(split, data_dir=args.data_dir) for split in
                                                ("train", "test"))
    except FileNotFoundError:
        parser.exit(2, f"{parser.prog}: error: MNIST is not on this machine and could not be downloaded; pass "
                       f"--data-dir DIR with the four IDX files, or set {ENV_VAR}=DIR with them in DIR/mnist\n")
    except ValueError as err:                 # a corrupt or truncated IDX file, named by the loader
        parser.exit(2, f"{parser.prog}: error: {err}\n")
    n_train = min(N_TRAIN, len(train_x) - 1)
    val_x, val_y = train_x[n_train:][:args.val_images], train_y[n_train:][:args.val_images]
    per_epoch = n_train // args.batch_size
    iterations = max(1, round(args.epochs * per_epoch))
    make = _sequences(args)

    @functools.lru_cache(maxsize=1)
    def order(epoch):
        return np.random.default_rng([args.seed, 1, epoch]).permutation(n_train)

    def batch(k):
        chosen = order(k // per_epoch)[(k % per_epoch) * args.batch_size:(k % per_epoch + 1) * args.batch_size]
        return make(train_x[chosen], train_y[chosen])

    config = {k: getattr(args, k) for k in ("method", "feedback", "neuron", "input", "permuted", "batch_size",
                                            "hidden", "tau_adapt", "tau_out", "loss_steps", "lr", "lr_decay",
                                            "grad_clip", "seed")}
    net = RecurrentNetwork(2 * N_LEVELS if args.input == "spikes" else 1, args.hidden, 10, neuron=args.neuron,
                           tau_adapt=args.tau_adapt, tau_out=args.tau_out, method=args.method, feedback=args.feedback,
                           lr=args.lr, grad_clip=args.grad_clip, random_state=args.seed)
    print(f"{'permuted' if args.permuted else 'sequential'} MNIST | {args.method}"
          f"{f' ({args.feedback} feedback)' if args.method == 'eprop' else ''} | {args.neuron.upper()} x "
          f"{args.hidden} | input {args.input} | {iterations} batches of {args.batch_size} ({args.epochs:g} epochs)")
    start = time.perf_counter()
    train_sequences(net, batch, iterations=iterations, out=args.out, config=config,
                    evaluate=lambda net: _accuracy(net, make, val_x, val_y), eval_every=args.eval_every,
                    save_every=args.save_every, lr_schedule=lambda k: args.lr * args.lr_decay ** (k / per_epoch),
                    log=lambda line: print(line, flush=True))
    trained = time.perf_counter() - start
    accuracy = _accuracy(net, make, test_x, test_y)
    print(f"done: test accuracy {accuracy:.2%} on {len(test_x)} images ({trained / 60:.1f} min of training in this "
          f"process; checkpoint {Path(args.out) / CHECKPOINT})")


if __name__ == "__main__":
    main()
