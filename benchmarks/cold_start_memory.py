"""Cold start and memory of surrogate-gradient training: how long a first run waits for its kernels, and how much
memory a training step needs.

    python benchmarks/cold_start_memory.py
    python benchmarks/cold_start_memory.py --repeats 3 --threads 2

The network is ``SNNClassifier``'s default (784-100-10, T = 25, rate coding, batch 128) on MNIST. Each figure comes
from a fresh process with ``--threads`` threads for BLAS and Numba:

* cold start: an empty Numba cache (``NUMBA_CACHE_DIR`` in a new temporary folder), so every kernel the run uses
  compiles; the seconds from launching the process to the end of its first training batch (interpreter start,
  imports, loading MNIST, compiling, the batch). Then warm start: the same with the cache that run filled;
* memory (Linux): the process's resident memory after imports, MNIST and a warm-up batch of 2 pictures that loads
  the kernels (the baseline), the peak
  of ``--batches`` training batches above it (the high-water mark reset through ``/proc/self/clear_refs`` at the
  baseline: ``VmHWM - VmRSS``), and the whole process's peak before that reset (``VmHWM``: imports, data, the
  kernels).
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time

from bptt_vs_snntorch import _environment
from recurrent_vs_snntorch import _status_mib


def _data(data_dir):
    from spikingnn.datasets import load_mnist
    return load_mnist("train", data_dir=data_dir)


def cold_worker(data_dir) -> None:
    """Train the default classifier and exit after its first batch, printing when that batch ended."""
    from spikingnn.training.callbacks import Callback
    from spikingnn.training.model import SNNClassifier

    class FirstBatch(Callback):
        def on_batch_end(self, model, batch, stats):
            print(json.dumps({"first_batch_at": time.time()}), flush=True)
            os._exit(0)                                     # nothing after the first batch is measured

    images, labels = _data(data_dir)
    SNNClassifier(epochs=1).fit(images[:1280], labels[:1280], callbacks=[FirstBatch()], progress=False)


def memory_worker(data_dir, n_batches: int) -> None:
    """Print the baseline, the peak of ``n_batches`` training batches above it, and the process's earlier peak."""
    import gc

    from spikingnn.training.model import SNNClassifier

    images, labels = _data(data_dir)
    # Warm-up on 2 pictures: it loads every kernel a batch of 128 runs (the same types) but allocates next to nothing,
    # so memory that the measured batches allocate is not already held (freed but kept) by the C allocator.
    SNNClassifier(epochs=1, batch_size=2).fit(images[:2], labels[:2], progress=False)
    model = SNNClassifier(epochs=1)
    gc.collect()
    process_peak = _status_mib("VmHWM")
    with open("/proc/self/clear_refs", "w") as refs:                             # VmHWM := the current RSS
        refs.write("5")
    baseline = _status_mib("VmRSS")
    model.fit(images[:128 * n_batches], labels[:128 * n_batches], progress=False)
    print(json.dumps({"baseline": baseline, "training_peak_above": _status_mib("VmHWM") - baseline,
                      "process_peak_before": process_peak}))


def _run(args_list, env) -> tuple:
    """Run this script as a worker; returns (seconds from launch to the end of the run, its JSON line)."""
    start = time.time()
    out = subprocess.run([sys.executable, __file__, *args_list], capture_output=True, text=True, env=env)
    if out.returncode:
        sys.exit(f"worker {args_list} failed:\n{out.stderr}")
    return start, json.loads(out.stdout.strip().splitlines()[-1])


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=1, help="runs of each measurement; the median is reported")
    parser.add_argument("--threads", type=int, default=2, help="threads for BLAS and Numba (default 2)")
    parser.add_argument("--batches", type=int, default=5, help="training batches in the memory measurement")
    parser.add_argument("--data-dir", help="folder with the MNIST IDX files (default: the usual places)")
    parser.add_argument("--worker", choices=("cold", "memory"), help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.worker == "cold":
        return cold_worker(args.data_dir)
    if args.worker == "memory":
        return memory_worker(args.data_dir, args.batches)

    data = ["--data-dir", args.data_dir] if args.data_dir else []
    cold, warm, memory = [], [], []
    for _ in range(args.repeats):
        with tempfile.TemporaryDirectory() as cache:
            env = {**_environment(args.threads), "NUMBA_CACHE_DIR": cache}
            for times in (cold, warm):                    # the first run fills the cache the second one finds
                start, result = _run(["--worker", "cold", *data], env)
                times.append(result["first_batch_at"] - start)
        memory.append(_run(["--worker", "memory", "--batches", str(args.batches), *data],
                           _environment(args.threads))[1])
    print(f"SNNClassifier defaults (784-100-10, T = 25, rate coding, batch 128) on MNIST, {args.threads} threads; "
          f"median of {args.repeats}")
    print(f"  cold start (empty Numba cache): first batch done {statistics.median(cold):6.1f} s after launch")
    print(f"  warm start (cache filled):      first batch done {statistics.median(warm):6.1f} s after launch")
    for key, label in (("baseline", "resident memory after imports, MNIST and the kernels"),
                       ("training_peak_above", f"peak of {args.batches} training batches above that baseline"),
                       ("process_peak_before", "the process's peak before (imports, data, kernels)")):
        print(f"  {label:58s} {statistics.median(m[key] for m in memory):7.1f} MiB")


if __name__ == "__main__":
    main()
