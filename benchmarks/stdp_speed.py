"""Speed of the Diehl & Cook network: the fused Numba kernel against the plain-NumPy reference, same run.

    python benchmarks/stdp_speed.py                         # N = 100, 400 and 1,600; one-pass parameters
    python benchmarks/stdp_speed.py --sizes 400 --images 500 --reference-images 5 --profile
    python benchmarks/stdp_speed.py --paper                 # the paper's parameters (slower input)

Prints, per size, images per second while learning (as in training: column normalisation, input spikes,
presentation, rest, re-presentation of images that drew too few spikes) and with plasticity off (labelling,
testing), the projected time of one pass over the 60,000 training images, and the ratio of the kernel's speed to
the NumPy reference's (timed on fewer images: it is slow). The networks first learn ``--warm-up`` images, so the
figures are those of a network that has started to learn, not of the first few images; Numba compilation is
excluded. ``--profile`` adds where the kernel's time goes for one image: input spike generation, column
normalisation, the 350 ms presentation, the 150 ms rest.
"""
from __future__ import annotations

import argparse
import time

import numpy as np

from spikingnn.datasets import load_mnist
from spikingnn.diehl_cook import DiehlCookNetwork, DiehlCookParams, poisson_events
from spikingnn.kernels.diehl_cook import rest_kernel, run_steps_kernel
from spikingnn.kernels.stdp import normalize_columns_kernel


def images_per_second(network: DiehlCookNetwork, images, learn: bool) -> float:
    """Present ``images`` (learning or not) and return images per wall-clock second."""
    start = time.perf_counter()
    for image in images:
        network.present(image, learn=learn)
    return len(images) / (time.perf_counter() - start)


def profile(network: DiehlCookNetwork, images) -> dict:
    """Milliseconds per image in each part of a learning presentation (the pieces ``present`` calls, timed one
    by one), and the mean number of presentations per image."""
    p, state = network.params, network.state
    constants = p.constants()
    parts = dict.fromkeys(("input spikes", "normalisation", "presentation", "rest"), 0.0)
    presentations = 0
    for image in images:
        max_rate = p.max_rate
        for _ in range(p.max_presentations):
            ticks = [time.perf_counter()]
            normalize_columns_kernel(state.w, p.weight_sum)
            ticks.append(time.perf_counter())
            events = poisson_events(image.reshape(-1) / 255.0 * max_rate, p.steps(p.presentation), p.dt, network.rng)
            ticks.append(time.perf_counter())
            counts = np.zeros(network.n_neurons, dtype=np.int64)
            run_steps_kernel(state, constants, *events, True, counts)
            ticks.append(time.perf_counter())
            rest_kernel(state, constants, p.steps(p.rest), True)
            ticks.append(time.perf_counter())
            for name, before, after in zip(("normalisation", "input spikes", "presentation", "rest"), ticks, ticks[1:]):
                parts[name] += after - before
            presentations += 1
            if counts.sum() >= p.min_spikes:
                break
            max_rate += p.rate_boost
    parts = {name: 1000.0 * seconds / len(images) for name, seconds in parts.items()}
    return {**parts, "presentations per image": presentations / len(images)}


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[100, 400, 1600], help="excitatory layer sizes N")
    parser.add_argument("--images", type=int, default=300, help="images timed with the Numba kernel")
    parser.add_argument("--reference-images", type=int, default=3, help="images timed with the NumPy reference")
    parser.add_argument("--warm-up", type=int, default=200, help="images learned before timing")
    parser.add_argument("--paper", action="store_true", help="the paper's parameters instead of one-pass ones")
    parser.add_argument("--profile", action="store_true", help="also print where the kernel's time goes")
    parser.add_argument("--data-dir", default=None, help="folder with the MNIST files")
    args = parser.parse_args(argv)

    train = load_mnist("train", args.data_dir)[0]
    warm_up, timed = train[: args.warm_up], train[args.warm_up: args.warm_up + args.images]
    params = DiehlCookParams() if args.paper else DiehlCookParams.one_pass()
    print(f"{'N':>6} {'backend':>8} {'learning img/s':>15} {'frozen img/s':>13} {'60k images':>11} {'speed-up':>9}")
    for n in args.sizes:
        fast = DiehlCookNetwork(n, params=params, seed=0)
        for image in warm_up:
            fast.present(image)
        slow = DiehlCookNetwork(n, params=params, seed=0, backend="numpy")
        slow.state.w[:], slow.state.theta[:] = fast.state.w, fast.state.theta   # the same partly trained network
        rates = {}
        for name, net, images in (("numba", fast, timed), ("numpy", slow, timed[: args.reference_images])):
            rates[name] = images_per_second(net, images, learn=True), images_per_second(net, images, learn=False)
        for name, (learning, frozen) in rates.items():
            print(f"{n:>6} {name:>8} {learning:>15.1f} {frozen:>13.1f} {60_000 / learning / 60:>9.1f} m "
                  f"{learning / rates['numpy'][0]:>8.1f}x")
        if args.profile:
            parts = profile(fast, timed[: min(args.images, 200)])
            total = sum(value for name, value in parts.items() if name != "presentations per image")
            print(f"{'':>6} profile of the kernel, ms per image (total {total:.2f}): " + ", ".join(
                f"{name} {value:.2f}" for name, value in parts.items()))
    print(f"({params.steps(params.presentation + params.rest)} steps of dt = {params.dt} ms per image: "
          f"{params.presentation:g} ms presentation + {params.rest:g} ms rest; numpy {np.__version__}; "
          f"{'paper' if args.paper else 'one-pass'} parameters; wall-clock time)")


if __name__ == "__main__":
    main()
