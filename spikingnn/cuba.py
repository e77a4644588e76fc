"""The CUBA network: the current-based benchmark 2 of Brette et al. 2007 (J. Comput. Neurosci. 23:349), after
Vogels & Abbott 2005, exactly as Brian2's ``examples/CUBA.py`` writes it (``examples/cuba.py`` runs it,
``benchmarks/cuba.py`` times it against Brian2).

The neuron here: the LIF of neurons.py, in one LIFGroup.

N LIF neurons, 80 % excitatory and 20 % inhibitory, each pair connected with probability p::

    tau_m dv/dt = -(v - E_l) + g_e + g_i         E_l = -49 mV, tau_m = 20 ms
    tau_e dg_e/dt = -g_e,   tau_i dg_i/dt = -g_i  tau_e = 5 ms, tau_i = 10 ms
    v > V_t = -50 mV  ->  spike, v <- V_r = -60 mV, 5 ms refractory (v held)
    a spike of an excitatory neuron adds w_e = 1.62 mV to g_e of its targets, an inhibitory one w_i = -9 mV to g_i

Here v is in mV (all the equations are linear in v, so spikingnn's dimensionless voltage works in mV) and the
synaptic variables g are already in mV: they are the R I of ``LIFGroup`` with R = 1, g_e the i_syn of the
``SynapseGroup`` from the excitatory subgroup to all neurons, g_i that of the inhibitory one. The rest
potential E_l lies *above* the threshold, so each neuron alone fires at about 19 Hz; the network's inhibition
brings the rate down to a few Hz (about 5.6 Hz at N = 4,000, p = 0.02 in Brian2). v starts uniform in
[V_r, V_t].

Two small differences from Brian2, both vanishing as dt -> 0: Brian2 integrates v and g together exactly (g
decays within the step), spikingnn holds each step's g constant while integrating v exactly; and the
threshold test is v >= V_t here, v > V_t there. A spike acts on its targets from the next step in both.
"""
from __future__ import annotations

from ._validation import as_rng, check_in_range
from .groups import LIFGroup, SynapseGroup
from .monitors import SpikeMonitor
from .network import Network

NEURON = dict(tau_mem=20.0, v_rest=-49.0, v_threshold=-50.0, v_reset=-60.0, refractory=5.0)   # ms, mV
TAU_EXCITATORY, TAU_INHIBITORY = 5.0, 10.0                                                   # ms
W_EXCITATORY, W_INHIBITORY = 60 * 0.27 / 10, -20 * 4.5 / 10                                 # mV: 1.62, -9
EXCITATORY_FRACTION = 0.8


def cuba_network(n: int = 4000, p: float = 0.02, rng=None, dt: float = 0.1, backend: str = "numba",
                 record: bool = True) -> Network:
    """The CUBA network of n neurons with connection probability p (module docstring).

    ``rng``: seed or numpy Generator (connections, then initial potentials). The network holds one group of
    n neurons (the first 80 % excitatory: ``net.groups[0][:int(0.8 * n)]``), the two synapse groups, and with
    ``record`` a ``SpikeMonitor`` of each subgroup, excitatory then inhibitory.
    """
    rng = as_rng(rng)
    check_in_range("p", p, 0.0, 1.0)
    n_exc = int(EXCITATORY_FRACTION * n)
    if not 0 < n_exc < n:
        raise ValueError(f"n must leave both populations non-empty (80 % / 20 %); got {n}")
    neurons = LIFGroup(n, dt=dt, backend=backend, **NEURON)
    excitatory, inhibitory = neurons[:n_exc], neurons[n_exc:]
    synapses = [SynapseGroup.random(pre, neurons, p, weight, rng, tau_syn=tau, backend=backend)
                for pre, weight, tau in ((excitatory, W_EXCITATORY, TAU_EXCITATORY),
                                         (inhibitory, W_INHIBITORY, TAU_INHIBITORY))]
    neurons.v = rng.uniform(NEURON["v_reset"], NEURON["v_threshold"], n)
    monitors = [SpikeMonitor(excitatory), SpikeMonitor(inhibitory)] if record else []
    return Network(neurons, *synapses, *monitors)
