"""Recurrent training speed and memory: spikingnn (BPTT and e-prop) vs snnTorch's ``RLeaky``, on cue accumulation.

    python benchmarks/recurrent_vs_snntorch.py                          # 5 batches at T = 2250, one at 4 x 2250
    python benchmarks/recurrent_vs_snntorch.py --batches 20 --repeats 3
    python benchmarks/recurrent_vs_snntorch.py --batches 2 --length-factor 1 --contenders bptt snntorch   # quick

The identical network, trials and training for every contender: the cue-accumulation task of
``spikingnn.tasks.cue_accumulation`` (Bellec et al. 2020, Fig. 3: 7 cues with the paper's timing, dt = 1 ms, T = 2250
steps, 40 Poisson inputs, the loss on the 150 recall steps), 100 recurrent leaky integrate-and-fire neurons (beta =
exp(-1/20) for tau_mem = 20 ms, threshold 0.6, reset by subtraction, detached from the gradient, no bias, fast-sigmoid
surrogate of slope 25), 2 non-spiking leaky read-outs (kappa = exp(-1/20) for tau_out = 20 ms, with a bias). The loss
is ``RecurrentNetwork``'s: the cross-entropy of softmax(read-out) at each of the 150 recall steps, averaged over those
steps and the batch (``sequence_cross_entropy``), plus its rate regulariser 100 mean_{b,j} (rate_bj - 10 Hz)^2. Adam
(lr 5e-3, betas 0.9 / 0.999, eps 1e-8), batch 64, the same initial weights (``RecurrentNetwork``'s, copied into
torch) and the same trials (batch k drawn from ``default_rng([0, 1, k])``) for every contender. LIF, not ALIF:
snnTorch has no adaptive-threshold neuron, so spikingnn runs with ``neuron='lif'`` here, not the ALIF that
``examples/cue_accumulation.py`` trains. The contenders:

* ``bptt``: ``RecurrentNetwork(40, 100, 2, neuron='lif', method='bptt').train_step`` (stores v and s for all T steps);
* ``eprop``: the same with ``method='eprop'`` (symmetric feedback): the same forward pass and loss, the gradient
  gathered online by eligibility traces, which is BPTT's without the paths through the recurrent spikes and the
  reset (an approximation: not the same gradient as the two others); its memory does not depend on T;
* ``snntorch``: snnTorch 1.0.0 (``pip install torch==2.13.0 snntorch``; optional): ``nn.Linear(40, 100,
  bias=False)`` -> ``snn.RLeaky(all_to_all=True, linear_features=100)``, whose recurrent ``nn.Linear(100, 100)`` is the
  same H x H matrix (its bias held at 0, not trained, as spikingnn has none) -> ``nn.Linear(100, 2)`` ->
  ``snn.Leaky(reset_mechanism="none")`` as the read-out (snnTorch's own neuron, never reset; its membrane is the
  read-out), one call of each per step in a plain Python loop over the T steps (snnTorch's tutorial style), then
  ``loss.backward()`` (BPTT by autograd) and ``torch.optim.Adam``.

The differences, as close as snnTorch 1.0.0 allows: ``RLeaky`` (default ``reset_delay=True``) subtracts the threshold
one step after the spike and after the decay, detached: U[t] = beta U[t-1] + I[t] - thr S[t-1], where spikingnn
subtracts in the step of the spike, before the decay (U[t] = beta (U[t-1] - thr S[t-1]) + I[t]): snnTorch's reset
is 1/beta = 5 % stronger and the spike trains differ a little (at the initial weights, ~350 Hz, snnTorch's rate
is ~4 % lower and batch 0's loss ~7 % lower). ``reset_delay=False`` subtracts in the step of the spike but is no
closer: its reset is not detached (the gradient flows through the spike into the subtraction) and a membrane still
above threshold after its reset is reset again one step later. The rest is the same equations: the read-out's
leak, the surrogate (snnTorch's ``fast_sigmoid(slope=25)`` is 1 / (1 + 25 |x|)^2, spikingnn's ``FastSigmoid(25)``),
a strict threshold crossing, float32.

Each contender runs in its own subprocess (``run_interleaved`` of ``bptt_vs_snntorch.py``: the contenders
interleaved, ``--threads`` threads for BLAS, Numba and torch, the median of ``--repeats``), twice: at T = 2250 and at
``--length-factor`` x 2250 steps (the delay before the recall lengthened: 7800 ms instead of 1050 for 4 x). In each,
a throwaway copy of the model first trains one step on the last 200 steps of a trial (loads the kernels, warms
torch up), then the measured model trains on batch 0 (the step whose memory is measured), on batch 1 (spikingnn:
the ``tracemalloc`` step), then ``--batches`` timed batches (T = 2250 only; the long run's time is its batch 0).
Measured:

* seconds per training batch: the median over the timed batches of one ``train_step`` (snnTorch: forward loop,
  loss, backward, Adam step), the trials already in memory;
* process peak: the peak resident memory of the worker's whole process (``_peak_rss_mib``, its own VmHWM: its
  imports, the trials, the model, the steps);
* step peak (RSS): the peak resident memory during one training step above the process's resident memory just
  before it (Linux: the high-water mark reset through ``/proc/self/clear_refs``, then ``VmHWM - VmRSS``), the same
  measure for every contender (torch has no allocator statistics on the CPU: its ``max_memory_allocated`` is CUDA's).
  Memory a previous step freed but that the C allocator kept is not counted again, hence batch 0: the first step at
  full length in the process;
* step peak (traced), spikingnn only: the peak of ``tracemalloc`` over one ``train_step`` (numpy's allocations are
  traced; the arrays Numba's kernels allocate for themselves are not: e-prop's per-chunk traces, ~2 MiB).

The run at the second length shows BPTT's and snnTorch's step memory growing with T (they store every step for the
backward pass) and e-prop's flat. Also printed: the loss of batch 0 (the same weights and trials: BPTT's and e-prop's
are equal up to rounding, snnTorch's differs by its reset only) and of the last batch. Figures are meaningful only
on a quiet machine: with 2 threads on 2 cores of which another process keeps one busy, torch's spinning OpenMP
workers slow snnTorch down many times over (``--threads 1`` then).
"""
from __future__ import annotations

import argparse
import gc
import json
import math
import statistics
import subprocess
import sys
import tempfile
import time
import tracemalloc
from pathlib import Path

from bptt_vs_snntorch import _peak_rss_mib, available, run_interleaved

CONTENDERS = ("bptt", "eprop", "snntorch")
LABELS = {"bptt": "spikingnn BPTT", "eprop": "spikingnn e-prop", "snntorch": "snnTorch RLeaky"}
N_IN, HIDDEN, N_OUT, BATCH, CUES, SEED = 40, 100, 2, 64, 7, 0
TAU_MEM, TAU_OUT, THRESHOLD, SLOPE, LR, RATE_REG, TARGET_HZ = 20.0, 20.0, 0.6, 25.0, 5e-3, 100.0, 10.0
BETA, KAPPA = math.exp(-1.0 / TAU_MEM), math.exp(-1.0 / TAU_OUT)      # dt = 1 ms
BASE_STEPS, WARMUP_STEPS = 2250, 200          # T of the paper's task (7 cues); the warm-up trains on a trial's tail
INIT = ("weights0", "w_rec0", "weights1", "bias1")    # RecurrentNetwork's trained parameters (the hidden has no bias)


def make_spikingnn(method):
    """A fresh ``RecurrentNetwork`` of the benchmark; returns step(x, labels, loss_steps) -> the batch's loss."""
    from spikingnn.training.eprop import RecurrentNetwork
    from spikingnn.training.surrogate import FastSigmoid

    net = RecurrentNetwork(N_IN, HIDDEN, N_OUT, neuron="lif", tau_mem=TAU_MEM, v_threshold=THRESHOLD,
                           reset="subtract", surrogate=FastSigmoid(SLOPE), tau_out=TAU_OUT, method=method, lr=LR,
                           rate_reg=RATE_REG, target_rate_hz=TARGET_HZ, random_state=SEED)
    return lambda x, labels, loss_steps: net.train_step(x, labels, loss_steps).loss


def make_snntorch(init, threads):
    """The same network in snnTorch, from the initial weights ``init`` (RecurrentNetwork's arrays, (in, out) layout);
    returns step(x, labels, loss_steps) -> the batch's loss."""
    import snntorch as snn
    import torch
    import torch.nn.functional as F
    from snntorch import surrogate as snn_surrogate

    torch.set_num_threads(threads)
    fc_in, fc_out = torch.nn.Linear(N_IN, HIDDEN, bias=False), torch.nn.Linear(HIDDEN, N_OUT)
    rlif = snn.RLeaky(beta=BETA, threshold=THRESHOLD, spike_grad=snn_surrogate.fast_sigmoid(slope=SLOPE),
                      all_to_all=True, linear_features=HIDDEN, reset_mechanism="subtract")
    readout = snn.Leaky(beta=KAPPA, reset_mechanism="none")     # integrates, never resets: its membrane is read
    with torch.no_grad():                                      # torch's Linear holds W as (out, in): transposed
        fc_in.weight.copy_(torch.from_numpy(init["weights0"].T))
        rlif.recurrent.weight.copy_(torch.from_numpy(init["w_rec0"].T))
        rlif.recurrent.bias.zero_()
        fc_out.weight.copy_(torch.from_numpy(init["weights1"].T))
        fc_out.bias.copy_(torch.from_numpy(init["bias1"]))
    rlif.recurrent.bias.requires_grad_(False)                  # no bias on the hidden neurons, as in spikingnn
    optimizer = torch.optim.Adam([fc_in.weight, rlif.recurrent.weight, fc_out.weight, fc_out.bias], lr=LR)
    target = TARGET_HZ / 1000.0                                 # spikes per 1 ms step

    def step(x, labels, loss_steps):
        x, labels = torch.from_numpy(x), torch.from_numpy(labels)
        spk, mem = rlif.reset_mem()
        y = readout.reset_mem()
        logits, counts = [], 0
        for t in range(x.shape[0]):                            # snnTorch's loop: each module once per step
            spk, mem = rlif(fc_in(x[t]), spk, mem)
            _, y = readout(fc_out(spk), y)
            counts = counts + spk
            if loss_steps[t]:
                logits.append(y)
        logits = torch.stack(logits)                           # (N, B, C): the read-out at the N loss steps
        loss = (F.cross_entropy(logits.flatten(0, 1), labels.repeat(len(logits)))     # mean over N steps x B
                + RATE_REG * torch.mean((counts / x.shape[0] - target) ** 2))
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        return loss.item()

    return step


def _status_mib(field):
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith(field + ":"):
                return int(line.split()[1]) / 1024.0
    raise OSError(f"no {field} in /proc/self/status")


def _measured_step(step, batch):
    """Run step(*batch); returns (loss, seconds, peak RSS above the RSS just before, in MiB (None off Linux))."""
    gc.collect()
    try:
        with open("/proc/self/clear_refs", "w") as refs:       # resets VmHWM (and ru_maxrss) to the current RSS
            refs.write("5")
        baseline = _status_mib("VmRSS")
    except OSError:
        baseline = None
    start = time.perf_counter()
    loss = step(*batch)
    seconds = time.perf_counter() - start
    return loss, seconds, None if baseline is None else _status_mib("VmHWM") - baseline


def worker(name, data, n_batches, threads) -> None:
    import numpy as np

    arrays = np.load(data)
    shape = tuple(int(n) for n in arrays["shape"])
    loss_steps = arrays["loss_steps"]

    def batch(k):                                              # the trials, unpacked as float32 spikes
        bits = np.unpackbits(arrays[f"x{k}"], count=math.prod(shape))
        return bits.reshape(shape).astype(np.float32), arrays[f"labels{k}"], loss_steps

    if name == "snntorch":
        init = {key: arrays[f"init/{key}"] for key in INIT}
        make = lambda: make_snntorch(init, threads)            # noqa: E731
    else:
        make = lambda: make_spikingnn(name)                    # noqa: E731
    x, labels, _ = first = batch(0)
    make()(x[-WARMUP_STEPS:], labels, loss_steps[-WARMUP_STEPS:])      # warm-up on a throwaway copy
    step = make()
    process_peak = _peak_rss_mib()                             # clear_refs resets VmHWM: keep the peak so far
    loss, seconds, step_rss = _measured_step(step, first)
    losses, traced = [loss], None
    del x, first
    if name != "snntorch":
        second = batch(1)                                      # unpacked before tracing: the step's own memory
        gc.collect()
        tracemalloc.start()
        losses.append(step(*second))
        traced = tracemalloc.get_traced_memory()[1] / 2**20
        tracemalloc.stop()
    elif n_batches:
        losses.append(step(*batch(1)))                         # every contender sees batches 0, 1, 2, ...
    times = []
    for k in range(2, 2 + n_batches):
        trials = batch(k)
        start = time.perf_counter()
        losses.append(step(*trials))
        times.append(time.perf_counter() - start)
    print(json.dumps({"seconds": statistics.median(times) if times else seconds, "timed_batches": len(times),
                      "steps": shape[0], "losses": losses, "step_rss_mib": step_rss, "traced_mib": traced,
                      "peak_rss_mib": max(process_peak, _peak_rss_mib())}))


def write_trials(path, n_batches, n_steps) -> None:
    """Batches 0 .. n_batches - 1 of the task at ``n_steps`` steps (bit-packed) and the initial weights, to ``path``.

    Run in a subprocess of its own, so that the parent that spawns the workers stays small."""
    import numpy as np

    from spikingnn.tasks import cue_accumulation
    from spikingnn.training.eprop import RecurrentNetwork

    delay_ms = n_steps - 150.0 * CUES - 150.0                  # T = 150 cues + delay + 150 ms of recall (dt 1 ms)
    arrays = {}
    for k in range(n_batches):
        trials = cue_accumulation(BATCH, CUES, delay_ms=delay_ms, rng=np.random.default_rng([SEED, 1, k]))
        arrays[f"x{k}"], arrays[f"labels{k}"] = np.packbits(trials.x.astype(bool)), trials.labels
    arrays["shape"], arrays["loss_steps"] = np.array(trials.x.shape), trials.loss_steps
    assert trials.x.shape[0] == n_steps, (trials.x.shape, n_steps)
    params = RecurrentNetwork(N_IN, HIDDEN, N_OUT, neuron="lif", random_state=SEED).params
    arrays.update({f"init/{key}": params[key] for key in INIT})
    np.savez(path, **arrays)


def _mib(value, width):
    return f"{'-':>{width}s}" if value is None else f"{value:{width}.1f}"


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--batches", type=int, default=5, help="timed batches of 64 at T = 2250 (median; default 5)")
    parser.add_argument("--repeats", type=int, default=1, help="interleaved repeats; the median is reported")
    parser.add_argument("--threads", type=int, default=2, help="threads for every contender (default 2)")
    parser.add_argument("--length-factor", type=int, default=4,
                        help="the second run's T as a multiple of 2250 (default 4: T = 9000); 1 skips it")
    parser.add_argument("--contenders", nargs="+", default=list(CONTENDERS), choices=CONTENDERS)
    parser.add_argument("--worker", choices=CONTENDERS, help=argparse.SUPPRESS)
    parser.add_argument("--data", help=argparse.SUPPRESS)
    parser.add_argument("--write-trials", help=argparse.SUPPRESS)
    parser.add_argument("--steps", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.worker:
        return worker(args.worker, args.data, args.batches, args.threads)
    if args.write_trials:
        return write_trials(args.write_trials, args.batches, args.steps)
    if args.batches < 1 or args.repeats < 1 or args.threads < 1 or args.length_factor < 1:
        parser.error("--batches, --repeats, --threads and --length-factor must be >= 1")

    contenders = [c for c in args.contenders if available(c) or print(f"{c}: not installed, skipped")]
    lengths = [BASE_STEPS] + ([args.length_factor * BASE_STEPS] if args.length_factor > 1 else [])
    runs = {}
    with tempfile.TemporaryDirectory() as folder:
        for n_steps in lengths:
            path = Path(folder) / f"trials_{n_steps}.npz"
            timed = args.batches if n_steps == BASE_STEPS else 0
            subprocess.run([sys.executable, __file__, "--write-trials", str(path), "--batches", str(2 + timed),
                            "--steps", str(n_steps)], check=True)     # not here: see write_trials
            print(f"T = {n_steps}:", flush=True)
            runs[n_steps] = run_interleaved(__file__, contenders, args.repeats, args.threads,
                                            ["--data", path, "--batches", timed, "--threads", args.threads])

    print(f"\ncue accumulation ({CUES} cues), {N_IN} inputs -> {HIDDEN} recurrent LIF -> {N_OUT} leaky read-outs, "
          f"batch {BATCH}, Adam {LR:g}, {args.threads} thread(s); median of {args.repeats} repeat(s)")
    median = {}
    for n_steps, results in runs.items():
        timed = f"median of {args.batches} batches" if n_steps == BASE_STEPS else "one batch: the measured step"
        print(f"T = {n_steps} steps ({timed}; memory in MiB)\n  {'':17s} {'s/batch':>8s}  {'step peak RSS':>13s}  "
              f"{'step traced':>11s}  {'process peak':>12s}  loss of batch 0" + (" -> last" if n_steps == BASE_STEPS
                                                                               else ""))
        for name, rs in results.items():
            pick = {key: None if rs[0][key] is None else statistics.median(r[key] for r in rs)
                    for key in ("seconds", "step_rss_mib", "traced_mib", "peak_rss_mib")}
            median[n_steps, name] = pick
            losses = rs[0]["losses"]
            last = f" -> {losses[-1]:.3f} (batch {len(losses) - 1})" if n_steps == BASE_STEPS else ""
            print(f"  {LABELS[name]:17s} {pick['seconds']:8.2f}  {_mib(pick['step_rss_mib'], 13)}  "
                  f"{_mib(pick['traced_mib'], 11)}  {_mib(pick['peak_rss_mib'], 12)}  {losses[0]:.3f}{last}")
    if ("snntorch" in contenders) and any(c != "snntorch" for c in contenders):
        ratios = ", ".join(f"{median[BASE_STEPS, 'snntorch']['seconds'] / median[BASE_STEPS, c]['seconds']:.2f}x "
                           f"{LABELS[c]}" for c in contenders if c != "snntorch")
        print(f"  snnTorch time / spikingnn time per batch at T = {BASE_STEPS}: {ratios}")
    if len(lengths) == 2:
        print(f"  step peak, T = {lengths[0]} -> {lengths[1]}:")
        for c in contenders:
            (short, long), (traced_short, traced_long) = ((median[lengths[0], c][key], median[lengths[1], c][key])
                                                          for key in ("step_rss_mib", "traced_mib"))
            if short is not None and long is not None:
                traced = "" if traced_short is None else f" (traced {traced_short:.1f} -> {traced_long:.1f})"
                print(f"    {LABELS[c]:17s} {short:.1f} -> {long:.1f} MiB{traced}")
    return median


if __name__ == "__main__":
    main()
