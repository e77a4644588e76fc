"""Training speed: spikingnn (Numba) vs spikingnn's dense NumPy path vs snnTorch, on the same network.

    python benchmarks/bptt_vs_snntorch.py                       # 3 interleaved repeats of a full 60k epoch each
    python benchmarks/bptt_vs_snntorch.py --batches 100 --repeats 5

The identical network and training for every contender: 784-100-10, leaky integrate-and-fire neurons
(beta 0.95, threshold 1, reset by subtraction, detached: spikingnn subtracts in the step of the spike, the
textbook LIF's exact step, snnTorch's ``Leaky`` one step later, undecayed), T = 25 steps of Bernoulli rate
coding, fast-sigmoid surrogate (slope 25), cross-entropy on output spike counts, Adam (lr 5e-4), batch 128.
Each contender trains ``--batches`` batches in its own subprocess (thread pools never mix) with the same number
of threads (``--threads``, default 2, for NumPy/BLAS, Numba and torch), after a warm-up that compiles or loads
kernels. spikingnn's parallel work runs in its Numba kernels; its few small matrix products (the 10-wide output
layer) run on one BLAS thread, which ``SNNClassifier.fit`` sets itself (threadpoolctl). Every contender gets
``OMP_WAIT_POLICY=passive`` (spikingnn's own default): with spinning OpenMP workers, torch and Numba slow down
20-80x as soon as another process uses the cores. The contenders run interleaved (A, B, C, A, B, C, ...) and
the median of the repeats is reported, with the ratios. Each worker also reports the peak resident memory of
its whole process (an upper bound on the memory of one training step). snnTorch is optional
(``pip install torch==2.13.0 snntorch``).
"""
from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import time

CONTENDERS = ("spikingnn", "numpy", "snntorch")
NETWORK = dict(hidden=(100,), num_steps=25, beta=0.95, v_threshold=1.0, surrogate="fast_sigmoid", surrogate_slope=25.0,
               loss="ce_count", optimizer="adam", lr=5e-4, batch_size=128, lr_schedule=None)


def _peak_rss_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def run_spikingnn(images, labels, n_batches, backend) -> float:
    from spikingnn.training.model import SNNClassifier
    n = n_batches * NETWORK["batch_size"]
    SNNClassifier(**NETWORK, backend=backend, epochs=1).fit(images[:256], labels[:256], progress=False)   # warm-up
    model = SNNClassifier(**NETWORK, backend=backend, epochs=1)
    start = time.perf_counter()
    model.fit(images[:n], labels[:n], progress=False)
    return time.perf_counter() - start


def run_snntorch(images, labels, n_batches, threads) -> float:
    import snntorch as snn
    import torch
    from snntorch import spikegen
    from snntorch import surrogate as snn_surrogate

    torch.set_num_threads(threads)
    torch.manual_seed(0)
    grad = snn_surrogate.fast_sigmoid(slope=NETWORK["surrogate_slope"])
    fc1, fc2 = torch.nn.Linear(784, 100), torch.nn.Linear(100, 10)
    lif1, lif2 = (snn.Leaky(beta=NETWORK["beta"], spike_grad=grad) for _ in range(2))
    optimizer = torch.optim.Adam(list(fc1.parameters()) + list(fc2.parameters()), lr=NETWORK["lr"])
    data, targets = torch.from_numpy(images.reshape(len(images), -1)), torch.from_numpy(labels)
    size = NETWORK["batch_size"]

    def step(idx):
        spikes = spikegen.rate(data[idx].float() / 255.0, num_steps=NETWORK["num_steps"])
        mem1, mem2, counts = lif1.init_leaky(), lif2.init_leaky(), 0
        for t in range(NETWORK["num_steps"]):
            spk1, mem1 = lif1(fc1(spikes[t]), mem1)
            spk2, mem2 = lif2(fc2(spk1), mem2)
            counts = counts + spk2
        loss = torch.nn.functional.cross_entropy(counts, targets[idx])      # CE on output spike counts
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()

    order = torch.randperm(len(images))
    for k in range(2):                                                       # warm-up
        step(order[k * size:(k + 1) * size])
    start = time.perf_counter()
    for k in range(n_batches):
        step(order[k * size:(k + 1) * size])
    return time.perf_counter() - start


def worker(name, n_batches, threads, data_dir) -> None:
    from spikingnn.datasets import load_mnist
    images, labels = load_mnist("train", data_dir=data_dir)
    if name == "snntorch":
        seconds = run_snntorch(images, labels, n_batches, threads)
    else:
        seconds = run_spikingnn(images, labels, n_batches, "numba" if name == "spikingnn" else "numpy")
    print(json.dumps({"seconds": seconds, "peak_rss_mib": _peak_rss_mib()}))


def _environment(threads: int) -> dict:
    env = {k: v for k, v in os.environ.items() if k not in ("OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE")}
    env.update({k: str(threads) for k in ("OMP_NUM_THREADS", "NUMBA_NUM_THREADS", "OPENBLAS_NUM_THREADS",
                                            "MKL_NUM_THREADS")})
    env.setdefault("OMP_WAIT_POLICY", "passive")   # as spikingnn sets for itself: OpenMP spinners starve on busy cores
    return env


def available(name: str) -> bool:
    """spikingnn is always there; a peer only if its package imports (it is installed for benchmarks only)."""
    modules = {"snntorch": "snntorch", "norse": "norse"}
    if name not in modules:
        return True
    return subprocess.run([sys.executable, "-c", f"import {modules[name]}"], capture_output=True).returncode == 0


def run_interleaved(script: str, contenders, repeats: int, threads: int, worker_args) -> dict:
    """Run ``script --worker NAME *worker_args`` for each contender, interleaved, ``repeats`` times.

    Each run is a fresh subprocess with ``threads`` threads for every pool; it prints one JSON line of results.
    Returns {name: [result dict, ...]}; contenders that are not installed are skipped (and said so).
    """
    contenders = [c for c in contenders if available(c) or print(f"{c}: not installed, skipped")]
    runs = {c: [] for c in contenders}
    for repeat in range(repeats):
        for name in contenders:
            command = [sys.executable, script, "--worker", name, *map(str, worker_args)]
            env = _environment(threads)
            out = subprocess.run(command, capture_output=True, text=True, env=env)
            if out.returncode:
                sys.exit(f"{name} failed:\n{out.stderr}")
            runs[name].append(json.loads(out.stdout.strip().splitlines()[-1]))
            print(f"repeat {repeat + 1}: {name:9s} {runs[name][-1]['seconds']:8.2f} s", flush=True)
    return runs


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--batches", type=int, default=469, help="batches of 128 per run (469 = one 60k epoch)")
    parser.add_argument("--repeats", type=int, default=3, help="interleaved repeats; the median is reported")
    parser.add_argument("--threads", type=int, default=2, help="threads for every contender (default 2)")
    parser.add_argument("--contenders", nargs="+", default=list(CONTENDERS), choices=CONTENDERS)
    parser.add_argument("--data-dir", help="folder with the MNIST IDX files (default: the usual places)")
    parser.add_argument("--worker", choices=CONTENDERS, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.worker:
        return worker(args.worker, args.batches, args.threads, args.data_dir)

    worker_args = ["--batches", args.batches, "--threads", args.threads] + (
        ["--data-dir", args.data_dir] if args.data_dir else [])
    runs = run_interleaved(__file__, args.contenders, args.repeats, args.threads, worker_args)
    images = args.batches * 128
    print(f"\n{args.batches} batches of 128 ({images} images), T = 25, 784-100-10, Adam, {args.threads} threads; "
          f"median of {args.repeats}")
    median = {name: statistics.median(r["seconds"] for r in results) for name, results in runs.items()}
    for name, seconds in median.items():
        peak = max(r["peak_rss_mib"] for r in runs[name])
        print(f"  {name:9s} {seconds:7.2f} s  {images / seconds:8.0f} images/s  {seconds * 60000 / images:6.2f} s per "
              f"60k epoch  peak memory {peak:6.0f} MiB")
    for baseline in ("snntorch", "numpy"):
        if baseline in median and "spikingnn" in median:
            print(f"  spikingnn is {median[baseline] / median['spikingnn']:.2f}x faster than {baseline}")
    return median


if __name__ == "__main__":
    main()
