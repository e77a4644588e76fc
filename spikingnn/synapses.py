"""One synapse: the first-order (exponential) post-synaptic current.

The neuron here: none: the current into any neuron.

A presynaptic spike does not inject a single instant of current; it opens channels that close over a few
milliseconds. The simplest model (Gerstner et al., *Neuronal Dynamics*, 2014, sec. 3.1; Dayan & Abbott 2001,
sec. 5.8) lets the synaptic current i_syn decay with ``tau_syn`` and jump by ``weight`` at every presynaptic
spike t_f::

    tau_syn di_syn/dt = -i_syn + tau_syn * weight * sum_f delta(t - t_f)

so a single spike at t_f gives i_syn(t) = weight exp(-(t - t_f) / tau_syn) for t >= t_f, and a spike train
gives the sum of these kernels (the equation is linear: responses superpose). A negative weight is inhibitory.

Discrete update (exact: between spikes the decay is exponential), with alpha = exp(-dt / tau_syn) and
s[t] the number of presynaptic spikes arriving in step t (0 or 1 for one neuron)::

    i_syn[t] = i_syn[t-1] * alpha + weight * s[t]

first the decay over the step, then the jump of the spike arriving in it; i_syn[t] is the current the
post-synaptic neuron receives during step t. Hence i_syn[t_f + n] = weight exp(-n dt / tau_syn), exactly
the samples of the continuous kernel. (``SynapseGroup`` in ``groups.py`` does the same for many synapses.)

Driving a neuron through a synapse is a three-line loop::

    >>> from spikingnn.neurons import FirstOrderLIF
    >>> synapse, neuron = FirstOrderSynapse(tau_syn=5.0, weight=0.6), FirstOrderLIF(tau_mem=10.0)
    >>> pre_spikes = np.zeros(500, dtype=bool); pre_spikes[::20] = True       # 500 Hz for 50 ms
    >>> post_spikes = [neuron.step(synapse.step(pre)) for pre in pre_spikes]
    >>> sum(post_spikes)
    4

(The neuron's exact integrator holds each step's current constant, a piecewise-constant approximation of
the decaying synaptic current that converges as dt -> 0.)
"""
from __future__ import annotations

import numpy as np

from ._validation import check_finite, check_non_negative, check_positive
from .discretisation import exact_decay


class FirstOrderSynapse:
    """Exponential synapse: tau_syn di_syn/dt = -i_syn, i_syn jumping by ``weight`` at each presynaptic spike.

    Parameters: ``tau_syn`` (ms, > 0), ``weight`` (finite; current per spike, negative = inhibitory),
    ``dt`` (ms, > 0). State: ``i_syn`` (starts at 0). Derived: ``alpha = exp(-dt / tau_syn)`` (``exact_decay``).
    """

    def __init__(self, tau_syn: float = 5.0, weight: float = 1.0, dt: float = 0.1):
        self.tau_syn = float(check_positive("tau_syn", tau_syn, "ms"))
        self.weight = float(check_finite("weight", weight))
        self.dt = float(check_positive("dt", dt, "ms"))
        self.alpha = float(exact_decay(self.dt, self.tau_syn))
        self.reset_state()

    def reset_state(self) -> None:
        """No current: i_syn = 0."""
        self.i_syn = 0.0

    def step(self, pre_spiked) -> float:
        """Advance one step; ``pre_spiked`` (bool, or a spike count >= 0) arrives in it. Return i_syn."""
        return self._step(float(check_non_negative("pre_spiked", pre_spiked)))

    def _step(self, pre_spiked: float) -> float:
        self.i_syn = self.i_syn * self.alpha + self.weight * pre_spiked
        return self.i_syn

    def simulate(self, pre_spikes) -> np.ndarray:
        """Run ``step`` over a (T,) array of presynaptic spikes (or counts), continuing from the present state.

        Returns the (T,) synaptic current of each step.
        """
        pre_spikes = check_non_negative("pre_spikes", pre_spikes)
        if pre_spikes.ndim != 1:
            raise ValueError(f"pre_spikes must be a 1-D array (T,); got shape {pre_spikes.shape}")
        return np.array([self._step(s) for s in pre_spikes.tolist()])
