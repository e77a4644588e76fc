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

from bptt_vs_snntorch import benchmark_main, spikingnn_timed_run, torch_timed_run

ARCH, STEPS, BETA, SLOPE, LR, BATCH = "12C5-MP2-64C5-MP2-FC10", 10, 0.95, 5.0, 2e-3, 128


def run_spikingnn(images, labels, n_batches, threads, test_images, test_labels) -> tuple:
    settings = dict(arch=ARCH, encoding="current", num_steps=STEPS, beta=BETA, surrogate_slope=SLOPE,
                    loss="ce_mem_mean", lr=LR, lr_schedule=None, batch_size=BATCH)
    return spikingnn_timed_run(settings, images, labels, n_batches, test_images, test_labels)


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

    x_test = torch.from_numpy(test_images).float().unsqueeze(1) / 255.0
    return torch_timed_run(scores_of, optimizer, lambda idx: data[idx], targets, n_batches, x_test, test_labels)


def main(argv=None):
    return benchmark_main(argv, __file__, __doc__, {"spikingnn": run_spikingnn, "snntorch": run_snntorch},
                          f"{ARCH}, T = {STEPS}, direct input, Adam", default_repeats=1)


if __name__ == "__main__":
    main()
