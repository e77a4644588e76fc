"""spikingnn: spiking neural networks from scratch, in NumPy, SciPy and Numba.

Read the package like a textbook, floor by floor: ``params`` and ``encoding`` (raw material), ``neurons`` and
``synapses`` (one unit), ``groups``, ``sources``, ``network`` and ``monitors`` (populations and networks),
``stdp``, ``diehl_cook`` and ``training`` (learning), ``plotting`` and ``cli`` (faces).

The names most scripts need are importable from here: ``from spikingnn import FirstOrderLIF, LIFGroup, ...``.
Importing is cheap: each name loads its module when first used, and Numba kernels compile (or load from their
on-disk cache) at their first call.
"""
__version__ = "0.1.0"

# Every public name and the module that defines it. They load on first use (PEP 562), so that ``import
# spikingnn`` (and the command line's error messages) does not wait for Numba, SciPy and the kernels.
_PUBLIC = {
    ".datasets": ("load_cifar10", "load_cifar100", "load_fashion_mnist", "load_mnist"),
    ".encoding": ("decode_latency", "decode_rate", "image_to_spikes", "latency_encode", "load_grayscale",
                  "population_decode", "population_encode", "rate_encode"),
    ".groups": ("ALIFGroup", "LIFGroup", "SynapseGroup"),
    ".monitors": ("SpikeMonitor", "StateMonitor", "population_rate"),
    ".network": ("Network",),
    ".neurons": ("ALIF", "ConductanceLIF", "FirstOrderLIF", "lif_rate"),
    ".params": ("ALIFParams", "LIFParams"),
    ".population_coding": ("Ensemble", "EnsembleParams"),
    ".serialization": ("load", "save"),
    ".sources": ("ConstantCurrent", "PoissonSource", "TimeVaryingCurrent"),
    ".stdp": ("STDP", "STDPParams"),
    ".synapses": ("FirstOrderSynapse",),
    ".tasks": ("cue_accumulation", "permuted_mnist", "sequential_mnist"),
    ".training.eprop": ("RecurrentNetwork",),
    ".training.model": ("SNNClassifier",),
}
_MODULE_OF = {name: module for module, names in _PUBLIC.items() for name in names}
__all__ = sorted(_MODULE_OF)


def __getattr__(name):
    if name not in _MODULE_OF:
        raise AttributeError(f"module 'spikingnn' has no attribute {name!r}")
    import importlib

    value = getattr(importlib.import_module(_MODULE_OF[name], __name__), name)
    globals()[name] = value                     # found directly from now on
    return value


def __dir__():
    return sorted(set(globals()) | set(__all__))
