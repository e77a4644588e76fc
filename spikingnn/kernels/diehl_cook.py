"""Fast path of the Diehl & Cook (2015) network, beside its plain-NumPy reference.

The model, its parameters and the order of one step are written out in ``spikingnn/diehl_cook.py``; this
module holds the two ways of running it. ``run_steps_kernel`` fuses a whole presentation into one compiled
loop: input spikes arrive as events (step -> inputs that fired), so each adds one weight row into ge and
depresses the entries of the E neurons that fired recently. The excitatory (E) layer is one pass without
branches over all neurons, which the compiler turns into vector (SIMD) code, with the membrane's exponential from
``kernels.fast_exp`` (the C library's exp would keep it scalar and cost more than the rest of the step). The
inhibitory (I) layer steps only the neurons that have a conductance or refractory time left: an I neuron is
driven by its E partner alone, so most are quiet (relaxing towards rest) at any time, and catch up in closed
form when their partner next fires. ``run_steps_reference`` does the same steps with NumPy arrays, every neuron
every step, one Python iteration per step. ``rest_kernel`` / ``rest_reference`` run the silent pause between
images: step by step while a conductance is left, then in closed form. ``events_kernel`` draws the input
spikes; ``events_reference`` is its plain version.

All the steps of a presentation (or of a rest) run in one loop of one compiled function (``_steps_kernel``):
the state is unpacked once, because a compiled call taking the state's 13 arrays counts references to each of
them on entry and exit with atomic instructions. In that loop the STDP traces and theta are stored divided by
their decay since the loop began, so a step decays them by updating four numbers; and an input spike depresses
only the weights of the E neurons whose x_post1 is not zero (a short list: traces below g_negligible are dropped).

Where the time goes (N = 400, one-pass parameters, one core; ``benchmarks/stdp_speed.py --profile``): the E
layer's exact membrane steps (~280,000 exponentials per image) are the largest part, then the input rows
(~4,500 input spikes, each adding a row of N weights to ge), the rest, the input events and the column
normalisation.

Per-neuron formulas shared by both paths (``membrane``, ``relax_closed_form``, ``can_fire``) are written once
with array operations, which Numba compiles too. The learning is ``spikingnn.kernels.stdp``'s: ``depress`` and
``potentiate`` in the reference, their one-weight forms ``depress_weight`` and ``potentiate_weight`` in the
kernel (additive, mu = 0; depression bounded below by w_min = 0, potentiation above by w_max).
"""
from __future__ import annotations

from typing import NamedTuple

import numba
import numpy as np

from .fast_exp import exp
from .stdp import depress, depress_weight, potentiate, potentiate_weight


class Constants(NamedTuple):
    """Per-step numbers derived from ``DiehlCookParams`` (decays are exact, ``discretisation.exact_decay``)."""

    decay_mem_e: float
    log_decay_mem_e: float
    v_rest_e: float
    v_reset_e: float
    v_threshold_e: float
    refractory_steps_e: int
    decay_mem_i: float
    log_decay_mem_i: float
    v_rest_i: float
    v_reset_i: float
    v_threshold_i: float
    refractory_steps_i: int
    e_exc: float
    e_inh_e: float
    e_inh_i: float
    decay_ge: float
    decay_gi: float
    mean_ge: float
    mean_gi: float
    w_ei: float
    w_ie: float
    decay_pre: float
    decay_post1: float
    decay_post2: float
    nu_pre: float
    nu_post: float
    w_min: float
    w_max: float
    decay_theta: float
    theta_plus: float
    g_negligible: float


class State(NamedTuple):
    """Everything that evolves: weights w (n_input, n) and theta, membranes, conductances, refractory
    counters (steps left) of the E and I layers (n each), and the STDP traces x_pre (n_input,), x_post1/2 (n,)."""

    w: np.ndarray
    theta: np.ndarray
    v_e: np.ndarray
    ge_e: np.ndarray
    gi_e: np.ndarray
    refractory_e: np.ndarray
    v_i: np.ndarray
    ge_i: np.ndarray
    gi_i: np.ndarray
    refractory_i: np.ndarray
    x_pre: np.ndarray
    x_post1: np.ndarray
    x_post2: np.ndarray


def membrane(v, ge, gi, v_rest, e_inh, log_decay_mem, c):
    """Exact step of tau_mem dv/dt = (v_rest - v) + ge (e_exc - v) + gi (e_inh - v) with each conductance held
    at its mean over the step (``g * mean_ge``, ``g * mean_gi``), so each input spike delivers its exact charge:
    v <- v_inf + (v - v_inf) decay_mem^g_total (``ConductanceLIF.step``)."""
    ge, gi = ge * c.mean_ge, gi * c.mean_gi
    g_total = 1.0 + ge + gi
    v_inf = (v_rest + ge * c.e_exc + gi * e_inh) / g_total
    # decay_mem^g_total as exp(g_total ln decay_mem): one exp per neuron and step, half the cost of a power
    return v_inf + (v - v_inf) * exp(g_total * log_decay_mem)


def can_fire(s, c, n_steps, learn):
    """Could a neuron reach threshold in ``n_steps`` silent steps with no conductance? v relaxes monotonically
    from its value towards v_rest, and the E threshold v_threshold_e + theta only moves as theta decays."""
    theta_end = s.theta * (c.decay_theta ** n_steps if learn else 1.0)
    lowest_threshold_e = c.v_threshold_e + np.minimum(s.theta, theta_end)
    return bool(np.any(np.maximum(s.v_e, c.v_rest_e) > lowest_threshold_e)
                or np.any(np.maximum(s.v_i, c.v_rest_i) > c.v_threshold_i))


def relax_closed_form(s, c, n_steps, learn):
    """``n_steps`` silent steps at once, when the conductances have vanished and ``can_fire`` is False.

    A refractory neuron is held for its remaining r steps, then relaxes freely:
    v <- v_rest + (v - v_rest) decay_mem^(n_steps - r). Traces and theta decay by decay^n_steps (when learning).
    """
    if n_steps == 0:
        return
    free_e = n_steps - np.minimum(s.refractory_e, n_steps)
    free_i = n_steps - np.minimum(s.refractory_i, n_steps)
    s.v_e[:] = c.v_rest_e + (s.v_e - c.v_rest_e) * c.decay_mem_e ** free_e
    s.v_i[:] = c.v_rest_i + (s.v_i - c.v_rest_i) * c.decay_mem_i ** free_i
    s.refractory_e[:] = s.refractory_e - (n_steps - free_e)
    s.refractory_i[:] = s.refractory_i - (n_steps - free_i)
    for g in (s.ge_e, s.gi_e, s.ge_i, s.gi_i):
        g[:] = 0.0
    if learn:
        for trace, decay in ((s.x_pre, c.decay_pre), (s.x_post1, c.decay_post1), (s.x_post2, c.decay_post2)):
            trace[:] = trace * decay ** n_steps
            trace[trace < c.g_negligible] = 0.0
        s.theta[:] = s.theta * c.decay_theta ** n_steps


def _largest_conductance(s):
    return max(s.ge_e.max(), s.gi_e.max(), s.ge_i.max(), s.gi_i.max())


# --------------------------------------------------------------------------------------------- reference


def events_reference(p, n_steps, rng):
    """Independent Bernoulli spike trains, p[i] per step for input i, as events ``(event_ptr, event_inputs)``:
    the inputs firing in step t are ``event_inputs[event_ptr[t]:event_ptr[t + 1]]``, ascending.

    Each train is drawn as geometric gaps between spikes (the gap of a Bernoulli train is geometric), input by
    input in ascending order, one draw per spike plus the draw that passes the end; so the cost grows with the
    number of spikes, not of steps, and ``events_kernel`` can draw the very same numbers from the same Generator.
    """
    times, inputs = [], []
    for i in np.flatnonzero(p > 0):
        t = rng.geometric(p[i]) - 1
        while t < n_steps:
            times.append(t)
            inputs.append(i)
            t += rng.geometric(p[i])
    times, inputs = np.array(times, dtype=np.int64), np.array(inputs, dtype=np.int64)
    event_ptr = np.zeros(n_steps + 1, dtype=np.int64)
    np.cumsum(np.bincount(times, minlength=n_steps), out=event_ptr[1:])
    return event_ptr, inputs[np.argsort(times, kind="stable")]


def _step_reference(s, c, inputs, learn, counts):
    """One step with NumPy arrays; ``inputs``: indices of the input neurons that fire in this step."""
    for i in inputs:                                   # 1. input spikes, one weight row each
        s.ge_e[:] += s.w[i]
    if learn:
        s.x_pre[inputs] = 1.0
        depress(s.w, inputs, s.x_post1, c.nu_pre, c.w_min, 0.0)
    fired = _layer_step_reference(s.v_e, s.ge_e, s.gi_e, s.refractory_e, c.v_rest_e, c.v_reset_e, c.e_inh_e,
                                  c.log_decay_mem_e, c.v_threshold_e + s.theta, c.refractory_steps_e, c)
    counts += fired                                    # 2. E spikes: STDP, homeostasis, drive to I
    s.ge_i[fired] += c.w_ei
    if learn:
        s.theta[fired] += c.theta_plus
        potentiate(s.w, fired, s.x_pre, s.x_post2[fired], c.nu_post, c.w_max, 0.0)
        s.x_post1[fired] = 1.0
        s.x_post2[fired] = 1.0
    fired_i = _layer_step_reference(s.v_i, s.ge_i, s.gi_i, s.refractory_i, c.v_rest_i, c.v_reset_i, c.e_inh_i,
                                    c.log_decay_mem_i, c.v_threshold_i, c.refractory_steps_i, c)
    n_fired_i = np.count_nonzero(fired_i)              # 3. each I spike inhibits every other E neuron
    if n_fired_i:
        s.gi_e[:] += c.w_ie * (n_fired_i - fired_i)
    if learn:                                          # 4. traces decay to the end of the step
        for trace, decay in ((s.x_pre, c.decay_pre), (s.x_post1, c.decay_post1), (s.x_post2, c.decay_post2)):
            trace *= decay
            trace[trace < c.g_negligible] = 0.0        # negligible traces are dropped
        s.theta[:] *= c.decay_theta


def _layer_step_reference(v, ge, gi, refractory, v_rest, v_reset, e_inh, log_decay_mem, threshold, refractory_steps,
                          c):
    """Membrane update of one layer in place (refractory neurons held), then its conductances decay; a neuron
    fires when v > threshold. Returns who fired."""
    held = refractory > 0
    refractory[held] -= 1
    v[:] = np.where(held, v, membrane(v, ge, gi, v_rest, e_inh, log_decay_mem, c))
    for g, decay in ((ge, c.decay_ge), (gi, c.decay_gi)):
        g *= decay
        g[g < c.g_negligible] = 0.0                    # negligible conductances are dropped
    fired = ~held & (v > threshold)
    v[fired] = v_reset
    refractory[fired] = refractory_steps
    return fired


def run_steps_reference(s, c, event_ptr, event_inputs, learn, counts):
    """Simulate ``len(event_ptr) - 1`` steps; step t's input spikes are event_inputs[event_ptr[t]:event_ptr[t+1]].
    Adds each E neuron's spikes to ``counts``."""
    for t in range(len(event_ptr) - 1):
        _step_reference(s, c, event_inputs[event_ptr[t]:event_ptr[t + 1]], learn, counts)


def rest_reference(s, c, n_steps, learn):
    """``n_steps`` steps without input: stepped while a conductance is >= g_negligible or a neuron could still
    fire, then ``relax_closed_form``. Returns how many steps were stepped."""
    counts, no_input = np.zeros(s.v_e.shape[0], dtype=np.int64), np.zeros(0, dtype=np.int64)
    stepped = 0
    while stepped < n_steps and (_largest_conductance(s) >= c.g_negligible or can_fire(s, c, n_steps - stepped, learn)):
        _step_reference(s, c, no_input, learn, counts)
        stepped += 1
    relax_closed_form(s, c, n_steps - stepped, learn)
    return stepped


# --------------------------------------------------------------------------------------------- kernels


@numba.njit(cache=True, inline="always")
def _geometric(rng, p, log1p_minus_p):
    """``rng.geometric(p)``, the same draw, given log1p(-p) computed once per train: for p < 1/3 NumPy inverts
    the distribution, ceil(-E / log1p(-p)) with E a standard exponential."""
    if p >= 1.0 / 3.0:
        return rng.geometric(p)
    return np.int64(np.ceil(-rng.standard_exponential() / log1p_minus_p))


@numba.njit(cache=True)
def events_kernel(p, n_steps, rng):
    """Fast path of ``events_reference``: the same draws from the same Generator, the same events. The trains
    are drawn into (time, input) pairs, then placed by a counting sort over the steps (stable: ascending inputs
    within a step)."""
    expected = p.sum() * n_steps                      # room for the expected count and 5 standard deviations
    times = np.empty(int(expected + 5.0 * np.sqrt(expected)) + 64, dtype=np.int64)
    inputs = np.empty_like(times)
    n_events = 0
    for i in range(p.shape[0]):
        if p[i] <= 0.0:
            continue
        log1p_minus_p = np.log1p(-p[i])
        t = _geometric(rng, p[i], log1p_minus_p) - 1
        while t < n_steps:
            if n_events == times.shape[0]:           # grow by doubling
                times, inputs = np.concatenate((times, times)), np.concatenate((inputs, inputs))
            times[n_events], inputs[n_events] = t, i
            n_events += 1
            t += _geometric(rng, p[i], log1p_minus_p)
    event_ptr = np.zeros(n_steps + 1, dtype=np.int64)
    for e in range(n_events):
        event_ptr[times[e] + 1] += 1
    for t in range(n_steps):
        event_ptr[t + 1] += event_ptr[t]
    event_inputs = np.empty(n_events, dtype=np.int64)
    slot = event_ptr[:-1].copy()
    for e in range(n_events):
        event_inputs[slot[times[e]]] = inputs[e]
        slot[times[e]] += 1
    return event_ptr, event_inputs


_membrane = numba.njit(cache=True, error_model="numpy")(membrane)
_can_fire = numba.njit(cache=True)(can_fire)
_relax_closed_form = numba.njit(cache=True)(relax_closed_form)


@numba.njit(cache=True, inline="always")
def _conducting_kernel(s, c):
    """Fast path of ``_largest_conductance(s) >= c.g_negligible``: stops at the first conductance found."""
    for g in (s.ge_e, s.gi_e, s.ge_i, s.gi_i):
        for k in range(g.shape[0]):
            if g[k] >= c.g_negligible:
                return True
    return False


@numba.njit(cache=True, inline="always")
def _unless_negligible(x, negligible):
    """x, or 0 below ``negligible`` (the reference's dropping of negligible conductances and traces, one value)."""
    return x if x >= negligible else 0.0


@numba.njit(cache=True, error_model="numpy", inline="always")
def _neuron_kernel(v, ge, gi, refractory, k, v_rest, v_reset, e_inh, log_decay_mem, threshold, refractory_steps, c):
    """Neuron k of ``_layer_step_reference``, written without branches (selects instead, so that a loop over a
    layer runs several neurons at a time; ``_membrane``'s exponential is ``fast_exp`` here). Returns whether it
    fired."""
    v_old, steps_left = v[k], refractory[k]
    v_free = _membrane(v_old, ge[k], gi[k], v_rest, e_inh, log_decay_mem, c)
    ge_next, gi_next = ge[k] * c.decay_ge, gi[k] * c.decay_gi
    ge[k] = _unless_negligible(ge_next, c.g_negligible)
    gi[k] = _unless_negligible(gi_next, c.g_negligible)
    spike = (steps_left <= 0) & (v_free > threshold)
    v[k] = v_reset if spike else (v_free if steps_left <= 0 else v_old)
    refractory[k] = refractory_steps if spike else max(steps_left - 1, 0)
    return spike


class _Quiet(NamedTuple):
    """Book-keeping of the I neurons that are not stepped (see ``_inhibitory_kernel``): ``since[k]`` is the step
    from which neuron k has relaxed freely (-1: it is stepped), ``stepped[:count[0]]`` the neurons that are."""

    since: np.ndarray
    stepped: np.ndarray
    count: np.ndarray


@numba.njit(cache=True)
def _all_stepped(n):
    return _Quiet(np.full(n, -1, dtype=np.int64), np.arange(n), np.full(1, n, dtype=np.int64))


@numba.njit(cache=True, inline="always")
def _catch_up(s, c, quiet, k, t):
    """Bring quiet I neuron k to step t: with no conductance and no refractory time left, each step only relaxes
    v towards v_rest, so the steps it missed are one power: v <- v_rest + (v - v_rest) decay_mem^(t - since)."""
    s.v_i[k] = c.v_rest_i + (s.v_i[k] - c.v_rest_i) * c.decay_mem_i ** (t - quiet.since[k])
    quiet.since[k] = t


@numba.njit(cache=True, inline="always")
def _wake(s, c, quiet, k, t):
    """Neuron k receives input in step t: catch it up and step it again from now on."""
    if quiet.since[k] >= 0:
        _catch_up(s, c, quiet, k, t)
        quiet.since[k] = -1
        quiet.stepped[quiet.count[0]] = k
        quiet.count[0] += 1


@numba.njit(cache=True)
def _catch_up_all(s, c, quiet, t):
    """Every quiet I neuron brought to step t (the state is whole again)."""
    for k in range(quiet.since.shape[0]):
        if quiet.since[k] >= 0:
            _catch_up(s, c, quiet, k, t)


@numba.njit(cache=True, error_model="numpy", inline="always")
def _inhibitory_kernel(s, c, quiet, t, fired_i):
    """The I layer of step t. An I neuron is driven only by its E partner, so most of them are quiet most of the
    time: no conductance (below g_negligible it is dropped), no refractory time left. Only the others are
    stepped; a quiet one (its v relaxes towards v_rest, below threshold) waits for its partner's next spike
    (``_wake``) or the end of the run (``_catch_up_all``).
    Fills ``fired_i``; returns how many fired."""
    n_fired, kept = 0, 0
    for a in range(quiet.count[0]):
        k = quiet.stepped[a]
        spike = _neuron_kernel(s.v_i, s.ge_i, s.gi_i, s.refractory_i, k, c.v_rest_i, c.v_reset_i, c.e_inh_i,
                               c.log_decay_mem_i, c.v_threshold_i, c.refractory_steps_i, c)
        fired_i[k] = spike
        n_fired += spike
        if s.ge_i[k] == 0.0 and s.gi_i[k] == 0.0 and s.refractory_i[k] == 0 and c.v_rest_i <= c.v_threshold_i:
            quiet.since[k] = t + 1
        else:
            quiet.stepped[kept] = k
            kept += 1
    quiet.count[0] = kept
    return n_fired


class _Depressing(NamedTuple):
    """The E neurons whose x_post1 may be above zero, ``index[:count[0]]``, so that an input spike depresses only
    those entries of its weight row: with x_post1 = 0 depression leaves a weight unchanged (w - 0 is w, and
    w >= w_min), so skipping them is exact. A trace is set to 1 by a spike and decays until it drops below
    g_negligible (then it is 0, in the reference too), so only neurons that fired in the last few hundred ms are
    here; the list gets a neuron when it fires and loses it once its trace is 0 (``_forget_silent``)."""

    index: np.ndarray
    count: np.ndarray


@numba.njit(cache=True)
def _depressing(x_post1):
    """``_Depressing`` for the traces as they are."""
    index = np.empty(x_post1.shape[0], dtype=np.int64)
    count = 0
    for j in range(x_post1.shape[0]):
        if x_post1[j] != 0.0:
            index[count] = j
            count += 1
    return _Depressing(index, np.full(1, count))


@numba.njit(cache=True, inline="always")
def _forget_silent(depressing, x_post1, scale, negligible):
    """Drop from the list (and set to 0) the neurons whose x_post1, stored divided by ``scale``, is negligible."""
    kept = 0
    for position in range(depressing.count[0]):
        j = depressing.index[position]
        if x_post1[j] * scale >= negligible:
            depressing.index[kept] = j
            kept += 1
        else:
            x_post1[j] = 0.0
    depressing.count[0] = kept


@numba.njit(cache=True, inline="always")
def _scale_trace(trace, scale, negligible):
    """trace <- trace scale, values below ``negligible`` dropped (a pass without branches)."""
    for k in range(trace.shape[0]):
        trace[k] = _unless_negligible(trace[k] * scale, negligible)


@numba.njit(cache=True, error_model="numpy")
def _steps_kernel(s, c, event_ptr, event_inputs, learn, counts, n_steps, until_quiet):
    """Fast path of ``_step_reference``, ``n_steps`` times: step t's input events are
    event_inputs[event_ptr[t]:event_ptr[t + 1]]. With ``until_quiet`` (the rest) it stops before a step once no
    conductance is left and no neuron could fire, as ``rest_reference`` does. Returns the number of steps taken.

    The steps run in one loop of one function, the state unpacked once: a compiled call that takes the state's
    arrays counts references to each on entry and exit (atomic operations), which cost a fifth of a step.

    The STDP traces and theta only decay between spikes, all by the same factor per step, so while the loop runs
    they are stored divided by their decay since it began (``scale_*``, one number each): a step multiplies four
    numbers instead of ~2,000 values (N = 400), a spike stores 1 / scale, and a read multiplies by the scale (dropping
    negligible values as the reference does). They are written back as plain values at the end.
    """
    w, theta, v_e, ge_e, gi_e, refractory_e, v_i, ge_i, gi_i, refractory_i, x_pre, x_post1, x_post2 = s
    n_input, n = w.shape
    negligible = c.g_negligible
    fired_e, fired_i, quiet = np.zeros(n, dtype=np.bool_), np.zeros(n, dtype=np.bool_), _all_stepped(n)
    depressing = _depressing(x_post1)
    scale_pre = scale_post1 = scale_post2 = scale_theta = 1.0
    t = 0
    while t < n_steps:
        if until_quiet and not _conducting_kernel(s, c):
            theta *= scale_theta                            # _can_fire reads theta
            scale_theta = 1.0
            if not _can_fire(s, c, n_steps - t, learn):
                break
        for e in range(event_ptr[t], event_ptr[t + 1]):    # 1. input spikes: each weight row into ge, then its
            i = event_inputs[e]                             #    depression where x_post1 > 0
            for j in range(n):
                ge_e[j] += w[i, j]
            if learn:
                for position in range(depressing.count[0]):
                    j = depressing.index[position]
                    w[i, j] = depress_weight(w[i, j], x_post1[j] * scale_post1, c.nu_pre, c.w_min, 0.0)
                x_pre[i] = 1.0 / scale_pre
        any_fired = False                                   # 2. E layer, all neurons
        for j in range(n):
            fired_e[j] = _neuron_kernel(v_e, ge_e, gi_e, refractory_e, j, c.v_rest_e, c.v_reset_e, c.e_inh_e,
                                        c.log_decay_mem_e, c.v_threshold_e + theta[j] * scale_theta,
                                        c.refractory_steps_e, c)
            any_fired |= fired_e[j]
        if any_fired:
            for j in range(n):                              # E spikes: STDP, homeostasis, drive to I
                if fired_e[j]:
                    counts[j] += 1
                    _wake(s, c, quiet, j, t)
                    ge_i[j] += c.w_ei
                    if learn:
                        theta[j] += c.theta_plus / scale_theta
                        # every row, not only the traced ones: potentiation also caps weights above w_max
                        post = _unless_negligible(x_post2[j] * scale_post2, negligible)
                        for i in range(n_input):
                            w[i, j] = potentiate_weight(w[i, j], _unless_negligible(x_pre[i] * scale_pre, negligible),
                                                        post, c.nu_post, c.w_max, 0.0)
                        if x_post1[j] == 0.0:
                            depressing.index[depressing.count[0]] = j
                            depressing.count[0] += 1
                        x_post1[j] = 1.0 / scale_post1
                        x_post2[j] = 1.0 / scale_post2
        n_fired_i = _inhibitory_kernel(s, c, quiet, t, fired_i)
        if n_fired_i:                                       # 3. each I spike inhibits every other E neuron
            for m in range(n):
                gi_e[m] += c.w_ie * (n_fired_i - fired_i[m])
        if learn:                                           # 4. traces decay to the end of the step
            scale_pre *= c.decay_pre
            scale_post1 *= c.decay_post1
            scale_post2 *= c.decay_post2
            scale_theta *= c.decay_theta
            _forget_silent(depressing, x_post1, scale_post1, negligible)
            if min(scale_pre, scale_post1, scale_post2) < 1e-200:     # long runs: 1 / scale stays finite
                for trace, scale in ((x_pre, scale_pre), (x_post1, scale_post1), (x_post2, scale_post2)):
                    _scale_trace(trace, scale, negligible)
                scale_pre = scale_post1 = scale_post2 = 1.0
        t += 1
    for trace, scale in ((x_pre, scale_pre), (x_post1, scale_post1), (x_post2, scale_post2)):
        _scale_trace(trace, scale, negligible)
    theta *= scale_theta
    _catch_up_all(s, c, quiet, t)
    return t


@numba.njit(cache=True)
def run_steps_kernel(s, c, event_ptr, event_inputs, learn, counts):
    """Fast path of ``run_steps_reference``: same arguments, same result."""
    _steps_kernel(s, c, event_ptr, event_inputs, learn, counts, event_ptr.shape[0] - 1, False)


@numba.njit(cache=True)
def rest_kernel(s, c, n_steps, learn):
    """Fast path of ``rest_reference``: same arguments, same result."""
    counts = np.zeros(s.v_e.shape[0], dtype=np.int64)
    no_events_ptr, no_events = np.zeros(n_steps + 1, dtype=np.int64), np.zeros(0, dtype=np.int64)
    stepped = _steps_kernel(s, c, no_events_ptr, no_events, learn, counts, n_steps, True)
    _relax_closed_form(s, c, n_steps - stepped, learn)
    return stepped
