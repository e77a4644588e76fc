"""Cross-simulator check through NIR: spikingnn -> snnTorch and snnTorch -> spikingnn on the MNIST test set.

    pip install "torch==2.13.0" && pip install snntorch && pip install --no-deps norse nir nirtorch
    SPIKINGNN_DATA=../shared/datasets python benchmarks/nir_crosscheck.py [--epochs 3] [--limit N]

1. A spikingnn 784-100-10 (spiking output, reset to zero: snnTorch's importer has no LI and resets to zero)
   trained here, exported with ``spikingnn.nir.to_nir`` at dt = 0.1 ms (snnTorch's importer hard-codes
   dt = 1e-4 s), imported by ``snntorch.import_nir.import_from_nir``; both run on the same input spikes
   (spikingnn's rate code), the predicted classes compared (argmax of output spike counts, ties to the lowest
   class in both). Once for each export integrator: 'euler' is the convention snnTorch steps with, 'exact' the
   continuous neuron spikingnn's step integrates exactly (snnTorch then steps it with Euler: a different net).
2. An snnTorch 784-100-10 (``Leaky``, beta 0.95, reset by subtraction) trained here for one epoch, exported with
   ``export_to_nir``, imported by ``spikingnn.nir.from_nir`` (dt = 0.1 ms, integrator 'euler', reset
   'subtract'); accuracy of both on the same input spikes. Twice: with snnTorch's default ``reset_delay=True``
   (U[t] = beta U[t-1] + I[t] - thr S[t-1], the undecayed threshold subtracted a step late: no NIR neuron, so
   spikingnn runs its own subtraction, beta (U - thr), and the figures differ a little) and with
   ``reset_delay=False`` (the reset in the spike's step: spikingnn's 'subtract' step exactly).
3. Norse: the spikingnn export imported by ``norse.torch.from_nir`` (agreement as in 1), if its NIR path works.
Peers are imported here only; the package never imports torch.
"""
from __future__ import annotations

import argparse
import sys

import numpy as np

DT_MS = 0.1          # snnTorch's export_to_nir / import_from_nir use dt = 1e-4 s whatever the model's
STEPS = 25


def spikingnn_inputs(model, X):
    """The input spikes spikingnn feeds the model for X (T, N, 784) float32, and its output spike counts."""
    parts = [model.record(X[k:k + 1000]) for k in range(0, len(X), 1000)]
    return (np.concatenate([p.input_spikes for p in parts], axis=1).astype(np.float32),
            np.concatenate([p.spikes[-1].sum(axis=0) for p in parts]))


def torch_counts(net, spikes, reset):
    """Output spike counts (N, C) of a stateful torch module stepped through spikes (T, N, n), 1,000 at a time."""
    import torch

    counts = []
    with torch.no_grad():
        for k in range(0, spikes.shape[1], 1000):
            reset(net)
            x = torch.from_numpy(spikes[:, k:k + 1000])
            total = 0
            for t in range(x.shape[0]):
                out = net(x[t])
                total = total + (out[0] if isinstance(out, tuple) else out)
            counts.append(total.numpy())
    return np.concatenate(counts)


def spikingnn_to_snntorch(X_train, y_train, X, y, epochs):
    from snntorch import utils as snn_utils
    from snntorch.import_nir import import_from_nir

    import spikingnn as snn
    from spikingnn.nir import to_nir

    model = snn.SNNClassifier(hidden=(100,), num_steps=STEPS, loss="ce_count", reset="zero", dt=DT_MS,
                              epochs=epochs).fit(X_train, y_train)
    spikes, counts = spikingnn_inputs(model, X)
    ours = np.argmax(counts, axis=1)
    print(f"\n1. spikingnn -> NIR -> snnTorch: spikingnn accuracy {np.mean(ours == y):.2%} on {len(y)} test images")
    for integrator in ("euler", "exact"):
        net = import_from_nir(to_nir(model, integrator=integrator))
        theirs = np.argmax(torch_counts(net, spikes, snn_utils.reset), axis=1)
        print(f"   export integrator {integrator!r}: snnTorch accuracy {np.mean(theirs == y):.2%}, same class as "
              f"spikingnn on {np.mean(theirs == ours):.2%}")
    return model, spikes, ours


def snntorch_to_spikingnn(X_train, y_train, X, y, reset_delay):
    import snntorch as snn
    import torch
    from snntorch import functional as SF
    from snntorch import utils as snn_utils
    from snntorch.export_nir import export_to_nir

    from spikingnn.nir import from_nir

    torch.manual_seed(0)
    # beta and threshold one per neuron (the same values): with scalars, snnTorch 1.0.0's export_to_nir writes
    # LIF nodes of shape () that NIR's type inference refuses ("type mismatch: 0.output: [[100]] -> 1.input: []")
    net = torch.nn.Sequential(
        torch.nn.Linear(784, 100),
        snn.Leaky(beta=torch.full((100,), 0.95), threshold=torch.ones(100), init_hidden=True, reset_delay=reset_delay),
        torch.nn.Linear(100, 10),
        snn.Leaky(beta=torch.full((10,), 0.95), threshold=torch.ones(10), init_hidden=True, output=True,
                  reset_delay=reset_delay))
    optimiser, loss_fn = torch.optim.Adam(net.parameters(), lr=5e-4), SF.ce_count_loss()
    images = torch.from_numpy(X_train.reshape(len(X_train), -1) / 255.0).float()
    labels = torch.from_numpy(y_train.astype(np.int64))
    order = torch.randperm(len(images))
    for start in range(0, len(images), 128):
        idx = order[start:start + 128]
        snn_utils.reset(net)
        spikes = [net((torch.rand_like(images[idx]) < images[idx]).float())[0] for _ in range(STEPS)]
        loss = loss_fn(torch.stack(spikes), labels[idx])
        optimiser.zero_grad()
        loss.backward()
        optimiser.step()
    model = from_nir(export_to_nir(net, torch.zeros(784)), dt=DT_MS, integrator="euler", reset="subtract",
                     num_steps=STEPS)
    spikes, counts = spikingnn_inputs(model, X)
    ours = np.argmax(counts, axis=1)
    theirs = np.argmax(torch_counts(net, spikes, snn_utils.reset), axis=1)
    print(f"\n2. snnTorch (reset_delay={reset_delay}) -> NIR -> spikingnn (one epoch of snnTorch training, same "
          f"input spikes): snnTorch "
          f"accuracy {np.mean(theirs == y):.2%}, spikingnn {np.mean(ours == y):.2%} "
          f"({100 * (np.mean(ours == y) - np.mean(theirs == y)):+.2f} points), same class on "
          f"{np.mean(theirs == ours):.2%}")


def spikingnn_to_norse(model, spikes, ours, y):
    try:
        import norse.torch as norse
        import torch

        from spikingnn.nir import to_nir

        net = norse.from_nir(to_nir(model, integrator="euler"), dt=DT_MS / 1000)
        counts = []
        with torch.no_grad():
            for k in range(0, spikes.shape[1], 1000):
                state, total = None, 0
                for t in range(spikes.shape[0]):
                    out, state = net(torch.from_numpy(spikes[t, k:k + 1000]), state)
                    total = total + out
                counts.append(total.numpy())
        theirs = np.argmax(np.concatenate(counts), axis=1)
        print(f"\n3. spikingnn -> NIR -> Norse: Norse accuracy {np.mean(theirs == y):.2%}, same class as spikingnn "
              f"on {np.mean(theirs == ours):.2%}")
    except Exception as exc:                     # report what the installed Norse does, whatever it is
        print(f"\n3. spikingnn -> NIR -> Norse: does not work with the installed versions: "
              f"{type(exc).__name__}: {str(exc)[:300]}")


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=3, help="spikingnn training epochs (default 3)")
    parser.add_argument("--limit", type=int, help="test on the first N test images only")
    args = parser.parse_args(argv)
    try:
        import snntorch  # noqa: F401
        import torch
    except ImportError as exc:
        print(f"nir_crosscheck: {exc}; install the peers first (see the module docstring)", file=sys.stderr)
        return 2
    import spikingnn as snn

    torch.set_num_threads(2)
    X_train, y_train = snn.load_mnist("train")
    X, y = snn.load_mnist("test")
    X, y = X[:args.limit], y[:args.limit]
    model, spikes, ours = spikingnn_to_snntorch(X_train, y_train, X, y, args.epochs)
    for reset_delay in (True, False):         # snnTorch's default, then the reset in the step of the spike
        snntorch_to_spikingnn(X_train, y_train, X, y, reset_delay)
    spikingnn_to_norse(model, spikes, ours, y)
    return 0


if __name__ == "__main__":
    sys.exit(main())
