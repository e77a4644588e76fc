"""The Open Neuromorphic SNN-library benchmark, on this CPU: one Linear + LIF layer, forward + backward.

    python benchmarks/open_neuromorphic.py                       # 4,096 and 16,384 neurons
    python benchmarks/open_neuromorphic.py --sizes 4096 --repeats 3

Set-up of open-neuromorphic.github.io (blog "SNN library benchmarks", 2023-2024; its code in
``content/blog/spiking-neural-network-framework-benchmarking/docker/run_benchmark.py``): input
``randn(T = 500, batch = 16, n)``, a dense ``Linear(n, n)`` and a layer of n LIF neurons; the forward pass
runs all 500 steps, the backward pass differentiates ``output_spikes.sum()`` with respect to the weights.
Those libraries publish GPU figures only; these are CPU figures, with ``--threads`` threads (default 2) for
every contender, each in its own subprocess, interleaved, median of ``--repeats``.

Neurons: beta 0.95, threshold 1, reset by subtraction (detached), fast-sigmoid surrogate; spikingnn subtracts the
threshold in the step of the spike (the textbook LIF's exact step, see training/layers.py), snnTorch's ``Leaky`` one
step later, undecayed: the same cost. Norse 1.1.0: ``LIFBoxCell`` with tau_mem_inv = 50/s at dt = 1 ms (its Euler
step is beta = 0.95 with the input scaled by 0.05, so its input is multiplied by 20), reset to zero in the same step
and not detached, and its SuperSpike backward ignores ``alpha``: a different neuron, comparable in cost. No
``torch.compile`` (the published Norse figure used it on a GPU). Memory: the peak resident memory of the worker
process (input, weights, the recorded states and gradients included). Peers are optional: ``pip install
torch==2.13.0 snntorch`` and ``pip install --no-deps norse nir nirtorch`` (a plain ``pip install norse`` pulls a
CUDA build of torch)."""
from __future__ import annotations

import argparse
import json
import statistics
import time

import numpy as np
from bptt_vs_snntorch import _peak_rss_mib, run_interleaved

CONTENDERS = ("spikingnn", "snntorch", "norse")
STEPS, BATCH, BETA = 500, 16, 0.95


def run_spikingnn(n: int) -> tuple:
    from spikingnn.training.layers import NeuronSpec, dense_backward, dense_forward, neuron_backward, neuron_forward
    rng = np.random.default_rng(0)
    x = rng.standard_normal((STEPS, BATCH, n), dtype=np.float32)
    bound = 1.0 / np.sqrt(n)
    weights = rng.uniform(-bound, bound, (n, n)).astype(np.float32)
    bias, beta, threshold = np.zeros(n, np.float32), np.full(n, BETA, np.float32), np.ones(n, np.float32)
    spec = NeuronSpec()

    def forward():
        current, projection = dense_forward(x, weights, bias)          # dense analog input: BLAS
        spikes, neurons = neuron_forward(current, beta, threshold, None, spec)
        return spikes, projection, neurons

    def backward(spikes, projection, neurons):
        d_current, _ = neuron_backward(np.ones_like(spikes), None, neurons, need_leak_threshold=False)
        return dense_backward(d_current, projection, need_dx=False)

    backward(*forward())                                                 # warm-up: load the kernels
    start = time.perf_counter()
    outputs = forward()
    middle = time.perf_counter()
    backward(*outputs)
    return middle - start, time.perf_counter() - middle, float(outputs[0].mean())


def run_torch_peer(name: str, n: int, threads: int) -> tuple:
    import torch
    torch.set_num_threads(threads)
    torch.manual_seed(0)
    x = torch.randn(STEPS, BATCH, n)
    linear = torch.nn.Linear(n, n)
    if name == "snntorch":
        import snntorch as snn
        from snntorch import surrogate
        lif = snn.Leaky(beta=BETA, spike_grad=surrogate.fast_sigmoid(slope=25.0))

        def forward():
            mem, out = lif.init_leaky(), []
            for t in range(STEPS):
                spk, mem = lif(linear(x[t]), mem)
                out.append(spk)
            return torch.stack(out)
    else:
        from norse.torch import LIFBoxCell, LIFBoxParameters
        cell = LIFBoxCell(LIFBoxParameters(tau_mem_inv=torch.tensor(1000.0 * (1.0 - BETA))))
        gain = 1.0 / (1.0 - BETA)       # Norse's Euler step scales the input by dt / tau_mem = 1 - beta

        def forward():
            state, out = None, []
            for t in range(STEPS):
                spk, state = cell(gain * linear(x[t]), state)
                out.append(spk)
            return torch.stack(out)

    forward().sum().backward()                                           # warm-up
    linear.zero_grad()
    start = time.perf_counter()
    spikes = forward()
    middle = time.perf_counter()
    spikes.sum().backward()
    return middle - start, time.perf_counter() - middle, float(spikes.mean())


def worker(name: str, n: int, threads: int) -> None:
    forward, backward, rate = run_spikingnn(n) if name == "spikingnn" else run_torch_peer(name, n, threads)
    print(json.dumps({"seconds": forward + backward, "forward": forward, "backward": backward, "spike_rate": rate,
                      "peak_rss_mib": _peak_rss_mib()}))


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[4096, 16384], help="numbers of neurons n")
    parser.add_argument("--repeats", type=int, default=1, help="interleaved repeats; the median is reported")
    parser.add_argument("--threads", type=int, default=2, help="threads for every contender (default 2)")
    parser.add_argument("--contenders", nargs="+", default=list(CONTENDERS), choices=CONTENDERS)
    parser.add_argument("--worker", choices=CONTENDERS, help=argparse.SUPPRESS)
    parser.add_argument("--n", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.worker:
        return worker(args.worker, args.n, args.threads)

    table = {}
    for n in args.sizes:
        print(f"n = {n}:")
        runs = run_interleaved(__file__, args.contenders, args.repeats, args.threads,
                               ["--n", n, "--threads", args.threads])
        table[n] = {name: {key: statistics.median(r[key] for r in results) for key in results[0]}
                    for name, results in runs.items()}
    print(f"\nOne Linear(n, n) + LIF layer, batch {BATCH}, {STEPS} steps, forward + backward, {args.threads} threads, "
          f"median of {args.repeats}")
    for n, rows in table.items():
        for name, r in rows.items():
            print(f"  n = {n:6d}  {name:9s} forward {r['forward']:7.2f} s  backward {r['backward']:7.2f} s  "
                  f"total {r['seconds']:7.2f} s  peak memory {r['peak_rss_mib']:7.0f} MiB  "
                  f"spike rate {r['spike_rate']:.3f}")
        if "spikingnn" in rows:
            for peer in ("snntorch", "norse"):
                if peer in rows:
                    print(f"  n = {n:6d}  spikingnn is {rows[peer]['seconds'] / rows['spikingnn']['seconds']:.2f}x "
                          f"faster than {peer}")
    return table


if __name__ == "__main__":
    main()
