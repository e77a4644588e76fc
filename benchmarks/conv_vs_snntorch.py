"""Convolutional training speed: spikingnn (Numba) vs snnTorch, on the same conv SNN.

    python benchmarks/conv_vs_snntorch.py                        # one full 60k epoch each, interleaved
    python benchmarks/conv_vs_snntorch.py --batches 50 --repeats 2

The identical network and training for both: snnTorch's tutorial-6 network 12C5-MP2-64C5-MP2-FC10 (each
convolution's current max-pooled, then leaky integrate-and-fire neurons: beta 0.95, threshold 1, reset by
subtraction, detached), the picture as a constant input current (direct encoding), T = 10 steps, fast-sigmoid
surrogate (slope 5), cross-entropy of the time-averaged membrane of 10 non-spiking read-out neurons, Adam (lr 2e-3),
batch 128: the recipe of the README's conv results. Then each classifies the 10,000 test images. The contenders:

* ``spikingnn``: ``SNNClassifier(arch="12C5-MP2-64C5-MP2-FC10", encoding="current", num_steps=10, ...)``;
* ``snntorch``: snnTorch 1.0.0's tutorial-6 loop (``nn.Conv2d``, ``F.max_pool2d``, ``snn.Leaky``; the network
  called once per step on the picture, as the tutorial does), with torch's own thread settings
  (``pip install torch==2.13.0 snntorch``; optional).

Each runs ``--batches`` batches in its own subprocess with ``--threads`` threads (default 2) after a warm-up, the
contenders interleaved, and the median of the repeats is reported with the ratio, the inference time of the 10k
test images, the test accuracy after those batches, and the peak resident memory of each process.
"""
from __future__ import annotations

import argparse
import json
import statistics
import time

from bptt_vs_snntorch import _peak_rss_mib, run_interleaved

CONTENDERS = ("spikingnn", "snntorch")
ARCH, STEPS, BETA, SLOPE, LR, BATCH = "12C5-MP2-64C5-MP2-FC10", 10, 0.95, 5.0, 2e-3, 128


def run_spikingnn(images, labels, n_batches, test_images, test_labels) -> tuple:
    from spikingnn.training.model import SNNClassifier

    settings = dict(arch=ARCH, encoding="current", num_steps=STEPS, beta=BETA, surrogate_slope=SLOPE,
                    loss="ce_mem_mean", lr=LR, lr_schedule=None, batch_size=BATCH, epochs=1)
    SNNClassifier(**settings).fit(images[:256], labels[:256], progress=False)    # warm-up: load the kernels
    model = SNNClassifier(**settings)
    n = n_batches * BATCH
    start = time.perf_counter()
    model.fit(images[:n], labels[:n], progress=False)
    train_seconds = time.perf_counter() - start
    start = time.perf_counter()
    predictions = model.predict(test_images)
    return train_seconds, time.perf_counter() - start, float((predictions == test_labels).mean())


def run_snntorch(images, labels, n_batches, threads, test_images, test_labels) -> tuple:
    import snntorch as snn
    import torch
    import torch.nn.functional as F
    from snntorch import surrogate as snn_surrogate

    torch.set_num_threads(threads)
    torch.manual_seed(0)
    grad = snn_surrogate.fast_sigmoid(slope=SLOPE)
    conv1, conv2, fc = torch.nn.Conv2d(1, 12, 5), torch.nn.Conv2d(12, 64, 5), torch.nn.Linear(64 * 4 * 4, 10)
    lif1, lif2 = (snn.Leaky(beta=BETA, spike_grad=grad) for _ in range(2))
    readout = snn.Leaky(beta=BETA, reset_mechanism="none")           # integrates, never resets: its membrane is read
    layers = torch.nn.ModuleList([conv1, conv2, fc])
    optimizer = torch.optim.Adam(layers.parameters(), lr=LR)
    data = torch.from_numpy(images).float().unsqueeze(1) / 255.0      # (N, 1, 28, 28)
    targets = torch.from_numpy(labels).long()

    def scores_of(x):                             # snnTorch's tutorial-6 loop: the whole network once per step
        mem1, mem2, mem3 = lif1.init_leaky(), lif2.init_leaky(), readout.init_leaky()
        total = 0
        for _ in range(STEPS):
            spk1, mem1 = lif1(F.max_pool2d(conv1(x), 2), mem1)
            spk2, mem2 = lif2(F.max_pool2d(conv2(spk1), 2), mem2)
            _, mem3 = readout(fc(spk2.flatten(1)), mem3)
            total = total + mem3
        return total / STEPS                      # time-averaged read-out membrane

    def step(idx):
        loss = F.cross_entropy(scores_of(data[idx]), targets[idx])
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()

    order = torch.randperm(len(images))
    for k in range(2):                                                       # warm-up
        step(order[k * BATCH:(k + 1) * BATCH])
    start = time.perf_counter()
    for k in range(n_batches):
        step(order[k * BATCH:(k + 1) * BATCH])
    train_seconds = time.perf_counter() - start
    start = time.perf_counter()
    with torch.no_grad():
        x_test = torch.from_numpy(test_images).float().unsqueeze(1) / 255.0
        predictions = torch.cat([scores_of(x_test[k:k + 1000]).argmax(dim=1) for k in range(0, len(x_test), 1000)])
    return train_seconds, time.perf_counter() - start, float((predictions.numpy() == test_labels).mean())


def worker(name, n_batches, threads, data_dir) -> None:
    from spikingnn.datasets import load_mnist
    images, labels = load_mnist("train", data_dir=data_dir)
    test = load_mnist("test", data_dir=data_dir)
    if name == "snntorch":
        seconds, inference, accuracy = run_snntorch(images, labels, n_batches, threads, *test)
    else:
        seconds, inference, accuracy = run_spikingnn(images, labels, n_batches, *test)
    print(json.dumps({"seconds": seconds, "inference": inference, "accuracy": accuracy,
                      "peak_rss_mib": _peak_rss_mib()}))


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--batches", type=int, default=469, help="batches of 128 per run (469 = one 60k epoch)")
    parser.add_argument("--repeats", type=int, default=1, help="interleaved repeats; the median is reported")
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
    images = args.batches * BATCH
    print(f"\n{args.batches} batches of {BATCH} ({images} images), {ARCH}, T = {STEPS}, direct input, Adam, "
          f"{args.threads} threads; median of {args.repeats}")
    median = {name: statistics.median(r["seconds"] for r in results) for name, results in runs.items()}
    inference = {name: statistics.median(r["inference"] for r in results) for name, results in runs.items()}
    for name, seconds in median.items():
        peak = max(r["peak_rss_mib"] for r in runs[name])
        print(f"  {name:9s} {seconds:8.1f} s  {images / seconds:6.0f} images/s  {seconds * 60000 / images:7.1f} s per "
              f"60k epoch  inference of 10k test images {inference[name]:6.2f} s  test accuracy "
              f"{100 * statistics.median(r['accuracy'] for r in runs[name]):5.2f} %  peak memory {peak:6.0f} MiB")
    if len(median) == 2:
        print(f"  spikingnn is {median['snntorch'] / median['spikingnn']:.2f}x faster than snntorch in training, "
              f"{inference['snntorch'] / inference['spikingnn']:.2f}x in inference")
    return median


if __name__ == "__main__":
    main()
