"""Training speed: spikingnn (Numba) vs a plain dense NumPy loop vs snnTorch, on the same network.

    python benchmarks/bptt_vs_snntorch.py                       # 3 interleaved repeats of a full 60k epoch each
    python benchmarks/bptt_vs_snntorch.py --batches 100 --repeats 5

The identical network and training for every contender: 784-100-10, leaky integrate-and-fire neurons
(beta 0.95, threshold 1, reset by subtraction, detached: spikingnn and the NumPy loop subtract in the step of the
spike, the textbook LIF's exact step, snnTorch's ``Leaky`` one step later, undecayed), T = 25 steps of Bernoulli
rate coding, fast-sigmoid surrogate (slope 25), cross-entropy on output spike counts, Adam (lr 5e-4), batch 128.
Then each contender classifies the 10,000 test images (inference time). The contenders:

* ``spikingnn``: ``SNNClassifier`` with these settings;
* ``numpy``: the fair plain baseline, ~60 lines of dense float32 NumPy in this file (``run_dense_numpy``), the
  matrix products batched over all T steps wherever the maths allows; only the membrane recursions loop over t;
* ``snntorch``: snnTorch 1.0.0's tutorial loop (``snn.Leaky`` x 2, ``torch.rand < x`` input per step), with
  torch's own thread settings (``pip install torch==2.13.0 snntorch``; optional).

Each trains ``--batches`` batches in its own subprocess (thread pools never mix) with the same number of threads
(``--threads``, default 2, for NumPy/BLAS, Numba and torch), after a warm-up that compiles or loads kernels, and
otherwise with its own defaults (no ``OMP_WAIT_POLICY`` is imposed: spikingnn sets its own, torch keeps its
spinning OpenMP workers). The contenders run interleaved (A, B, C, A, B, C, ...) and the median of the repeats is
reported, with the ratios. Each worker also reports the peak resident memory of its whole process.
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

NETWORK = dict(hidden=(100,), num_steps=25, beta=0.95, v_threshold=1.0, surrogate="fast_sigmoid", surrogate_slope=25.0,
               loss="ce_count", optimizer="adam", lr=5e-4, batch_size=128, lr_schedule=None)


def _peak_rss_mib() -> float:
    """Peak resident memory of this process, MiB: Linux's VmHWM (its own; ``ru_maxrss`` of a spawned worker starts
    at its parent's peak), else ``ru_maxrss``."""
    try:
        with open("/proc/self/status") as status:
            return next(int(line.split()[1]) for line in status if line.startswith("VmHWM:")) / 1024.0
    except (OSError, StopIteration):
        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def spikingnn_timed_run(settings: dict, images, labels, n_batches, test_images, test_labels) -> tuple:
    """``SNNClassifier(**settings)`` trained for one epoch on ``n_batches`` batches (timed, after a warm-up run that
    loads the kernels of training and inference), then its predictions of the test images (timed). Returns
    (training seconds, inference seconds, test accuracy)."""
    from spikingnn.training.model import SNNClassifier
    SNNClassifier(**settings, epochs=1).fit(images[:256], labels[:256], progress=False).predict(images[:256])
    model, n = SNNClassifier(**settings, epochs=1), n_batches * settings["batch_size"]
    start = time.perf_counter()
    model.fit(images[:n], labels[:n], progress=False)
    train_seconds = time.perf_counter() - start
    start = time.perf_counter()
    predictions = model.predict(test_images)
    return train_seconds, time.perf_counter() - start, float((predictions == test_labels).mean())


def run_spikingnn(images, labels, n_batches, threads, test_images, test_labels) -> tuple:
    return spikingnn_timed_run(NETWORK, images, labels, n_batches, test_images, test_labels)


def run_dense_numpy(images, labels, n_batches, threads, test_images, test_labels):
    """The fair plain-NumPy baseline: the same network and training written out densely in float32, with the
    matrix products batched over all T steps wherever the maths allows (the input and output projections, both
    weight gradients: one GEMM each per batch); only the membrane recursions loop over t. Returns
    (training seconds, inference seconds for ``test_images``, test accuracy)."""
    import numpy as np

    rng = np.random.default_rng(0)
    steps, size, beta, thr, slope = NETWORK["num_steps"], NETWORK["batch_size"], NETWORK["beta"], 1.0, 25.0
    sizes = (784, *NETWORK["hidden"], 10)
    params = []
    for n_in, n_out in zip(sizes, sizes[1:]):
        bound = 1.0 / np.sqrt(n_in)
        params += [rng.uniform(-bound, bound, (n_in, n_out)).astype(np.float32), np.zeros(n_out, np.float32)]
    moments = [[np.zeros_like(p), np.zeros_like(p)] for p in params]
    pixels = images.reshape(len(images), -1)

    def lif(current):                             # current (T, B, n) -> spikes, membranes before the reset
        u, spikes, membranes = np.zeros(current.shape[1:], np.float32), np.empty_like(current), np.empty_like(current)
        for t in range(steps):
            v = beta * u + current[t]
            membranes[t], spikes[t] = v, v > thr
            u = v - thr * spikes[t]
        return spikes, membranes

    def forward(x):                              # x: uint8 pixels; a spike where a random byte < pixel (p = x / 256)
        noise = np.frombuffer(rng.bytes(steps * x.size), np.uint8).reshape(steps, *x.shape)
        spikes_in = (noise < x).astype(np.float32)
        layers, below = [], spikes_in
        for w, b in zip(params[::2], params[1::2]):
            current = (below.reshape(-1, below.shape[-1]) @ w + b).reshape(steps, len(x), -1)
            spikes, membranes = lif(current)
            layers.append((below, membranes))
            below = spikes
        return below.sum(axis=0), layers

    def backward(d_spikes, layers):              # reset detached: dv[t] = ds[t] psi(v[t]) + beta dv[t+1]
        grads = []
        for k in range(len(layers) - 1, -1, -1):
            below, membranes = layers[k]
            psi = 1.0 / (1.0 + slope * np.abs(membranes - thr)) ** 2
            d_v, carry = np.empty_like(membranes), np.zeros(membranes.shape[1:], np.float32)
            for t in range(steps - 1, -1, -1):
                carry = d_spikes[t] * psi[t] + beta * carry
                d_v[t] = carry
            flat = d_v.reshape(-1, d_v.shape[-1])
            grads = [below.reshape(-1, below.shape[-1]).T @ flat, flat.sum(axis=0)] + grads
            d_spikes = (flat @ params[2 * k].T).reshape(below.shape)
        return grads

    order, t_adam = rng.permutation(len(images)), 0
    start = time.perf_counter()
    for k in range(n_batches):
        idx = order[k * size:(k + 1) * size]
        counts, layers = forward(pixels[idx])
        p = np.exp(counts - counts.max(axis=1, keepdims=True))
        p /= p.sum(axis=1, keepdims=True)
        p[np.arange(len(idx)), labels[idx]] -= 1.0
        grads = backward(np.broadcast_to(p / len(idx), (steps, *p.shape)), layers)
        t_adam += 1
        for param, grad, (m, v) in zip(params, grads, moments):      # Adam
            m *= 0.9
            m += 0.1 * grad
            v *= 0.999
            v += 0.001 * grad * grad
            param -= NETWORK["lr"] * (m / (1 - 0.9**t_adam)) / (np.sqrt(v / (1 - 0.999**t_adam)) + 1e-8)
    train_seconds = time.perf_counter() - start
    start = time.perf_counter()
    x_test = test_images.reshape(len(test_images), -1)
    predictions = np.concatenate([forward(x_test[k:k + 1000])[0].argmax(axis=1) for k in range(0, len(x_test), 1000)])
    return train_seconds, time.perf_counter() - start, float((predictions == test_labels).mean())


def run_snntorch(images, labels, n_batches, threads, test_images, test_labels) -> tuple:
    import snntorch as snn
    import torch
    from snntorch import surrogate as snn_surrogate

    torch.set_num_threads(threads)
    torch.manual_seed(0)
    grad = snn_surrogate.fast_sigmoid(slope=NETWORK["surrogate_slope"])
    fc1, fc2 = torch.nn.Linear(784, 100), torch.nn.Linear(100, 10)
    lif1, lif2 = (snn.Leaky(beta=NETWORK["beta"], spike_grad=grad) for _ in range(2))
    optimizer = torch.optim.Adam(list(fc1.parameters()) + list(fc2.parameters()), lr=NETWORK["lr"])
    data, targets = torch.from_numpy(images.reshape(len(images), -1)), torch.from_numpy(labels)

    def counts_of(x):                                # snnTorch's tutorial loop; Bernoulli input drawn per step
        mem1, mem2, counts = lif1.init_leaky(), lif2.init_leaky(), 0
        for _ in range(NETWORK["num_steps"]):
            spk1, mem1 = lif1(fc1((torch.rand_like(x) < x).float()), mem1)
            spk2, mem2 = lif2(fc2(spk1), mem2)
            counts = counts + spk2
        return counts                            # cross-entropy on the output spike counts

    x_test = torch.from_numpy(test_images.reshape(len(test_images), -1)).float() / 255.0
    return torch_timed_run(counts_of, optimizer, lambda idx: data[idx].float() / 255.0, targets, n_batches, x_test,
                           test_labels)


def torch_timed_run(scores_of, optimizer, inputs_of, targets, n_batches, x_test, test_labels) -> tuple:
    """A plain torch training loop: cross-entropy of ``scores_of(inputs_of(idx))`` on shuffled batches of 128, two
    warm-up batches, then ``n_batches`` timed; then the class of each test input (batches of 1,000, no gradient).
    Returns (training seconds, inference seconds, test accuracy)."""
    import torch

    def step(idx):
        loss = torch.nn.functional.cross_entropy(scores_of(inputs_of(idx)), targets[idx])
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()

    order, size = torch.randperm(len(targets)), 128
    for k in range(2):                                                       # warm-up
        step(order[k * size:(k + 1) * size])
    start = time.perf_counter()
    for k in range(n_batches):
        step(order[k * size:(k + 1) * size])
    train_seconds = time.perf_counter() - start
    start = time.perf_counter()
    with torch.no_grad():
        predictions = torch.cat([scores_of(x_test[k:k + 1000]).argmax(dim=1) for k in range(0, len(x_test), 1000)])
    return train_seconds, time.perf_counter() - start, float((predictions.numpy() == test_labels).mean())


def mnist_worker(runners: dict, name: str, n_batches: int, threads: int, data_dir) -> None:
    """Run contender ``name`` (``runners[name](images, labels, n_batches, threads, test_images, test_labels)`` ->
    training seconds, inference seconds, test accuracy) on MNIST and print its results as one JSON line."""
    from spikingnn.datasets import load_mnist
    images, labels = load_mnist("train", data_dir=data_dir)
    test_images, test_labels = load_mnist("test", data_dir=data_dir)
    seconds, inference, accuracy = runners[name](images, labels, n_batches, threads, test_images, test_labels)
    print(json.dumps({"seconds": seconds, "inference": inference, "accuracy": accuracy,
                      "peak_rss_mib": _peak_rss_mib()}))


def _environment(threads: int) -> dict:
    """Each contender's own defaults but the thread count: no OMP_WAIT_POLICY from here (spikingnn sets its own;
    torch keeps its default spinning workers, which its documentation's performance guide assumes)."""
    env = {k: v for k, v in os.environ.items() if k not in ("OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE", "OMP_WAIT_POLICY")}
    env.update({k: str(threads) for k in ("OMP_NUM_THREADS", "NUMBA_NUM_THREADS", "OPENBLAS_NUM_THREADS",
                                            "MKL_NUM_THREADS")})
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


def benchmark_main(argv, script: str, doc: str, runners: dict, title: str, default_repeats: int) -> dict:
    """The command line of an MNIST training benchmark: ``--worker NAME`` runs one contender of ``runners``
    (``mnist_worker``); otherwise every contender runs interleaved (``run_interleaved``) and the table of medians is
    printed, with spikingnn's speed-up over each other contender. Returns {contender: median seconds}."""
    parser = argparse.ArgumentParser(description=doc.splitlines()[0])
    parser.add_argument("--batches", type=int, default=469, help="batches of 128 per run (469 = one 60k epoch)")
    parser.add_argument("--repeats", type=int, default=default_repeats,
                        help=f"interleaved repeats; the median is reported (default {default_repeats})")
    parser.add_argument("--threads", type=int, default=2, help="threads for every contender (default 2)")
    parser.add_argument("--contenders", nargs="+", default=list(runners), choices=list(runners))
    parser.add_argument("--data-dir", help="folder with the MNIST IDX files (default: the usual places)")
    parser.add_argument("--worker", choices=list(runners), help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.worker:
        return mnist_worker(runners, args.worker, args.batches, args.threads, args.data_dir)

    worker_args = ["--batches", args.batches, "--threads", args.threads] + (
        ["--data-dir", args.data_dir] if args.data_dir else [])
    runs = run_interleaved(script, args.contenders, args.repeats, args.threads, worker_args)
    images = args.batches * 128
    print(f"\n{args.batches} batches of 128 ({images} images), {title}, {args.threads} threads; "
          f"median of {args.repeats}")
    median = {name: statistics.median(r["seconds"] for r in results) for name, results in runs.items()}
    inference = {name: statistics.median(r["inference"] for r in results) for name, results in runs.items()}
    for name, seconds in median.items():
        peak = max(r["peak_rss_mib"] for r in runs[name])
        print(f"  {name:9s} {seconds:8.2f} s  {images / seconds:8.0f} images/s  {seconds * 60000 / images:7.2f} s per "
              f"60k epoch  inference of 10k test images {inference[name]:6.2f} s  test accuracy "
              f"{100 * statistics.median(r['accuracy'] for r in runs[name]):5.2f} %  peak memory {peak:6.0f} MiB")
    for baseline in median:
        if baseline != "spikingnn" and "spikingnn" in median:
            print(f"  spikingnn is {median[baseline] / median['spikingnn']:.2f}x faster than {baseline} in training, "
                  f"{inference[baseline] / inference['spikingnn']:.2f}x in inference")
    return median


def main(argv=None):
    runners = {"spikingnn": run_spikingnn, "numpy": run_dense_numpy, "snntorch": run_snntorch}
    return benchmark_main(argv, __file__, __doc__, runners, "T = 25, 784-100-10, Adam", default_repeats=3)


if __name__ == "__main__":
    main()
