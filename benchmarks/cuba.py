"""CUBA benchmark (Brette et al. 2007, benchmark 2): spikingnn against its own NumPy path and against Brian2.

For each size (N neurons, connection probability p) it runs the identical network (``spikingnn.cuba``;
Brian2's ``examples/CUBA.py`` in ``benchmarks/brian2_cuba.py``) for 1 s of model time at dt = 0.1 ms and
prints wall seconds, simulated seconds per wall second, synaptic events per second and the mean rate, then the
ratios: how many times longer each contender takes than spikingnn. Every contender runs in a process of its
own, with the same thread count, interleaved (spikingnn, Brian2 cpp_standalone, spikingnn, ...), and the
median of the repeats is reported: on a shared machine a lone timing means little.

What is timed: Brian2's own timer around its simulation loop (its code generation and compilation are excluded and
reported apart, and so is its set-up: creating the synapses, initialising the variables); for spikingnn,
``Network.run`` in a fresh process whose Numba cache is warm, after ``Network.build`` (the set-up: building the
network and gathering its arrays, reported apart): the run loop alone; plus the loading of the compiled simulation
kernel from the cache (what compiling costs with a warm cache); plus, in addition, Numba's own start-up, which the
first call of any jitted function in a process pays once, whatever the function (about 0.4 s here: Numba imports its
implementation modules, SciPy's BLAS among them, and compiles its runtime; with the full garbage collection its new
objects make due), as Brian2 pays its import and start-up outside its timer.

    python benchmarks/cuba.py                          # the three sizes, 3 repeats, 1 thread
    python benchmarks/cuba.py --sizes 4000:0.02 --repeats 5 --threads 2
    bash benchmarks/setup_brian2.sh                    # once, for the Brian2 columns
"""
from __future__ import annotations

import argparse
import gc
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
BRIAN2_PYTHON = HERE / ".venv-brian2" / "bin" / "python"
BRIAN2_SCRIPT = HERE / "brian2_cuba.py"
SIZES = "4000:0.02,10000:0.02,40000:0.002"


def worker(args) -> dict:
    """Run spikingnn's CUBA in this process and return its figures (the ``--worker`` mode)."""
    start = time.perf_counter()
    import numpy as np

    from spikingnn.cuba import cuba_network
    from spikingnn.kernels.population import collect_spikes_kernel
    imported = time.perf_counter()
    collect_spikes_kernel(np.zeros(0, bool), np.zeros(0, np.int64))   # Numba's start-up (and this tiny kernel)
    gc.collect()          # the full collection Numba's ~10^5 new objects make due (~50 ms): now, not by chance later
    numba_started = time.perf_counter()
    net = cuba_network(args.n, args.p, rng=args.seed, backend=args.backend)
    net.build()                 # gathers the synapses into the pools: set-up, like Brian2's, outside the timers
    built = time.perf_counter()
    net.run(net.dt)                                    # the first step: loads the kernel from Numba's cache
    first_step = time.perf_counter()
    net.run(args.duration - net.dt)
    end = time.perf_counter()
    counts = [m.count for m in net.monitors]                  # excitatory, inhibitory
    out_degree = [sum(np.diff(s.weights.indptr) for s in net.synapses if s.pre is m.source) for m in net.monitors]
    seconds = args.duration / 1000.0
    return dict(n=args.n, p=args.p, backend=args.backend, duration_ms=args.duration,
                run_seconds=end - first_step, first_step_seconds=first_step - built,
                numba_start_seconds=numba_started - imported, import_seconds=imported - start,
                build_seconds=built - numba_started, until_first_step=first_step - start,
                process_seconds=end - start, rate_hz=sum(int(c.sum()) for c in counts) / args.n / seconds,
                synaptic_events=int(sum(c @ d for c, d in zip(counts, out_degree))))


def child_env(threads: int) -> dict:
    env = dict(os.environ)
    for name in ("NUMBA_NUM_THREADS", "OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
        env[name] = str(threads)
    for name in ("OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE"):   # may slow NumPy's BLAS on some machines
        env.pop(name, None)
    return env


def run_json(command: list, env: dict) -> dict | None:
    """Run a command printing one JSON line; None (with the error shown) if it fails."""
    result = subprocess.run(command, capture_output=True, text=True, env=env)
    if result.returncode != 0:
        print(f"  failed: {' '.join(map(str, command))}\n{result.stderr[-2000:]}", file=sys.stderr)
        return None
    return json.loads(result.stdout.strip().splitlines()[-1])


def ours(n, p, duration, seed, backend, env) -> dict | None:
    return run_json([sys.executable, __file__, "--worker", "--n", str(n), "--p", str(p), "--duration",
                     str(duration), "--seed", str(seed), "--backend", backend], env)


def brian2(n, p, duration, seed, target, threads, env) -> dict | None:
    return run_json([str(BRIAN2_PYTHON), str(BRIAN2_SCRIPT), "--n", str(n), "--p", str(p), "--target", target,
                     "--duration", str(duration), "--seed", str(seed), "--threads", str(threads)], env)


def median_of(runs: list, key: str) -> float:
    return statistics.median(r[key] for r in runs)


def row(name: str, seconds: float, duration_ms: float, events: float, rate: float, reference: float, note=""):
    speed = duration_ms / 1000.0 / seconds
    print(f"  {name:<27}{seconds:>9.3f}{speed:>12.2f}{events / seconds:>12.3g}{rate:>9.2f}"
          f"{seconds / reference:>9.2f}  {note}")


def benchmark_size(n, p, args, env, brian2_ready) -> None:
    print(f"\nCUBA N = {n}, p = {p}: {args.duration:g} ms of model time, dt = 0.1 ms, {args.threads} thread(s), "
          f"median of {args.repeats}")
    mine, standalone = [], []
    for repeat in range(args.repeats):                 # interleaved: both see the same machine load
        mine.append(ours(n, p, args.duration, args.seed + repeat, "numba", env))
        if brian2_ready:
            standalone.append(brian2(n, p, args.duration, args.seed + repeat, "cpp_standalone", args.threads, env))
    mine = [r for r in mine if r]
    if not mine:
        return
    reference = median_of(mine, "run_seconds")
    loaded = reference + median_of(mine, "first_step_seconds")
    started = loaded + median_of(mine, "numba_start_seconds")
    print(f"  {'':<27}{'wall s':>9}{'model s/s':>12}{'events/s':>12}{'rate Hz':>9}{'ratio':>9}")
    events, rate = median_of(mine, "synaptic_events"), median_of(mine, "rate_hz")
    row("spikingnn (numba)", reference, args.duration, events, rate, reference, "run loop")
    row("spikingnn (numba) + load", loaded, args.duration, events, rate, reference,
        "run loop + loading the cached kernel (its first call in the process)")
    row("  + Numba start-up", started, args.duration, events, rate, reference,
        "... + Numba's once-per-process start-up (any first jitted call)")
    numpy_ms = min(args.duration, args.numpy_duration * 4000.0 / n)
    slow = ours(n, p, numpy_ms, args.seed, "numpy", env)
    if slow:
        scale = args.duration / numpy_ms
        row("spikingnn (numpy)", slow["run_seconds"] * scale, args.duration, slow["synaptic_events"] * scale,
            slow["rate_hz"], reference, f"ran {numpy_ms:g} ms, time scaled x{scale:g}" if scale != 1 else "")
    targets = {"cpp_standalone": [r for r in standalone if r]}
    if brian2_ready:
        for target in ("cython", "numpy"):
            duration = args.duration if target == "cython" else min(args.duration, args.numpy_duration * 4000.0 / n)
            result = brian2(n, p, duration, args.seed, target, 1, env)
            targets[target] = [dict(result, run_seconds=result["run_seconds"] * args.duration / duration,
                                    synaptic_events=result["synaptic_events"] * args.duration / duration,
                                    scaled=args.duration / duration)] if result else []
        for target, runs in targets.items():
            if runs:
                scaled = runs[0].get("scaled", 1.0)
                note = (f"compile/build {median_of(runs, 'compile_seconds'):.1f} s excluded"
                        + (f"; ran {args.duration / scaled:g} ms, time scaled x{scaled:g}" if scaled != 1 else ""))
                row(f"brian2 {target}", median_of(runs, "run_seconds"), args.duration,
                    median_of(runs, "synaptic_events"), median_of(runs, "rate_hz"), reference, note)
    first = mine[0]
    print(f"  spikingnn fresh process (warm Numba cache): import {first['import_seconds']:.2f} s, Numba start-up "
          f"{first['numba_start_seconds']:.2f} s, build {first['build_seconds']:.2f} s, kernel load + first step "
          f"{first['first_step_seconds']:.2f} s, first step done {first['until_first_step']:.2f} s after start "
          f"(target < 2 s), whole process {first['process_seconds']:.2f} s")
    for target, factor in (("cpp_standalone", 1.0), ("cython", 3.0)):
        if targets.get(target):
            ratio = median_of(targets[target], "run_seconds") / reference
            ratio_loaded = median_of(targets[target], "run_seconds") / loaded
            ratio_started = median_of(targets[target], "run_seconds") / started
            verdict = "met" if ratio_loaded >= factor else "NOT met"
            print(f"  target: {factor:g}x faster than brian2 {target}, counting our kernel loading: {verdict} "
                  f"({ratio:.2f}x on the run loop, {ratio_loaded:.2f}x with the kernel loading, "
                  f"{ratio_started:.2f}x with Numba's start-up too)")


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description="CUBA benchmark: spikingnn against its NumPy path and Brian2.")
    parser.add_argument("--sizes", default=SIZES, help=f"N:p pairs, comma-separated (default {SIZES})")
    parser.add_argument("--duration", type=float, default=1000.0, help="model time in ms (default 1000)")
    parser.add_argument("--numpy-duration", type=float, default=200.0,
                        help="model time (ms) of the slow NumPy paths at N = 4000, shorter for larger N and "
                             "scaled up to --duration (default 200)")
    parser.add_argument("--repeats", type=int, default=3, help="interleaved repeats (default 3)")
    parser.add_argument("--threads", type=int, default=1, help="threads of every contender (default 1)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--n", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--p", type=float, help=argparse.SUPPRESS)
    parser.add_argument("--backend", default="numba", help=argparse.SUPPRESS)
    return parser.parse_args(argv)


def main(argv=None) -> None:
    args = parse_args(argv)
    if args.worker:
        print(json.dumps(worker(args)))
        return
    env = child_env(args.threads)
    ours(1000, 0.02, 1.0, 0, "numba", env)              # compiles the kernels into Numba's cache if needed
    brian2_ready = BRIAN2_PYTHON.exists() and BRIAN2_SCRIPT.exists()
    if not brian2_ready:
        print("Brian2 skipped: benchmarks/.venv-brian2 is missing; set it up with `bash benchmarks/setup_brian2.sh`")
    print("ratio = wall time / spikingnn's run-loop wall time (above 1: slower than spikingnn). spikingnn's "
          "kernels are single-threaded.")
    for size in args.sizes.split(","):
        n, p = size.split(":")
        benchmark_size(int(n), float(p), args, env, brian2_ready)


if __name__ == "__main__":
    main()
