"""Speed of the Diehl & Cook network: the fused Numba kernel against the plain-NumPy reference, same run.

    python benchmarks/stdp_speed.py                       # N = 100 and 400, 200 MNIST images each
    python benchmarks/stdp_speed.py --sizes 400 1600 --images 500 --reference-images 5

Prints, per size, simulated steps per second (dt = 0.5 ms, 1,000 steps = 500 ms of model time per image),
images per second, the projected time of one pass over the 60,000 training images, and the ratio of the
kernel's speed to the NumPy reference's (timed on fewer images: it is slow). Numba compilation is excluded
(one warm-up image first); with learning on, as in training.
"""
from __future__ import annotations

import argparse
import time

import numpy as np

from spikingnn.datasets import load_mnist
from spikingnn.diehl_cook import DiehlCookNetwork, DiehlCookParams


def images_per_second(network: DiehlCookNetwork, images) -> float:
    """Train on ``images`` (after one warm-up image) and return images per wall-clock second."""
    network.present(images[-1])
    start = time.perf_counter()
    for image in images:
        network.present(image)
    return len(images) / (time.perf_counter() - start)


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[100, 400], help="excitatory layer sizes N")
    parser.add_argument("--images", type=int, default=200, help="images timed with the Numba kernel")
    parser.add_argument("--reference-images", type=int, default=3, help="images timed with the NumPy reference")
    parser.add_argument("--data-dir", default=None, help="folder with the MNIST files")
    args = parser.parse_args(argv)

    images = load_mnist("train", args.data_dir)[0][: max(args.images, args.reference_images) + 1]
    params = DiehlCookParams()
    steps_per_image = params.steps(params.presentation + params.rest)
    print(f"{'N':>6} {'backend':>8} {'images/s':>10} {'steps/s':>12} {'60k images':>12} {'speed-up':>9}")
    for n in args.sizes:
        fast = images_per_second(DiehlCookNetwork(n, seed=0), images[: args.images])
        slow = images_per_second(DiehlCookNetwork(n, seed=0, backend="numpy"), images[: args.reference_images])
        for backend, rate in (("numba", fast), ("numpy", slow)):
            print(f"{n:>6} {backend:>8} {rate:>10.2f} {rate * steps_per_image:>12,.0f} "
                  f"{60_000 / rate / 60:>10.1f} m {rate / slow:>8.1f}x")
    print(f"({steps_per_image} steps of dt = 0.5 ms per image: 350 ms presentation + 150 ms rest; "
          f"numpy {np.__version__}; timings include input generation and normalisation)")


if __name__ == "__main__":
    main()
