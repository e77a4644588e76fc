"""A first run compiles on two cores: the backward kernels in a second process while this one does the forward.

Numba compiles a kernel in the process that first calls it, one at a time. A first training run (nothing in Numba's
on-disk cache) spent ~30 s compiling on this project's 2-core machine, almost all of it in Numba's passes and LLVM
on one core, about half of it on the kernels of the backward pass and the optimiser's step that follows it.
``compile_backward_elsewhere`` starts a second Python process that compiles the backward kernels into the same cache
(``compile_backward``: each called once on tiny arrays of the training dtype, through the same layer functions as
training, so with the same argument types); meanwhile this process compiles the forward kernels of its first batch,
then the optimiser's step (``compile_optimizer``), then waits for the other before its first backward pass
(``SNNClassifier.fit``) and loads the kernels from the cache instead of compiling them again. The optimiser's step
is this process's share because the other was the longer one: its first batch waited 0.75 s for it (forward done at
4.3 s, the other process at 5.1 s, on a fast hour of this project's machine). Nothing depends on it: if the second
process cannot start or fails, this one compiles what it needs itself.
"""
from __future__ import annotations

import subprocess
import sys

import numpy as np

WAIT_SECONDS = 600      # far above a compile; then this process compiles the rest itself


def compile_backward(dtype) -> None:
    """Run the backward kernels of a rate-coded network once, on tiny arrays of ``dtype``: the neurons' BPTT and the
    input layer's weight gradient (the event kernels of hidden spikes are left to the first run: most runs never call
    them, and this process should not finish after the other's forward pass)."""
    from spikingnn.training.encoders import rate_input
    from spikingnn.training.layers import NeuronCache, NeuronSpec, RateCache, neuron_backward, rate_dense_backward

    dtype = np.dtype(dtype)
    rng = np.random.default_rng(0)
    steps, batch, n_in, n = 2, 2, 3, 4
    v = rng.standard_normal((steps, batch, n)).astype(dtype)
    s = (v > 0).astype(dtype)
    cache = NeuronCache(v, s, np.ones_like(v), np.full(n, 0.9, dtype), np.zeros((0, 0), dtype),
                        np.zeros((0, 0, 0), dtype), NeuronSpec(), "numba")
    d_current, _ = neuron_backward(v, None, cache)
    encoded = rate_input(rng.integers(0, 257, (batch, n_in)).astype(np.uint16), steps, rng, "numpy")
    rate_dense_backward(d_current, RateCache(encoded, "numba"))


def compile_optimizer(dtype) -> None:
    """Run Adam's step once on a tiny parameter of ``dtype`` (its kernel, compiled or loaded from the cache)."""
    from spikingnn.training.optim import Adam

    params = {"w": np.zeros((2, 2), np.dtype(dtype))}
    Adam().step(params, {"w": np.ones((2, 2), np.dtype(dtype))}, Adam.init_state(params), 1e-3)


def compile_backward_elsewhere(dtype):
    """Start a second process that runs ``compile_backward(dtype)``; returns the function to call before the first
    backward pass: it compiles the optimiser's step here (``compile_optimizer``), then waits for the other process."""
    try:
        child = subprocess.Popen([sys.executable, "-m", "spikingnn.training.warmup", np.dtype(dtype).name],
                                 stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    except OSError:
        return lambda: None

    def wait() -> None:
        compile_optimizer(dtype)
        try:
            child.wait(timeout=WAIT_SECONDS)
        except subprocess.TimeoutExpired:
            child.kill()
            child.wait()
    return wait


if __name__ == "__main__":
    compile_backward(sys.argv[1])
