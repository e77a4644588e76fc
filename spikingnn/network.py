"""Networks: groups, synapses, input sources and monitors advanced together, in one documented order.

The neuron here: the LIF / ALIF of neurons.py, in its groups.

One step t of dt ms, in this order (every backend, every chunk size):

  1. Poisson sources draw their spikes of step t.
  2. Each group, in the order added: its input current is, summed in this order, its constant currents, its
     time-varying currents at t, and the i_syn of each synapse group onto it (in the order added); the group
     steps (v, threshold, spikes, resets; ``kernels.population``).
  3. Each synapse group steps (``SynapseGroup.step``): i_syn decays, then receives the jumps of the spikes
     arriving now, those its presynaptic population emitted in step t (delay 0) or in step t - d (delay d
     steps; ``kernels.propagation``). This i_syn is the input of the postsynaptic group in step t + 1.
  4. Plastic synapse groups learn: ``learning_rule.update(weights, pre spikes of t, post spikes of t)``.
  5. Monitors record the spikes of step t and the state after it.

So a spike in step t moves the membranes it reaches from step t + 1 + d on. The first step is t = 0 at
time 0; ``run`` continues from where the last run stopped.

How it runs. ``Network`` gathers the arrays of all its objects into a few contiguous pools once (each object
keeps views into them, so ``group.v`` and ``synapses.weights`` stay live), and ``run`` hands many steps at a
time to ``kernels.simulation.run_network_kernel``: a second of model time (10,000 steps) is a dozen calls,
not 10,000 of them. Only plastic synapses force one call per step, since their learning rules are Python.
Memory grows with neurons and synapses, not with the simulated time (monitors aside).

    >>> from spikingnn.groups import LIFGroup, SynapseGroup
    >>> from spikingnn.sources import PoissonSource
    >>> from spikingnn.monitors import SpikeMonitor
    >>> inputs, group = PoissonSource(100, rate_hz=20.0, rng=0), LIFGroup(10, tau_mem=10.0)
    >>> synapses = SynapseGroup.random(inputs, group, p=0.5, weight=0.5, rng=1)
    >>> monitor = SpikeMonitor(group)
    >>> net = Network(inputs, group, synapses, monitor)
    >>> net.run(100.0)
    >>> net.t, int(monitor.count.sum())
    (100.0, 163)
"""
from __future__ import annotations

import contextlib

import numpy as np

from ._validation import check_choice, check_non_negative
from .groups import BACKENDS, LIFGroup, Subgroup, SynapseGroup
from .kernels.population import PopulationParams, PopulationState
from .kernels.simulation import (
    STATE_VARIABLES,
    ChunkInputs,
    NeuronPool,
    SpikeRecord,
    StateRecord,
    SynapsePool,
    run_network_kernel,
    run_network_reference,
)
from .monitors import SpikeMonitor, StateMonitor
from .sources import ConstantCurrent, PoissonSource, TimeVaryingCurrent

CHUNK_STEPS = 1000
"""Steps per kernel call (fewer when the inputs or recordings of a chunk would need more than ~8 MB)."""
SPIKE_BUFFER = 2**16
"""Initial capacity of the buffers of recorded spikes (at least one step's worth; doubled when full)."""


def _pool(arrays, dtype):
    """Concatenate ``arrays`` into one flat array; return it, the offsets of each part, and a view of it per
    input, with the input's shape and values."""
    offsets = np.concatenate([[0], np.cumsum([np.size(a) for a in arrays], dtype=np.int64)]).astype(np.int64)
    pool = np.concatenate([np.ravel(a) for a in arrays], dtype=dtype) if arrays else np.zeros(0, dtype)
    views = [pool[lo:hi].reshape(np.shape(a)) for a, lo, hi in zip(arrays, offsets[:-1], offsets[1:])]
    return pool, offsets, views


def _progress_bar(total_ms: float):
    """A tqdm bar counting simulated ms. (tqdm is imported only when a bar is asked for: importing it takes about
    as long as loading the compiled simulation kernel, and a fresh process should reach its first step fast.)"""
    from tqdm.auto import tqdm
    return tqdm(total=total_ms, unit="ms")


def _ends(obj) -> tuple:
    """The groups or sources an object refers to (the group of a subgroup)."""
    if isinstance(obj, SynapseGroup):
        ends = obj.pre, obj.post
    elif isinstance(obj, (ConstantCurrent, TimeVaryingCurrent)):
        ends = (obj.target,)
    else:
        ends = (obj.source,) if isinstance(obj, SpikeMonitor) else (obj.group,)
    return tuple(end.group if isinstance(end, Subgroup) else end for end in ends)


class Network:
    """Groups, synapse groups, sources, injected currents and monitors, run together (module docstring).

    ``Network(*objects, backend=None)``; ``add(*objects)``; ``run(duration_ms, progress=False)``; ``t`` (ms) and
    ``step_count``. ``backend``: 'numba' or 'numpy' (the plain-NumPy reference path, same results); None takes
    'numpy' if any group or synapse group was built with backend='numpy', else 'numba'.
    An object belongs to one network at most. All groups share one dt.
    """

    def __init__(self, *objects, backend: str | None = None):
        self.backend = None if backend is None else check_choice("backend", backend, BACKENDS)
        self.groups, self.sources, self.synapses, self.currents, self.monitors = [], [], [], [], []
        self.step_count = 0
        self._pools = None
        self.add(*objects)

    def add(self, *objects) -> None:
        """Add groups, sources, synapse groups, currents and monitors (the order of groups and synapse groups is
        their update order)."""
        kinds = ((LIFGroup, self.groups), (PoissonSource, self.sources), (SynapseGroup, self.synapses),
                 ((ConstantCurrent, TimeVaryingCurrent), self.currents), ((SpikeMonitor, StateMonitor), self.monitors))
        for obj in objects:
            members = next((members for kind, members in kinds if isinstance(obj, kind)), None)
            if members is None:
                raise ValueError(f"objects must be groups, sources, synapse groups, currents or monitors; "
                                 f"got {type(obj).__name__}")
            if getattr(obj, "_network", None) is not None:
                raise ValueError(f"this {type(obj).__name__} already belongs to a Network")
            obj._network = self
            members.append(obj)
        self._pools = None                     # gathered again at the next run

    @property
    def dt(self) -> float:
        """The time step (ms) of the groups."""
        if not self.groups:
            raise ValueError("a Network needs at least one group")
        return self.groups[0].dt

    @property
    def t(self) -> float:
        """Time simulated so far (ms)."""
        return self.step_count * self.dt

    def run(self, duration: float, progress: bool = False) -> None:
        """Advance round(duration / dt) steps; ``progress`` shows a tqdm bar in simulated ms."""
        n_steps = int(round(float(check_non_negative("duration", duration, "ms")) / self.dt))
        if self._pools is None:
            self.build()
        else:                                  # the weights may have changed since the last run
            neurons, synapses, spikes, states = self._pools
            self._pools = (neurons, synapses._replace(uniform=self._uniform_weights()), spikes, states)
        plastic = [s for s in self.synapses if s.learning_rule is not None]
        chunk = self._chunk_steps()
        with _progress_bar(round(n_steps * self.dt, 6)) if progress else contextlib.nullcontext() as bar:
            for first in range(0, n_steps, chunk):
                steps = min(chunk, n_steps - first)
                inputs = self._chunk_inputs(steps)
                if plastic:                    # learning rules are Python: one step per call, then learn
                    for t in range(steps):
                        self._run_steps(inputs._replace(source_ptr=inputs.source_ptr[t:t + 2],
                                                        i_var=inputs.i_var[t:t + 1]), 1)
                        for synapses in plastic:
                            synapses.learn(synapses.pre.spikes, synapses.post.spikes)
                else:
                    self._run_steps(inputs, steps)
                if progress:
                    bar.update(round(steps * self.dt, 6))

    def build(self) -> None:
        """Gather the arrays of all objects into the pools the kernels run on (see the module docstring).

        ``run`` does this by itself when objects were added since; calling it first moves the copying (tens of
        ms for millions of synapses) out of the first run, e.g. to time the simulation alone.
        """
        self._pools = self._build()

    def _resolved_backend(self) -> str:
        if self.backend is not None:
            return self.backend
        numpy_objects = [o for o in self.groups + self.synapses if o.backend == "numpy"]
        return "numpy" if numpy_objects else "numba"

    def _chunk_steps(self) -> int:
        columns = sum(s.n for s in self.sources) + self._var_columns()[1] + len(self._pools[3].variable)
        return max(1, min(CHUNK_STEPS, 2**20 // max(columns, 1)))

    def _run_steps(self, inputs: ChunkInputs, n_steps: int) -> None:
        """Run n_steps steps with ``inputs``: call the runner until done, hand the records to the monitors."""
        runner = run_network_kernel if self._resolved_backend() == "numba" else run_network_reference
        neurons, synapses, spikes, states = self._pools
        states = states._replace(out=np.zeros((n_steps, len(states.variable))))
        first, done = self.step_count, 0
        while done < n_steps:
            steps, recorded = runner(self.step_count, n_steps - done, neurons, synapses,
                                     inputs._replace(source_ptr=inputs.source_ptr[done:], i_var=inputs.i_var[done:]),
                                     spikes, states._replace(out=states.out[done:]))
            self.step_count += steps
            done += steps
            self._hand_over_spikes(spikes.step[:recorded], spikes.index[:recorded])
            if done < n_steps:                 # the spike buffers were full: make them larger
                spikes = spikes._replace(step=np.zeros(2 * len(spikes.step), np.int64),
                                         index=np.zeros(2 * len(spikes.step), np.int64))
                self._pools = (neurons, synapses, spikes, self._pools[3])
        column = 0
        for monitor in self.monitors:
            if isinstance(monitor, StateMonitor):
                width = len(monitor.variables) * len(monitor.indices)
                monitor._record(first, states.out[:, column:column + width], self.dt)
                column += width

    def _emitter_range(self, obj) -> tuple:
        """The emitter indices lo:hi of a group, subgroup or source (neurons first, then sources)."""
        if isinstance(obj, Subgroup):
            lo = self._emitters[id(obj.group)][0]
            return lo + obj.start, lo + obj.stop
        return self._emitters[id(obj)]

    def _hand_over_spikes(self, steps: np.ndarray, emitters: np.ndarray) -> None:
        for monitor in self.monitors:
            if isinstance(monitor, SpikeMonitor):
                lo, hi = self._emitter_range(monitor.source)
                mine = (emitters >= lo) & (emitters < hi)
                monitor._record(steps[mine], emitters[mine] - lo, self.dt, self.step_count)

    def _var_columns(self):
        """Column of each group's time-varying current in ChunkInputs.i_var (-1: none), and the total."""
        columns, total = np.full(len(self.groups), -1, dtype=np.int64), 0
        for g, group in enumerate(self.groups):
            if any(isinstance(c, TimeVaryingCurrent) and c.target is group for c in self.currents):
                columns[g], total = total, total + group.n
        return columns, total

    def _chunk_inputs(self, n_steps: int) -> ChunkInputs:
        """The Poisson spikes and time-varying currents of the next n_steps steps."""
        dt, n_neurons = self.dt, self._pools[0].scratch.shape[0]
        draws = [source.draw(n_steps, dt) for source in self.sources]
        steps, index = np.nonzero(np.hstack(draws)) if draws else (np.zeros(0, np.int64), np.zeros(0, np.int64))
        source_ptr = np.zeros(n_steps + 1, dtype=np.int64)
        np.cumsum(np.bincount(steps, minlength=n_steps), out=source_ptr[1:])
        blocks = []
        for g, column in enumerate(self._var_columns()[0]):
            if column >= 0:
                varying = [c for c in self.currents if isinstance(c, TimeVaryingCurrent) and c.target is self.groups[g]]
                blocks.append(sum(c.currents(self.step_count, n_steps, dt) for c in varying))
        i_var = np.hstack(blocks) if blocks else np.zeros((n_steps, 0))
        return ChunkInputs(source_ptr, (n_neurons + index).astype(np.int64), np.ascontiguousarray(i_var, dtype=float))

    def _build(self):
        """Check the objects fit together, gather their arrays into pools, give each object views of them."""
        dt = self.dt
        if any(group.dt != dt for group in self.groups):
            raise ValueError(f"all groups of a Network must have the same dt; got {[g.dt for g in self.groups]}")
        members = {id(o) for o in self.groups + self.sources}
        for obj in self.synapses + self.currents + self.monitors:
            if any(id(end) not in members for end in _ends(obj)):
                raise ValueError(f"a {type(obj).__name__} refers to a group or source that is not in the Network")
        neurons, emitted = self._neuron_pool()
        return neurons, self._synapse_pool(), self._spike_record(emitted), self._state_record()

    def _neuron_pool(self):
        """NeuronPool of all groups, and the emitted-spike flags (neurons, then sources)."""
        groups, emitters = self.groups, self.groups + self.sources
        emitted, offsets, spike_views = _pool([o.spikes for o in emitters], bool)
        self._emitters = {id(o): (int(offsets[k]), int(offsets[k + 1])) for k, o in enumerate(emitters)}
        bounds, n_neurons = offsets[:len(groups) + 1], int(offsets[len(groups)])
        pools, views = {}, {}
        state_fields = [f for f in PopulationState._fields if f != "spikes"]
        for field in state_fields + list(PopulationParams._fields):
            dtype = np.int32 if field in ("refractory_left", "refractory_steps") else float
            source = "_state" if field in PopulationState._fields else "_params"
            pools[field], _, views[field] = _pool([getattr(getattr(g, source), field) for g in groups], dtype)
        for k, group in enumerate(groups):
            group._adopt(PopulationState(spikes=spike_views[k], **{f: views[f][k] for f in state_fields}),
                         PopulationParams(**{f: views[f][k] for f in PopulationParams._fields}))
        for k, source in enumerate(self.sources):
            source._adopt(spike_views[len(groups) + k])
        i_const = np.zeros(n_neurons)
        for current in self.currents:
            if isinstance(current, ConstantCurrent):
                lo, hi = self._emitters[id(current.target)]
                i_const[lo:hi] += current.amplitude
        state = PopulationState(spikes=emitted[:n_neurons], **{f: pools[f] for f in state_fields})
        params = PopulationParams(**{f: pools[f] for f in PopulationParams._fields})
        posts = [self.groups.index(s.post) for s in self.synapses]
        neurons = NeuronPool(
            state=state, params=params, scratch=np.zeros(n_neurons), i_const=i_const, bounds=bounds,
            subtract=np.array([g.params.reset == "subtract" for g in groups], dtype=bool),
            adaptive=np.array([g.adaptive for g in groups], dtype=bool),
            shared=np.array([not isinstance(g._step_params.decay, np.ndarray) for g in groups], dtype=bool),
            external=np.array([any(c.target is g for c in self.currents) for g in groups], dtype=bool),
            inputs_lo=np.concatenate([[0], np.cumsum(np.bincount(posts, minlength=len(groups)))]).astype(np.int64),
            var_column=self._var_columns()[0])
        return neurons, emitted

    def _synapse_pool(self) -> SynapsePool:
        """SynapsePool of all synapse groups, ordered by postsynaptic group; each keeps views of it."""
        syns, no_int = self._pool_order(), np.zeros(0, dtype=np.int32)
        data, data_lo, data_views = _pool([s.weights if s.dense else s.weights.data for s in syns], float)
        indices, indices_lo, index_views = _pool([no_int if s.dense else s.weights.indices for s in syns], np.int32)
        indptr, indptr_lo, indptr_views = _pool([no_int if s.dense else s.weights.indptr for s in syns], np.int32)
        delays, delay_lo, delay_views = _pool([np.zeros(0, np.int64) if s.delay is None else s.delay for s in syns],
                                              np.int64)
        i_syn, i_syn_lo, i_syn_views = _pool([s.i_syn for s in syns], float)
        ring, ring_lo, ring_views = _pool([s.ring for s in syns], float)
        cursor, _, cursor_views = _pool([s._cursor for s in syns], np.int64)
        for k, s in enumerate(syns):
            weights = data_views[k]
            if not s.dense:                        # the same CSR matrix, its arrays now views of the pools
                weights = s.weights
                weights.data, weights.indices, weights.indptr = data_views[k], index_views[k], indptr_views[k]
            s._adopt(weights, None if s.delay is None else delay_views[k], i_syn_views[k], ring_views[k],
                     cursor_views[k])
        pre = np.array([self._emitter_range(s.pre) for s in syns], dtype=np.int64).reshape(-1, 2)
        return SynapsePool(
            pre_lo=pre[:, 0].copy(), pre_hi=pre[:, 1].copy(),
            post_group=np.array([self.groups.index(s.post) for s in syns], dtype=np.int64),
            dense=np.array([s.dense for s in syns], dtype=bool), uniform=self._uniform_weights(),
            alpha=np.array([s.alpha for s in syns], dtype=float),
            data_lo=data_lo, indptr_lo=indptr_lo[:-1].copy(), indices_lo=indices_lo[:-1].copy(), delay_lo=delay_lo,
            i_syn_lo=i_syn_lo, ring_lo=ring_lo, ring_rows=np.array([s.ring.shape[0] for s in syns], dtype=np.int64),
            cursor=cursor, data=data, indices=indices, indptr=indptr, delays=delays, i_syn=i_syn, ring=ring)

    def _uniform_weights(self) -> np.ndarray:
        """For each synapse group (pool order): are its CSR weights all equal? (Not for plastic ones.)"""
        return np.array([not s.dense and s.learning_rule is None and s.weights.nnz > 0
                         and bool(np.all(s.weights.data == s.weights.data[0])) for s in self._pool_order()], dtype=bool)

    def _pool_order(self) -> list:
        """The synapse groups sorted by postsynaptic group, in the order added within one."""
        return sorted(self.synapses, key=lambda s: self.groups.index(s.post))

    def _spike_record(self, emitted: np.ndarray) -> SpikeRecord:
        n_emitters = len(emitted)
        watched = np.zeros(n_emitters, dtype=bool)
        for monitor in self.monitors:
            if isinstance(monitor, SpikeMonitor):
                lo, hi = self._emitter_range(monitor.source)
                watched[lo:hi] = True
        capacity = max(n_emitters, SPIKE_BUFFER)
        return SpikeRecord(emitted, np.zeros(n_emitters, np.int64), np.zeros(n_emitters, np.int64), watched,
                           np.zeros(capacity, np.int64), np.zeros(capacity, np.int64))

    def _state_record(self) -> StateRecord:
        """The (variable, neuron) pairs of the state monitors, monitor after monitor, variable after variable."""
        variable, neuron = [], []
        for monitor in self.monitors:
            if isinstance(monitor, StateMonitor):
                lo = self._emitter_range(monitor.group)[0]
                for name in monitor.variables:
                    variable += [STATE_VARIABLES.index(name)] * len(monitor.indices)
                    neuron += list(lo + monitor.indices)
        return StateRecord(np.array(variable, dtype=np.int64), np.array(neuron, dtype=np.int64), np.zeros((0, 0)))
