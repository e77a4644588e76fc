"""Brian2's CUBA network, timed on one code-generation target; prints one JSON line.

The network is Brian2's ``examples/CUBA.py`` (Brette et al. 2007, J. Comput. Neurosci. 23:349, benchmark 2;
after Vogels & Abbott 2005), with N neurons and connection probability p instead of 4,000 and 0.02:

    taum dv/dt = (ge + gi - (v - El)),  taue dge/dt = -ge,  taui dgi/dt = -gi    (v in mV, integrated exactly)
    v > Vt -> spike, v <- Vr, then 5 ms refractory (v held)
    El = -49 mV, Vt = -50 mV, Vr = -60 mV, taum = 20 ms, taue = 5 ms, taui = 10 ms, dt = 0.1 ms
    the first 80 % of the neurons excite (ge += 1.62 mV), the rest inhibit (gi += -9 mV), each pair connected
    with probability p; v starts uniform in [Vr, Vt].

This is the only file of the project that imports Brian2. It runs inside the virtualenv that
``benchmarks/setup_brian2.sh`` makes (Brian2 2.9.0 needs numpy < 2.4); ``benchmarks/cuba.py`` calls it as a
subprocess:

    benchmarks/.venv-brian2/bin/python benchmarks/brian2_cuba.py --n 4000 --p 0.02 --target cpp_standalone \
        --duration 1000 --seed 0

Output keys: target, n, p, duration_ms; run_seconds, the simulation loop only (Brian2's own timer around its
main loop, or the standalone binary's own timer: CPU time when OpenMP is off, i.e. with --threads 1, so a
busy machine slows the other targets' figures but not this one); compile_seconds, the rest (network
construction, code generation, Cython or g++ compilation; for cython those of the first of two runs, which
compiles unless Brian2's disk cache in benchmarks/.brian2-build already holds the code; the second, warm run
is the one timed); rate_hz, the mean rate over all neurons; synaptic_events, the spikes times the outgoing synapses of
the neuron that fired (all are delivered: the synapses act in the step of the spike). Everything Brian2 and
the compilers print goes to stderr; stdout holds only the JSON line.
"""
from __future__ import annotations

import argparse
import contextlib
import gc
import json
import os
import sys
import time
from pathlib import Path

BUILD_DIR = Path(__file__).resolve().parent / ".brian2-build"
TARGETS = ("numpy", "cython", "cpp_standalone")


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description="Time Brian2's CUBA network on one target (prints one JSON line).")
    parser.add_argument("--n", type=int, default=4000, help="number of neurons, 80%% excitatory (default 4000)")
    parser.add_argument("--p", type=float, default=0.02, help="connection probability (default 0.02)")
    parser.add_argument("--target", choices=TARGETS, default="cpp_standalone")
    parser.add_argument("--duration", type=float, default=1000.0, help="model time in ms (default 1000)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--threads", type=int, default=1,
                        help="OpenMP threads of cpp_standalone (numpy and cython run single-threaded; default 1)")
    args = parser.parse_args(argv)
    if args.n < 5:
        parser.error(f"--n must be >= 5 (both excitatory and inhibitory neurons); got {args.n}")
    if not 0.0 < args.p <= 1.0:
        parser.error(f"--p must be in (0, 1]; got {args.p}")
    if not args.duration > 0:
        parser.error(f"--duration must be > 0 ms; got {args.duration}")
    if args.threads < 1:
        parser.error(f"--threads must be >= 1; got {args.threads}")
    return args


@contextlib.contextmanager
def stdout_to_stderr():
    """Send everything written to file descriptor 1 (compilers, Brian2, C code) to stderr meanwhile."""
    sys.stdout.flush()
    saved = os.dup(1)
    os.dup2(2, 1)
    try:
        yield
    finally:
        sys.stdout.flush()
        os.dup2(saved, 1)
        os.close(saved)


def build_network(b2, n: int, p: float):
    """Brian2's examples/CUBA.py with n neurons and probability p; returns (Network, SpikeMonitor, synapses).

    Fixed object names make the generated code the same on every build, so Brian2's Cython cache serves a
    second build (in this process or the next) without compiling again.
    """
    ms, mV = b2.ms, b2.mV
    namespace = dict(taum=20 * ms, taue=5 * ms, taui=10 * ms, Vt=-50 * mV, Vr=-60 * mV, El=-49 * mV,
                     we=(60 * 0.27 / 10) * mV, wi=(-20 * 4.5 / 10) * mV, n_exc=n * 4 // 5)
    eqs = """
    dv/dt  = (ge+gi-(v-El))/taum : volt (unless refractory)
    dge/dt = -ge/taue : volt
    dgi/dt = -gi/taui : volt
    """
    group = b2.NeuronGroup(n, eqs, threshold="v>Vt", reset="v = Vr", refractory=5 * ms,
                           method="exact", namespace=namespace, name="cuba_neurons")
    group.v = "Vr + rand() * (Vt - Vr)"
    group.ge = 0 * mV
    group.gi = 0 * mV
    excitatory = b2.Synapses(group, group, on_pre="ge += we", namespace=namespace, name="cuba_excitatory")
    inhibitory = b2.Synapses(group, group, on_pre="gi += wi", namespace=namespace, name="cuba_inhibitory")
    excitatory.connect("i<n_exc", p=p, namespace=namespace)
    inhibitory.connect("i>=n_exc", p=p, namespace=namespace)
    monitor = b2.SpikeMonitor(group, name="cuba_spikes")
    net = b2.Network(group, excitatory, inhibitory, monitor, name="cuba")
    return net, monitor, (excitatory, inhibitory)


def spike_statistics(np, n: int, duration_ms: float, monitor, synapses) -> tuple[float, int]:
    """Mean rate (Hz) and synaptic events: sum over spikes of the firing neuron's number of outgoing synapses."""
    fired = np.asarray(monitor.i[:], dtype=np.int64)
    out_degree = sum(np.bincount(np.asarray(s.i[:], dtype=np.int64), minlength=n) for s in synapses)
    rate_hz = fired.size / n / (duration_ms / 1000.0)
    return rate_hz, int(np.bincount(fired, minlength=n) @ out_degree)


def run_runtime(b2, args) -> tuple[float, float, object, object]:
    """numpy/cython: returns (run_seconds, compile_seconds, monitor, synapses) of the timed run."""
    b2.prefs.codegen.target = args.target
    b2.prefs.codegen.runtime.cython.cache_dir = str(BUILD_DIR / "cython")
    repeats = 2 if args.target == "cython" else 1  # the first cython run compiles; time the warm one
    overheads = []
    for _ in range(repeats):
        net = monitor = synapses = None  # free the first network's object names before rebuilding it
        gc.collect()
        b2.seed(args.seed)
        start = time.perf_counter()
        net, monitor, synapses = build_network(b2, args.n, args.p)
        net.run(args.duration * b2.ms, namespace={})
        run_seconds = b2.get_device()._last_run_time  # Brian2's timer around its main loop only
        overheads.append(time.perf_counter() - start - run_seconds)
    return run_seconds, overheads[0], monitor, synapses


def run_standalone(b2, args) -> tuple[float, float, object, object]:
    """cpp_standalone: code generation + g++ timed apart from the binary's own run-loop timer."""
    directory = BUILD_DIR / f"cpp_standalone_n{args.n}_p{args.p:g}"
    b2.set_device("cpp_standalone", build_on_run=False)
    # No OpenMP for one thread: its code is the fastest (2.5x faster here than OpenMP with one thread), but
    # its timer is then std::clock, the process's CPU time, which equals wall time only on an idle core.
    b2.prefs.devices.cpp_standalone.openmp_threads = 0 if args.threads == 1 else args.threads
    b2.seed(args.seed)
    start = time.perf_counter()
    net, monitor, synapses = build_network(b2, args.n, args.p)
    net.run(args.duration * b2.ms, namespace={})
    device = b2.get_device()
    device.build(directory=str(directory), compile=True, run=False)
    compile_seconds = time.perf_counter() - start
    device.run(directory=str(directory), with_output=False)
    return device._last_run_time, compile_seconds, monitor, synapses


def main(argv=None) -> None:
    args = parse_args(argv)
    for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ[var] = str(args.threads)
    with stdout_to_stderr():
        import brian2 as b2
        import numpy as np

        b2.prefs.logging.file_log = False
        b2.prefs.logging.std_redirection = False
        BUILD_DIR.mkdir(parents=True, exist_ok=True)
        runner = run_standalone if args.target == "cpp_standalone" else run_runtime
        run_seconds, compile_seconds, monitor, synapses = runner(b2, args)
        rate_hz, events = spike_statistics(np, args.n, args.duration, monitor, synapses)
    print(json.dumps(dict(target=args.target, n=args.n, p=args.p, duration_ms=args.duration,
                          run_seconds=run_seconds, compile_seconds=compile_seconds,
                          rate_hz=rate_hz, synaptic_events=events)), flush=True)


if __name__ == "__main__":
    main()
