"""Supervised learning: spiking networks trained by backpropagation through time with surrogate gradients.

Read in this order: ``surrogate`` (the trick that makes spikes differentiable), ``layers`` (dense projection
and LIF/ALIF layers, forward with a cache, backward through time), ``network`` (a stack of them),
``encoders`` (images into the first layer), ``losses`` and ``optim``, ``callbacks`` (how training reports
its progress, without a screen of its own), then ``model`` (SNNClassifier, which puts it all together), and
``eprop`` (recurrent networks on sequences, learning online with eligibility traces beside BPTT). The fast
kernels and their NumPy references are in ``spikingnn.kernels`` (``neuron_bptt``, ``projection``, ``rate_input``,
``surrogates``, ``eprop``).
"""
from spikingnn.training.callbacks import Callback
from spikingnn.training.model import Recording, SNNClassifier
from spikingnn.training.surrogate import SURROGATES, ArcTan, FastSigmoid, Sigmoid, Triangle, make_surrogate

__all__ = ["Callback", "SNNClassifier", "Recording", "SURROGATES", "ArcTan", "FastSigmoid", "Sigmoid", "Triangle",
           "make_surrogate"]
