"""Diehl & Cook (2015): learn MNIST digits without labels by STDP, then label the neurons and test.

    python examples/stdp_mnist.py --n-neurons 100 --out runs/stdp100             # full MNIST, one pass
    python examples/stdp_mnist.py --n-neurons 100 --out runs/stdp100 --resume    # after Ctrl-C: continue

Training shows images/s and the running accuracy estimate (last 10,000 images, current labelling), saves a
checkpoint every --checkpoint-every images and on Ctrl-C. Then the frozen network labels its neurons on the
training images, classifies the test images, prints the accuracy, and saves the network (weights, thresholds,
labels) to OUT/network.npz and the figures to OUT/results.json; with --report, also OUT/report.html (receptive fields
and labels, interactive: ``spikingnn.report``).
"""
from __future__ import annotations

import argparse
import dataclasses
import json
import time
from pathlib import Path

from spikingnn._io import atomic_write
from spikingnn.datasets import load_mnist
from spikingnn.diehl_cook import BACKENDS, DiehlCookNetwork, DiehlCookParams


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n-neurons", type=int, default=100, help="excitatory neurons N (default 100)")
    parser.add_argument("--train-images", type=int, default=60_000, help="training images, one pass (default all)")
    parser.add_argument("--label-images", type=int, default=None,
                        help="training images used to label the neurons (default: --train-images)")
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
    n_label = min(args.label_images or n_train, len(train_x))
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
    start, first_image = time.perf_counter(), net.images_seen
    try:
        net.train(train_x[:n_train], train_y[:n_train], checkpoint=checkpoint, checkpoint_every=args.checkpoint_every)
    except KeyboardInterrupt:
        print(f"\ninterrupted after {net.images_seen} images; checkpoint in {checkpoint}; continue with --resume")
        return 130
    train_seconds = time.perf_counter() - start
    trained = net.images_seen - first_image
    print(f"trained N = {net.n_neurons} on {trained} images in {train_seconds:.0f} s "
          f"({trained / max(train_seconds, 1e-9):.1f} images/s)")

    start = time.perf_counter()
    net.label_neurons(train_x[:n_label], train_y[:n_label], progress=True)
    label_seconds = time.perf_counter() - start
    start = time.perf_counter()
    accuracy = float((net.predict(test_x[:n_test], progress=True) == test_y[:n_test]).mean())
    test_seconds = time.perf_counter() - start
    print(f"test accuracy: {100 * accuracy:.2f}% on {n_test} test images "
          f"(N = {net.n_neurons}, {n_train} training images, {n_label} for labelling)")

    net.save(out / "network.npz")
    results = {"n_neurons": net.n_neurons, "paper_params": args.paper_params,
               "params": dataclasses.asdict(net.params),
               "train_images": n_train,
               "label_images": n_label, "test_images": n_test, "test_accuracy": accuracy, "seed": args.seed,
               "train_seconds_this_run": train_seconds, "train_images_this_run": trained,
               "images_per_second": trained / max(train_seconds, 1e-9), "label_seconds": label_seconds,
               "test_seconds": test_seconds}
    with atomic_write(out / "results.json", "w") as handle:
        json.dump(results, handle, indent=2)
    print(f"saved {out / 'network.npz'} and {out / 'results.json'}")
    if args.report:
        from spikingnn.report import write_report

        print(f"wrote {write_report(out)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
