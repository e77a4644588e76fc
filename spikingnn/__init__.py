"""spikingnn: spiking neural networks from scratch, in NumPy, SciPy and Numba.

Read the package like a textbook, floor by floor: ``params`` and ``encoding`` (raw material), ``neurons`` and
``synapses`` (one unit), ``groups``, ``sources``, ``network`` and ``monitors`` (populations and networks),
``stdp``, ``diehl_cook`` and ``training`` (learning), ``plotting`` and ``cli`` (faces).

The names most scripts need are importable from here: ``from spikingnn import FirstOrderLIF, LIFGroup, ...``.
Importing is cheap: Numba kernels compile (or load from their on-disk cache) at their first call, and the
training code loads only when ``SNNClassifier`` or ``load`` is first used.
"""
__version__ = "0.1.0"

from .datasets import load_fashion_mnist, load_mnist
from .encoding import (decode_latency, decode_rate, image_to_spikes, latency_encode, load_grayscale,
                       population_decode, population_encode, rate_encode)
from .groups import ALIFGroup, LIFGroup, SynapseGroup
from .monitors import SpikeMonitor, StateMonitor, population_rate
from .network import Network
from .neurons import ALIF, FirstOrderLIF, lif_rate
from .params import ALIFParams, LIFParams
from .population_coding import Ensemble, EnsembleParams
from .serialization import load, save
from .sources import ConstantCurrent, PoissonSource, TimeVaryingCurrent
from .stdp import STDP, STDPParams
from .synapses import FirstOrderSynapse

__all__ = [
    "ALIF", "ALIFGroup", "ALIFParams", "ConstantCurrent", "Ensemble", "EnsembleParams", "FirstOrderLIF",
    "FirstOrderSynapse", "LIFGroup", "LIFParams", "Network", "PoissonSource", "SNNClassifier", "STDP", "STDPParams",
    "SpikeMonitor", "StateMonitor", "SynapseGroup", "TimeVaryingCurrent", "decode_latency", "decode_rate",
    "image_to_spikes", "latency_encode", "lif_rate", "load", "load_fashion_mnist", "load_grayscale", "load_mnist",
    "population_decode", "population_encode", "population_rate", "rate_encode", "save",
]


def __getattr__(name):
    # The training package (and its kernels' imports) loads only when a classifier is asked for.
    if name == "SNNClassifier":
        from .training.model import SNNClassifier
        return SNNClassifier
    raise AttributeError(f"module 'spikingnn' has no attribute {name!r}")
