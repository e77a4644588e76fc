"""Diehl & Cook (2015): learn MNIST digits without labels by STDP, then label the neurons and test.

    python examples/stdp_mnist.py --n-neurons 100 --out runs/stdp100             # full MNIST, one pass
    python examples/stdp_mnist.py --n-neurons 100 --out runs/stdp100 --resume    # after Ctrl-C: continue

Training shows images/s and the running accuracy estimate (last 10,000 images, current labelling), saves a
checkpoint every --checkpoint-every images and on Ctrl-C. At the end of the pass the neurons are labelled from
their responses to the last --label-images training images, recorded while they learned (no second pass); with
``--labelling frozen`` the frozen network is shown those images again and labelled from that, and ``both`` does
both and tests with each. Then the frozen network classifies the test images; the script prints the accuracy (the
paper's read-out, and proportion weighting: ``diehl_cook.classify_by_proportions``) and where the time went
(training, labelling, testing), and saves the network (weights, thresholds, labels) to OUT/network.npz and the
figures to OUT/results.json; with --report, also OUT/report.html (receptive fields and labels, interactive:
``spikingnn.report``).
"""
from __future__ import annotations

import argparse
import dataclasses
import json
from pathlib import Path

from spikingnn._io import atomic_write
from spikingnn.datasets import load_mnist
from spikingnn.diehl_cook import BACKENDS, LABELLINGS, DiehlCookNetwork, DiehlCookParams, one_pass


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n-neurons", type=int, default=100, help="excitatory neurons N (default 100)")
    parser.add_argument("--train-images", type=int, default=60_000, help="training images, one pass (default all)")
    parser.add_argument("--label-images", type=int, default=10_000,
                        help="the last training images whose responses label the neurons (default 10,000)")
    parser.add_argument("--labelling", choices=LABELLINGS, default="training",
                        help="label from the responses recorded during training (default), from a second pass of "
                             "the frozen network over the same images, or both (tested with each)")
    parser.add_argument("--test-images", type=int, default=10_000, help="test images (default all 10,000)")
    parser.add_argument("--seed", type=int, default=0, help="seed of weights and input spikes (default 0)")
    parser.add_argument("--out", default="runs/stdp_mnist", help="output folder (default runs/stdp_mnist)")
    parser.add_argument("--resume", action="store_true", help="continue from OUT/checkpoint.npz if it exists")
    parser.add_argument("--checkpoint-every", type=int, default=5_000, help="images between checkpoints")
    parser.add_argument("--data-dir", default=None, help="folder with the MNIST files (default: see datasets.py)")
    parser.add_argument("--paper-params", action="store_true",
                        help="the paper's parameters (default: DiehlCookParams.one_pass(), tuned for one pass)")
    parser.add_argument("--max-rate", type=float, default=None,
                        help="input rate of a white pixel in Hz, the boost half of it as in the paper (default: the "
                             "parameter set's)")
    parser.add_argument("--nu-final", type=float, default=None,
                        help="anneal the learning rates linearly to this fraction over the pass "
                             "(default: no annealing)")
    parser.add_argument("--set", action="append", default=[], metavar="NAME=VALUE",
                        help="any other DiehlCookParams field, e.g. --set w_ie=42 (repeatable)")
    parser.add_argument("--report", action="store_true",
                        help="also write OUT/report.html, the interactive report of the run (needs plotly)")
    parser.add_argument("--backend", choices=BACKENDS, default="numba",
                        help="numpy: the slow reference; textbook: the network of the book's units, slower still")
    return parser.parse_args(argv)


def main(argv=None) -> int:
    args = parse_args(argv)
    out = Path(args.out)
    checkpoint = out / "checkpoint.npz"
    train_x, train_y = load_mnist("train", args.data_dir)
    test_x, test_y = load_mnist("test", args.data_dir)
    n_train = min(args.train_images, len(train_x))
    n_test = min(args.test_images, len(test_x))

    if args.resume and checkpoint.exists():
        net = DiehlCookNetwork.load(checkpoint, backend=args.backend)
        print(f"resuming from {checkpoint} after {net.images_seen} images (N = {net.n_neurons})")
    else:
        params = DiehlCookParams() if args.paper_params else DiehlCookParams.one_pass()
        if args.max_rate is not None:
            params = dataclasses.replace(params, max_rate=args.max_rate, rate_boost=args.max_rate / 2)
        if args.nu_final is not None:
            params = dataclasses.replace(params, nu_final=args.nu_final)
        for setting in args.set:
            name, _, value = setting.partition("=")
            if name not in {f.name for f in dataclasses.fields(DiehlCookParams)}:
                raise SystemExit(f"--set {setting}: {name!r} is not a DiehlCookParams field")
            params = dataclasses.replace(params, **{name: type(getattr(params, name))(value)})
        net = DiehlCookNetwork(args.n_neurons, params=params, seed=args.seed, backend=args.backend)
    try:
        figures = one_pass(net, (train_x[:n_train], train_y[:n_train]), (test_x[:n_test], test_y[:n_test]),
                           label_images=args.label_images, labelling=args.labelling, checkpoint=checkpoint,
                           checkpoint_every=args.checkpoint_every)
    except KeyboardInterrupt:
        print(f"\ninterrupted after {net.images_seen} images; checkpoint in {checkpoint}; continue with --resume")
        return 130
    seconds = figures["seconds"]
    print(f"trained N = {net.n_neurons} on {figures['images_trained']} images in {seconds['training']:.0f} s "
          f"({figures['images_per_second']:.1f} images/s)")
    for how in ("training", "frozen"):
        if f"test_accuracy_{how}_labels" in figures:
            print(f"test accuracy: {100 * figures[f'test_accuracy_{how}_labels']:.2f}% on {n_test} test images "
                  f"(N = {net.n_neurons}, {n_train} training images; neurons labelled from the last "
                  f"{figures['label_images']} of them, {'while learning' if how == 'training' else 'frozen'}); "
                  f"read out by proportion weighting: {100 * figures[f'test_accuracy_{how}_labels_proportions']:.2f}%")
    print("time: " + ", ".join(f"{name} {value:.1f} s" for name, value in seconds.items())
          + f", total {sum(seconds.values()):.1f} s")

    net.save(out / "network.npz")
    results = {"n_neurons": net.n_neurons, "paper_params": args.paper_params,
               "params": dataclasses.asdict(net.params),
               "train_images": n_train, "labelling": args.labelling, "test_images": n_test, "seed": args.seed,
               **{key: value for key, value in figures.items() if key != "seconds"},
               "train_seconds_this_run": seconds["training"], "label_seconds": seconds.get("labelling", 0.0),
               "test_seconds": seconds["testing"]}
    with atomic_write(out / "results.json", "w") as handle:
        json.dump(results, handle, indent=2)
    print(f"saved {out / 'network.npz'} and {out / 'results.json'}")
    if args.report:
        from spikingnn.report import write_report

        print(f"wrote {write_report(out)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
