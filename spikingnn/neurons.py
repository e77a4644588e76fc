"""One neuron at a time: the leaky integrate-and-fire neuron and its adaptive-threshold cousin.

The neuron here: LIF and ALIF, defined here (exact or Euler step).

This is the textbook layer: plain Python, one scalar state per neuron, each equation written once below
next to the lines that implement it. Populations (``groups.py``) apply exactly the same update to arrays.

Units: time in ms, rates in Hz, voltage dimensionless (rest 0, threshold 1 by default; mV works unchanged).

The leaky integrate-and-fire neuron (Gerstner et al., *Neuronal Dynamics*, 2014, ch. 1.3)
------------------------------------------------------------------------------------------
Below threshold the membrane is an RC circuit driven by the input current I::

    tau_mem dv/dt = -(v - v_rest) + R I                         (1)

and when v reaches ``v_threshold`` the neuron emits a spike and v is reset. For a current held constant,
(1) relaxes exponentially towards the steady state v_inf = v_rest + R I::

    v(t) = v_inf + (v(0) - v_inf) exp(-t / tau_mem)             (2)   -> lif_membrane_closed_form

so the neuron fires only if v_inf > v_threshold (the *rheobase* current is (v_threshold - v_rest) / R).
Starting from v_reset, v then reaches threshold after t* = tau_mem ln((v_inf - v_reset) / (v_inf - v_threshold));
adding the absolute refractory period t_ref gives the f-I curve::

    rate(I) = 1 / (t_ref + tau_mem ln((R I + v_rest - v_reset) / (R I + v_rest - v_threshold)))    (3)

(zero at and below rheobase, never above 1 / t_ref)                  -> lif_rate

The discrete update (one step of length dt, input held constant over the step)
------------------------------------------------------------------------------
(1) is a first-order linear system relaxing towards v_inf, so one step is (``spikingnn.discretisation``)::

    v <- decay v + rest_drive + input_gain I,   rest_drive = (1 - decay) v_rest,  input_gain = (1 - decay) R

with decay = exp(-dt / tau_mem), which evaluates (2) over the step exactly (``integrator='exact'``, the default),
or decay = 1 - dt / tau_mem, forward Euler, which takes the slope at the start of the step; it is first-order
accurate and is here to show the difference (it overshoots for dt > tau_mem) (``integrator='euler'``).

Then ``v > threshold`` (strictly above) is a spike, followed by the reset (``params.RESET_MODES``), either to
``v_reset`` (``reset='zero'``) or by subtracting the distance from threshold to reset (``reset='subtract'``:
v <- v - (threshold - v_reset), which keeps the overshoot). For the next ``round(refractory / dt)`` steps the
membrane is held at its value after the reset and cannot spike. The order of these operations is fixed (the
populations of ``groups.py`` and the training layers of ``training/layers.py`` run the same update); see
``FirstOrderLIF.step``.

Example (a constant current of 1.5 for 100 ms; the spikes come every 13.0 ms, the analytic period is 12.986 ms)::

    >>> neuron = FirstOrderLIF(tau_mem=10.0, refractory=2.0)
    >>> v_trace, spike_steps = neuron.simulate(np.full(1000, 1.5))
    >>> spike_steps[:3]
    array([109, 239, 369])
    >>> round(1000.0 / float(lif_rate(1.5, tau_mem=10.0, refractory=2.0)), 3)
    12.986
"""
from __future__ import annotations

import dataclasses

import numpy as np

from ._validation import check_finite, check_positive
from .discretisation import LIFStep, exact_decay, step_count
from .params import ALIFParams, LIFParams


def lif_membrane_closed_form(t, v0, current, **params):
    """Sub-threshold membrane potential (2): v(t) = v_inf + (v0 - v_inf) exp(-t / tau_mem), v_inf = v_rest + R I.

    The solution of (1) for a constant ``current`` starting from ``v0`` at t = 0, ignoring threshold and reset.
    ``t`` (ms) may be an array; ``params`` are ``LIFParams`` fields (tau_mem, v_rest, resistance, ...).
    """
    p = LIFParams(**params)
    v_inf = p.v_rest + p.resistance * check_finite("current", current)
    return v_inf + (v0 - v_inf) * np.exp(-np.asarray(t, dtype=float) / p.tau_mem)


def lif_rate(current, **params):
    """Analytic f-I curve (3) of the LIF neuron in Hz; ``current`` may be an array.

    rate = 1000 / (t_ref + t*) with t* = tau_mem ln(1 + (v_threshold - v_reset) / (v_inf - v_threshold)) ms, the
    time to climb from v_reset to v_threshold (the logarithm of (3), computed as logaddexp(0, ln(gap / drive))
    with gap = v_threshold - v_reset, drive = v_inf - v_threshold, so that it stays accurate both for large
    currents and just above rheobase); 0 where v_inf = v_rest + R I does not exceed v_threshold.
    ``params`` are ``LIFParams`` fields (tau_mem, v_rest, v_reset, v_threshold, resistance, refractory).

    This is the continuous-time rate. A simulation with step dt rounds each climb up to whole steps, so its
    rate r_sim satisfies rate * P / (P + dt) <= r_sim <= rate, P = 1000 / rate (when refractory is a multiple
    of dt; see tests/test_neurons.py).
    """
    p = LIFParams(**params)
    drive = p.v_rest + p.resistance * check_finite("current", current) - p.v_threshold   # v_inf - v_threshold
    above = drive > 0
    log_ratio = np.log(p.v_threshold - p.v_reset) - np.log(np.where(above, drive, 1.0))
    time_to_threshold = p.tau_mem * np.logaddexp(0.0, log_ratio)                 # tau_mem ln(1 + gap / drive)
    return np.where(above, 1000.0 / (p.refractory + time_to_threshold), 0.0)


def _scalar_params(params):
    """Check that every numeric field of a parameter record is a scalar; return a copy holding Python floats.

    Floats keep the arithmetic in float64 whatever numeric type was passed (a NumPy float32 would not).
    """
    fields = {}
    for field in dataclasses.fields(params):
        value = getattr(params, field.name)
        if isinstance(value, str):
            continue
        if np.ndim(value) != 0:
            raise ValueError(
                f"{field.name} must be a scalar for a single neuron (use groups.py for per-neuron arrays); "
                f"got shape {np.shape(value)}"
            )
        fields[field.name] = float(value)
    return dataclasses.replace(params, **fields)


class FirstOrderLIF:
    """Leaky integrate-and-fire neuron: tau_mem dv/dt = -(v - v_rest) + R I, spike and reset at v_threshold.

    Keyword parameters: the ``LIFParams`` fields ``tau_mem`` (ms, default 20), ``v_rest`` (0), ``v_reset`` (0),
    ``v_threshold`` (1), ``resistance`` (1), ``refractory`` (ms, 0) and ``reset`` ('zero' | 'subtract'), plus
    ``dt`` (ms, default 0.1) and ``integrator`` ('exact' | 'euler'). Invalid values raise ``ValueError``.

    State: ``v`` (membrane potential, starts at v_rest) and ``refractory_left`` (steps still held).
    Step constants: ``constants``, the ``discretisation.LIFStep`` of the parameters (decay, input gain, rest drive,
    refractory steps, ...).
    """

    params_class = LIFParams

    def __init__(self, *, dt: float = 0.1, integrator: str = "exact", **params):
        self.params = _scalar_params(self.params_class(**params))   # the record validates its fields
        self.dt = float(check_positive("dt", dt, "ms"))
        self.integrator = integrator
        self.constants = LIFStep(**{name: value.item() for name, value in
                                    vars(LIFStep.from_params(self.params, self.dt, integrator)).items()})
        self.reset_state()

    def reset_state(self) -> None:
        """Back to rest: v = v_rest, not refractory."""
        self.v = self.params.v_rest
        self.refractory_left = 0

    @property
    def threshold(self) -> float:
        """The firing threshold; constant here, adaptive in ``ALIF``."""
        return self.params.v_threshold

    def step(self, current: float) -> bool:
        """Advance one step of dt with ``current`` held constant over it; return whether the neuron spiked."""
        current = check_finite("current", current)
        if current.ndim != 0:
            raise ValueError(f"current must be a scalar for a single neuron; got shape {current.shape}")
        return self._step(float(current))

    def _step(self, current: float) -> bool:
        """The update, in this order: adaptation decays (ALIF); a refractory neuron stays held, without spiking;
        otherwise v moves towards v_inf, and passing the threshold means spike, reset, adaptation jump (ALIF)
        and the start of the refractory period. (The adaptation does not depend on v, so decaying it first
        or after the membrane update gives the same numbers.)"""
        c = self.constants
        self._decay_adaptation()
        if self.refractory_left > 0:                                  # absolute refractory period:
            self.refractory_left -= 1                                 # v held, no spike
            return False
        self.v = c.decay * self.v + c.rest_drive + c.input_gain * current
        threshold = self.threshold
        spiked = self.v > threshold
        if spiked:
            if self.params.reset == "zero":
                self.v = c.v_reset
            else:
                self.v = self.v - (threshold - c.v_reset)             # keeps the overshoot above threshold
            self._jump_adaptation()
            self.refractory_left = c.refractory_steps
        return spiked

    def _decay_adaptation(self) -> None:
        """Hook for ``ALIF``: the plain LIF has no adaptation."""

    def _jump_adaptation(self) -> None:
        """Hook for ``ALIF``: the plain LIF has no adaptation."""

    def simulate(self, currents) -> tuple[np.ndarray, np.ndarray]:
        """Run ``step`` over a (T,) array of currents, continuing from the present state.

        Returns ``v_trace`` (T,), the membrane potential after each step (after any reset), and ``spike_steps``,
        the int array of the indices of the steps in which the neuron spiked.
        """
        currents = check_finite("currents", currents)
        if currents.ndim != 1:
            raise ValueError(f"currents must be a 1-D array (T,); got shape {currents.shape}")
        v_trace = np.empty(currents.shape[0])
        spiked = np.zeros(currents.shape[0], dtype=bool)
        for t, current in enumerate(currents.tolist()):
            spiked[t] = self._step(current)
            v_trace[t] = self.v
        return v_trace, np.flatnonzero(spiked)


class ALIF(FirstOrderLIF):
    """LIF with an adaptive threshold: threshold = v_threshold + beta_adapt * a  (Bellec et al. 2018).

    The adaptation variable a decays with ``tau_adapt`` and jumps by 1 at every spike::

        tau_adapt da/dt = -a + tau_adapt * sum_f delta(t - t_f)

    so between spikes a(t) = sum over past spikes of exp(-(t - t_f) / tau_adapt): each spike raises the
    threshold by ``beta_adapt``, and the raise fades with ``tau_adapt``. Under a constant input the neuron
    therefore fires ever more slowly (spike-frequency adaptation). Exact discrete update, with
    rho = exp(-dt / tau_adapt) (``constants.adapt_decay``)::

        a <- rho * a            every step (refractory or not), before the threshold is computed
        a <- a + 1              after a spike (and its reset, which uses the threshold before the jump)

    The rest of the step is ``FirstOrderLIF.step``. With ``beta_adapt = 0`` it is exactly the plain LIF.

    Bellec et al. 2018 (LSNN, "Long short-term memory and learning-to-learn in networks of spiking neurons")
    write the normalised form a_B <- rho a_B + (1 - rho) z, threshold = v_threshold + beta_B a_B. It is the same
    model with a_B = (1 - rho) a and beta_B = beta_adapt / (1 - rho), so that beta_B a_B = beta_adapt a.
    (Their spike z enters a_B one step later without decaying first; ours is the exact sample of the ODE, the
    difference being a factor rho = 1 - O(dt / tau_adapt) on the jump.) Our a, unlike a_B, keeps its meaning
    when dt changes: a jump of 1 per spike, whatever dt.

    Extra keyword parameters: ``tau_adapt`` (ms, default 200) and ``beta_adapt`` (>= 0, default 0.2).
    Extra state: ``a`` (starts at 0); ``threshold`` is the current adaptive threshold.
    """

    params_class = ALIFParams

    def reset_state(self) -> None:
        """Back to rest: v = v_rest, a = 0, not refractory."""
        super().reset_state()
        self.a = 0.0

    @property
    def threshold(self) -> float:
        """The adaptive threshold v_threshold + beta_adapt * a."""
        return self.params.v_threshold + self.params.beta_adapt * self.a

    def _decay_adaptation(self) -> None:
        self.a = self.constants.adapt_decay * self.a

    def _jump_adaptation(self) -> None:
        self.a = self.a + 1.0


@dataclasses.dataclass(frozen=True, eq=False)
class ConductanceLIFParams:
    """Conductance-based LIF with an adaptive threshold (Diehl & Cook 2015); see ``ConductanceLIF``.

    Units: time in ms, voltages in mV (the model is not linear in v, so the reversal potentials fix the
    scale), conductances in units of the leak conductance (dimensionless).

    Attributes:
        tau_mem: membrane time constant (ms), > 0.
        v_rest, v_reset: resting and reset potentials (mV).
        v_threshold: threshold without adaptation (mV); the neuron fires when v > v_threshold + theta.
        e_exc, e_inh: reversal potentials of the excitatory and inhibitory conductances (mV).
        tau_ge, tau_gi: time constants of the excitatory and inhibitory conductances (ms), > 0.
        refractory: absolute refractory period (ms), >= 0.
        theta_init: the adaptive threshold theta at rest (``reset_state``), mV; v_threshold + theta_init > v_reset.
        theta_plus: increase of theta at each spike (mV), >= 0 (0: no adaptation).
        tau_theta: time constant of theta's decay (ms), > 0; inf: theta never decays.
    Defaults: Diehl & Cook's excitatory neuron, without adaptation.
    """

    tau_mem: float = 100.0
    v_rest: float = -65.0
    v_reset: float = -65.0
    v_threshold: float = -52.0
    e_exc: float = 0.0
    e_inh: float = -100.0
    tau_ge: float = 1.0
    tau_gi: float = 2.0
    refractory: float = 5.0
    theta_init: float = 0.0
    theta_plus: float = 0.0
    tau_theta: float = np.inf

    def __post_init__(self):
        for name in ("tau_mem", "tau_ge", "tau_gi"):
            check_positive(name, getattr(self, name), "ms")
        for name in ("v_rest", "v_reset", "v_threshold", "e_exc", "e_inh", "theta_init"):
            check_finite(name, getattr(self, name))
        for name, unit in (("refractory", "ms"), ("theta_plus", "mV")):
            if not check_finite(name, getattr(self, name)) >= 0:
                raise ValueError(f"{name} must be >= 0 {unit}; got {getattr(self, name)!r}")
        if not np.asarray(self.tau_theta, dtype=float) > 0:            # NaN fails too; inf is allowed
            raise ValueError(f"tau_theta must be > 0 ms (inf: theta never decays); got {self.tau_theta!r}")
        if not self.v_threshold + self.theta_init > self.v_reset:
            raise ValueError(f"v_threshold + theta_init must be > v_reset; got v_threshold={self.v_threshold!r}, "
                             f"theta_init={self.theta_init!r}, v_reset={self.v_reset!r}")


class ConductanceLIF:
    """Conductance-based leaky integrate-and-fire neuron with an adaptive threshold (Diehl & Cook 2015).

    Presynaptic spikes open channels instead of injecting a current: the excitatory conductance ge pulls v
    towards e_exc, the inhibitory gi towards e_inh, each in proportion to its distance from v::

        tau_mem dv/dt = (v_rest - v) + ge (e_exc - v) + gi (e_inh - v)                     (4)
        tau_ge dge/dt = -ge + tau_ge sum_f w_f delta(t - t_f)      (gi the same, with tau_gi)
        tau_theta dtheta/dt = -theta + tau_theta theta_plus sum_k delta(t - t_k)   (t_k: this neuron's spikes)

    v > v_threshold + theta is a spike: v <- v_reset, held there for ``refractory`` ms (the package's 'zero'
    reset), and theta rises by theta_plus (homeostasis: a neuron that fires a lot becomes harder to fire).
    With the conductances held constant, (4) is the LIF equation of a leakier neuron,
    tau_mem dv/dt = -g_tot (v - v_inf), with::

        g_tot = 1 + ge + gi,   v_inf = (v_rest + ge e_exc + gi e_inh) / g_tot                 (5)

    so v relaxes exponentially to v_inf with the time constant tau_mem / g_tot.

    Discrete update, one step of dt (``step(ge_input, gi_input)``), in this order:

        1. ge += ge_input, gi += gi_input         (the jumps of the presynaptic spikes arriving in this step)
        2. ge_bar = m_e ge, gi_bar = m_i gi,  m = (tau_g / dt) (1 - exp(-dt / tau_g))
           (the mean of g exp(-t / tau_g) over the step: a jump delivers exactly the charge of its decay)
        3. ge <- ge exp(-dt / tau_ge),  gi <- gi exp(-dt / tau_gi)                             (exact)
        4. refractory: one step fewer left, v held, no spike; otherwise the exact step of (5) with
           ge_bar, gi_bar held:  v <- v_inf + (v - v_inf) exp(-dt g_tot / tau_mem) = v_inf + (v - v_inf) d^g_tot,
           d = exp(-dt / tau_mem) (the conductances shorten the time constant to tau_mem / g_tot);
           and v > v_threshold + theta -> spike: v <- v_reset, refractory for round(refractory / dt) steps,
           theta += theta_plus
        5. theta <- theta exp(-dt / tau_theta)

    Keyword parameters: the ``ConductanceLIFParams`` fields, plus ``dt`` (ms, default 0.1). State: ``v`` (mV),
    ``ge``, ``gi``, ``refractory_left`` (steps) and ``theta`` (mV). Step constants: ``decay_mem`` (d above),
    ``decay_ge``, ``decay_gi``, ``decay_theta`` (exact decays), ``mean_ge``, ``mean_gi`` (m above) and
    ``refractory_steps``.
    ``spikingnn.diehl_cook`` builds its two layers from this unit.
    """

    def __init__(self, *, dt: float = 0.1, **params):
        self.params = p = _scalar_params(ConductanceLIFParams(**params))
        self.dt = float(check_positive("dt", dt, "ms"))
        self.decay_mem, self.decay_ge, self.decay_gi, self.decay_theta = (
            float(exact_decay(self.dt, tau)) for tau in (p.tau_mem, p.tau_ge, p.tau_gi, p.tau_theta))
        self.mean_ge = p.tau_ge / self.dt * (1.0 - self.decay_ge)
        self.mean_gi = p.tau_gi / self.dt * (1.0 - self.decay_gi)
        self.refractory_steps = int(step_count(p.refractory, self.dt))
        self.reset_state()

    def reset_state(self) -> None:
        """Back to rest: v = v_rest, no conductance, not refractory, theta = theta_init."""
        self.v, self.ge, self.gi = self.params.v_rest, 0.0, 0.0
        self.refractory_left = 0
        self.theta = self.params.theta_init

    def step(self, ge_input: float = 0.0, gi_input: float = 0.0) -> bool:
        """Advance one step of dt after the conductance jumps ``ge_input``, ``gi_input`` (>= 0) of the spikes
        arriving in it; return whether the neuron spiked."""
        p = self.params
        for name, value in (("ge_input", ge_input), ("gi_input", gi_input)):
            if not (isinstance(value, (int, float, np.number)) and 0.0 <= value < np.inf):  # cheap: runs every step
                raise ValueError(f"{name} must be a finite scalar >= 0 (a conductance jump); got {value!r}")
        self.ge += float(ge_input)
        self.gi += float(gi_input)
        ge_bar, gi_bar = self.ge * self.mean_ge, self.gi * self.mean_gi
        self.ge *= self.decay_ge
        self.gi *= self.decay_gi
        spiked = False
        if self.refractory_left > 0:                                  # absolute refractory period: v held
            self.refractory_left -= 1
        else:
            g_total = 1.0 + ge_bar + gi_bar
            v_inf = (p.v_rest + ge_bar * p.e_exc + gi_bar * p.e_inh) / g_total
            self.v = v_inf + (self.v - v_inf) * self.decay_mem**g_total
            spiked = self.v > p.v_threshold + self.theta
            if spiked:
                self.v = p.v_reset
                self.refractory_left = self.refractory_steps
                self.theta += p.theta_plus
        self.theta *= self.decay_theta
        return spiked
