"""Memory in time: recurrent LIF / ALIF networks on sequences, trained by BPTT or by e-prop, which learns online.

The network. n_in inputs x[t] feed H recurrent neurons, the training neuron of ``layers.py`` (time in ms)::

    tau_mem dv/dt = -v + R I(t),   tau_adapt da/dt = -a + tau_adapt sum_f delta(t - t_f),   spike: v > v_th + beta_a a

discretised with the exact step (beta = exp(-dt / tau_mem), rho = exp(-dt / tau_adapt)), in this order::

    a[t]   = rho (a[t-1] + s[t-1]),           thr[t] = v_threshold + beta_adapt a[t]      (beta_adapt = 0: LIF)
    v[t]   = beta u[t-1] + I[t],              I[t] = x[t] @ w_in + s[t-1] @ w_rec
    s[t]   = H(v[t] - thr[t]),                u[t] = v[t] - thr[t] s[t] ('subtract')  |  v[t] (1 - s[t]) ('zero')

and C read-out units, leaky integrators that never fire (``reset='readout'``; kappa = exp(-dt / tau_out))::

    y[t] = kappa y[t-1] + s[t] @ w_out + b_out.

The task's loss is the cross-entropy of softmax(y[t]) at chosen steps (``loss_steps``: the decision window of cue
accumulation, the last step of sequential MNIST), averaged over those N steps and the batch, plus the rate
regulariser of ``losses.rate_regularizer``. An ALIF neuron's threshold remembers its spikes for ~tau_adapt
(seconds): the working memory of the long short-term memory spiking networks (LSNN) of Bellec et al. (NeurIPS
2018, "Long short-term memory and learning-to-learn in networks of spiking neurons").

BPTT (``method='bptt'``) stores v, s and thr for all T steps (``network.network_forward``) and walks them back
(``network.network_backward``): memory grows with T. e-prop (Bellec et al. 2020, "A solution to the learning
dilemma for recurrent networks of spiking neurons", Nature Communications 11:3625) needs no past.

The factorisation. For a weight W_ji from presynaptic unit i (an input, or neuron i through w_rec) to neuron j,
with pre_i[t] the value it brings to I_j[t] (x_i[t], or s_i[t-1])::

    dE/dW_ji = sum_t  L_j[t]  x  e_ji[t]        learning signal  x  eligibility trace

The eligibility trace e_ji[t] = ds_j[t]/dW_ji is the derivative of neuron j's spike through its own state only
(v_j, a_j), with every other path held fixed: the presynaptic activity pre_i (including the recurrent spikes) and
the spike that triggers the reset (as ``detach_reset``); psi_j[t] = surrogate'(v_j[t] - thr_j[t]) stands in for
H'. Differentiating the update above, in its order, gives a forward recursion per synapse::

    eps_v[t]   = beta eps_u[t-1] + pre_i[t]                   dv_j[t] / dW_ji
    e[t]       = psi_j[t] (eps_v[t] - beta_adapt eps_a[t])    ds_j[t] / dW_ji            (the eligibility trace)
    eps_u[t]   = eps_v[t] - beta_adapt s_j[t] eps_a[t]        du_j[t] / dW_ji  ('subtract': thr[t] is removed)
               | (1 - s_j[t]) eps_v[t]                                          ('zero')
    eps_a[t+1] = rho (eps_a[t] + e[t])                        da_j[t+1] / dW_ji: the neuron's own spike raises
                                                              its threshold, the slow component of the trace

For LIF (beta_adapt = 0) with 'subtract', eps_v is the presynaptic activity low-pass filtered with tau_mem, the
paper's z-bar_i. For ALIF it is the paper's two-component trace (eps_v, eps_a) (Methods, ALIF eligibility
traces), adapted to this update order: the paper writes a[t+1] = rho a[t] + s[t] and subtracts the fixed
v_th, so its eps_a[t+1] = psi eps_v + (rho - psi beta_a) eps_a; here the spike decays once before it counts (the
factor rho on e[t]) and the reset subtracts the adaptive threshold (the term -beta_adapt s eps_a of eps_u).

The learning signal L_j[t] = sum_k B_jk err_k[t] is the read-out error err[t] = dE/dy[t] = (softmax(y[t]) -
onehot(label)) / (N B) at the loss steps (0 elsewhere) sent back to neuron j through B: B = w_out (symmetric
feedback) or a fixed random matrix (random e-prop, ``feedback='random'``). Since s_j[t] reaches every later y[t']
through the read-out's leak, the part of dE/ds_j[t] that runs through the read-out is sum_{t' >= t}
kappa^(t' - t) L_j[t'] (for B = w_out): a sum over the future. Swapping the two sums turns it into a filter of the
past, and everything is causal::

    dE/dW_ji = sum_t L_j[t] e_bar_ji[t],      e_bar[t] = kappa e_bar[t-1] + e[t]
    dE/dw_out_jk = sum_t err_k[t] s_bar_j[t], s_bar[t] = kappa s_bar[t-1] + s_j[t];  dE/db_out_k likewise with 1

The rate regulariser's dE/ds_j[t] = c_j, the same at every step, adds c_j sum_t e_ji[t] (a running sum; c_j is
known when the sequence ends). So e-prop keeps a few numbers per synapse, whatever T: memory independent of the
length of the sequence. Its gradient is exactly BPTT's with the gradient stopped through the recurrent spikes and
the reset (the paper's own numerical check; ``tests/test_eprop.py``): with symmetric feedback, the true (surrogate)
gradient without the paths that run through the recurrent spikes or the reset.

The kernels (the NumPy reference, then the Numba fast path) are in ``spikingnn.kernels.eprop``. Here the gradient
of a sequence is gathered online and applied once the sequence ends, as in the paper's simulations.
"""
from __future__ import annotations

from typing import NamedTuple

import numpy as np

from spikingnn._validation import (
    as_rng,
    check_choice,
    check_in_range,
    check_non_negative,
    check_positive,
    check_shape,
)
from spikingnn.discretisation import exact_decay
from spikingnn.kernels import eprop as eprop_kernels
from spikingnn.training.layers import BACKENDS, NeuronSpec, pick_kernel
from spikingnn.training.losses import rate_regularizer, softmax_cross_entropy
from spikingnn.training.network import NetworkSpec, init_params, network_backward, network_forward
from spikingnn.training.optim import Adam, clip_grad_norm
from spikingnn.training.surrogate import FastSigmoid, Surrogate

METHODS, FEEDBACKS, NEURONS = ("bptt", "eprop"), ("symmetric", "random"), ("lif", "alif")
TRAINED = ("weights0", "w_rec0", "weights1", "bias1")   # the hidden neurons have no bias (as in the paper)
DEFAULT_SURROGATE = FastSigmoid()


class SequenceRecording(NamedTuple):
    v: np.ndarray        # (T, B, H) hidden membranes before their reset
    thr: np.ndarray      # (T, B, H) hidden thresholds (v_threshold + beta_adapt a; constant for LIF)
    s: np.ndarray        # (T, B, H) hidden spikes
    y: np.ndarray        # (T, B, C) read-out


class StepResult(NamedTuple):
    loss: float          # cross-entropy at the loss steps + rate regulariser
    accuracy: float      # fraction of the batch whose read-out, averaged over the loss steps, picks the label
    rate_hz: float       # mean firing rate of the hidden neurons


def sequence_cross_entropy(y, labels, loss_steps):
    """Cross-entropy of softmax(y[t]) against ``labels`` at the steps where ``loss_steps`` (T,) is True.

    y: (T, B, C) read-out. E = mean over those N steps and the B samples; returns (E, dE/dy (T, B, C), scores
    (B, C)): the read-out averaged over the loss steps, whose argmax is the decision.
    """
    logits = y[loss_steps]                                     # (N, B, C)
    n_loss, batch, n_classes = logits.shape
    loss, d_logits = softmax_cross_entropy(logits.reshape(-1, n_classes).astype(np.float64), np.tile(labels, n_loss))
    d_y = np.zeros_like(y)
    d_y[loss_steps] = d_logits.reshape(n_loss, batch, n_classes)
    return loss, d_y, logits.mean(axis=0)


class RecurrentNetwork:
    """n_inputs -> n_hidden recurrent LIF / ALIF neurons -> n_outputs leaky read-out, for sequences (T, B, n_in).

    Neurons: ``neuron`` 'alif' or 'lif', ``tau_mem``, ``tau_adapt`` (ms), ``beta_adapt`` (ALIF; default the
    heuristic 1.7 (1 - rho) / (1 - beta) of the paper's cue-accumulation code), ``v_threshold``, ``reset``,
    ``surrogate`` (default FastSigmoid(25): the paper's triangle of height 1 / v_threshold, without its dampening
    factor 0.3, makes BPTT's gradient overflow over the 2250 steps of cue accumulation; this narrow one does not),
    read-out ``tau_out`` (ms), step ``dt`` (ms). Learning: ``method`` 'eprop' or 'bptt',
    ``feedback`` 'symmetric' or 'random' (e-prop), Adam at ``lr``, ``rate_reg`` towards ``target_rate_hz``,
    ``grad_clip`` (global norm, or None). ``backend`` 'numba' or 'numpy' (the references), ``dtype``,
    ``random_state`` (weights: w_in ~ N(0, 1 / n_in), w_rec ~ N(0, 1 / H) as in the paper; random feedback ~ N(0, 1)).
    """

    def __init__(self, n_inputs, n_hidden=100, n_outputs=2, *, neuron="alif", tau_mem=20.0, tau_adapt=2000.0,
                 beta_adapt=None, v_threshold=0.6, reset="subtract", surrogate: Surrogate = DEFAULT_SURROGATE,
                 tau_out=20.0, dt=1.0, method="eprop", feedback="symmetric", lr=5e-3, rate_reg=100.0,
                 target_rate_hz=10.0, grad_clip=None, backend="numba", dtype="float32", random_state=0):
        for name, value in (("n_inputs", n_inputs), ("n_hidden", n_hidden), ("n_outputs", n_outputs)):
            if not isinstance(value, (int, np.integer)) or not 1 <= value <= 1 << 16:
                raise ValueError(f"{name} must be an integer in [1, 65536]; got {value!r}")
        if n_outputs < 2:
            raise ValueError(f"n_outputs must be an integer in [2, 65536] (classes of the softmax); got {n_outputs!r}")
        for name, value in (("tau_mem", tau_mem), ("tau_adapt", tau_adapt), ("tau_out", tau_out), ("dt", dt)):
            check_positive(name, value, "ms")
        check_positive("v_threshold", v_threshold)
        check_positive("lr", lr)
        check_non_negative("rate_reg", rate_reg)
        check_in_range("target_rate_hz", target_rate_hz, 0.0, 1000.0 / dt)
        if grad_clip is not None:
            check_positive("grad_clip", grad_clip)
        self.neuron, self.reset = check_choice("neuron", neuron, NEURONS), check_choice("reset", reset,
                                                                                         ("subtract", "zero"))
        self.method, self.feedback = check_choice("method", method, METHODS), check_choice("feedback", feedback,
                                                                                           FEEDBACKS)
        self.backend, self.dtype = check_choice("backend", backend, BACKENDS), np.dtype(
            check_choice("dtype", dtype, ("float32", "float64")))
        beta, rho, kappa = (float(exact_decay(dt, tau)) for tau in (tau_mem, tau_adapt, tau_out))
        if neuron == "lif":
            rho, beta_adapt = 0.0, 0.0
        elif beta_adapt is None:
            beta_adapt = 1.7 * (1.0 - rho) / (1.0 - beta)
        check_non_negative("beta_adapt", beta_adapt)
        if not isinstance(surrogate, Surrogate):
            raise ValueError(f"surrogate must be a spikingnn.training.surrogate.Surrogate; got {surrogate!r}")
        self.sizes, self.dt, self.kappa = (int(n_inputs), int(n_hidden), int(n_outputs)), float(dt), kappa
        self.lr, self.rate_reg, self.grad_clip = float(lr), float(rate_reg), grad_clip
        self.target_rate = float(target_rate_hz) * dt / 1000.0      # spikes per step
        self.hidden_spec = NeuronSpec(reset, True, rho, float(beta_adapt), surrogate)
        self.optimizer = Adam()
        rng = as_rng(random_state)
        params = init_params(self._spec(1), beta, float(v_threshold), rng, self.dtype)
        params["weights0"] = (rng.standard_normal(params["weights0"].shape) / np.sqrt(n_inputs)).astype(self.dtype)
        params["w_rec0"] = (rng.standard_normal(params["w_rec0"].shape) / np.sqrt(n_hidden)).astype(self.dtype)
        params["bias0"][:], params["beta1"][:] = 0.0, kappa
        self.params = params
        self.random_feedback = rng.standard_normal((n_hidden, n_outputs)).astype(self.dtype)
        self.opt_state = self.optimizer.init_state({name: params[name] for name in TRAINED})

    def _spec(self, num_steps: int) -> NetworkSpec:
        return NetworkSpec(self.sizes, num_steps, self.hidden_spec, NeuronSpec(reset="readout"), recurrent=True)

    def _check_batch(self, x, labels, loss_steps):
        x = np.ascontiguousarray(x, self.dtype)
        check_shape("x", x, (None, None, self.sizes[0]))
        if loss_steps is not None:
            loss_steps = np.asarray(loss_steps)
            if loss_steps.dtype != bool or loss_steps.shape != x.shape[:1] or not loss_steps.any():
                raise ValueError(f"loss_steps must be a bool array of shape ({x.shape[0]},) (one per step of x) with "
                                 f"at least one True; got {loss_steps.dtype} of shape {loss_steps.shape}")
        if labels is not None:
            labels = np.asarray(labels)
            if (labels.shape != x.shape[1:2] or labels.dtype.kind not in "iu"
                    or labels.min() < 0 or labels.max() >= self.sizes[2]):
                raise ValueError(f"labels must be {x.shape[1]} integers in [0, {self.sizes[2] - 1}]; got "
                                 f"{labels.dtype} of shape {labels.shape}")
            labels = labels.astype(np.int64)
        return x, labels, loss_steps

    def gradients(self, x, labels, loss_steps):
        """Gradients of the loss for one batch, by ``method``: (dict over ``TRAINED``, loss, scores (B, C), spike
        counts (B, H)). x: (T, B, n_in); labels: (B,) ints; loss_steps: (T,) bool."""
        x, labels, loss_steps = self._check_batch(x, labels, loss_steps)
        p, spec, number = self.params, self.hidden_spec, self.dtype.type
        if self.method == "eprop":
            feedback = p["weights1"] if self.feedback == "symmetric" else self.random_feedback
            kernel = pick_kernel(eprop_kernels, "eprop_gradients", self.backend)
            *grads, loss, scores, counts = kernel(
                x, labels, loss_steps, p["weights0"], p["w_rec0"], p["weights1"], p["bias1"], feedback, p["beta0"],
                p["v_threshold0"], number(spec.rho), number(spec.beta_adapt), number(self.kappa),
                spec.reset_code, spec.surrogate.code, number(spec.surrogate.slope), number(self.rate_reg),
                number(self.target_rate))
            grads = dict(zip(TRAINED, grads))
            loss += self.rate_reg * float(np.mean((counts / x.shape[0] - self.target_rate) ** 2))
            return grads, float(loss), scores, counts
        spikes, cache = network_forward(p, self._spec(x.shape[0]), x, self.backend)
        loss, d_y, scores = sequence_cross_entropy(cache.neurons[-1].v, labels, loss_steps)
        reg_loss, (d_reg,) = rate_regularizer(spikes[:1], self.rate_reg, self.target_rate)
        grads = network_backward([d_reg, np.zeros_like(spikes[1])], d_y, cache, self._spec(x.shape[0]))
        return {name: grads[name] for name in TRAINED}, loss + reg_loss, scores, spikes[0].sum(axis=0)

    def train_step(self, x, labels, loss_steps) -> StepResult:
        """One Adam step on one batch of sequences; returns its loss, accuracy and hidden firing rate (Hz)."""
        grads, loss, scores, counts = self.gradients(x, labels, loss_steps)
        clip_grad_norm(grads, self.grad_clip)
        self.optimizer.step(self.params, grads, self.opt_state, self.lr)
        labels = np.asarray(labels)
        rate_hz = float(counts.mean()) / np.shape(x)[0] * 1000.0 / self.dt
        return StepResult(loss, float(np.mean(scores.argmax(axis=1) == labels)), rate_hz)

    def predict(self, x, loss_steps, batch_size=64) -> np.ndarray:
        """The decision for each sequence of x (T, B, n_in): argmax of the read-out averaged over ``loss_steps``.

        Runs BPTT's forward pass, which keeps (T, batch, H) states: ``batch_size`` sequences at a time."""
        x, _, loss_steps = self._check_batch(x, None, loss_steps)
        if not isinstance(batch_size, (int, np.integer)) or batch_size < 1:
            raise ValueError(f"batch_size must be an integer >= 1; got {batch_size!r}")
        decisions = []
        for start in range(0, x.shape[1], batch_size):
            read_out = self.record(x[:, start:start + batch_size]).y
            decisions.append(read_out[loss_steps].mean(axis=0).argmax(axis=1))
        return np.concatenate(decisions)

    def record(self, x) -> SequenceRecording:
        """Everything the network does on x (T, B, n_in): hidden v, thresholds and spikes, and the read-out."""
        x, _, _ = self._check_batch(x, None, None)
        _, cache = network_forward(self.params, self._spec(x.shape[0]), x, self.backend)
        hidden = cache.neurons[0]
        return SequenceRecording(hidden.v, hidden.thr, hidden.s, cache.neurons[-1].v)

    def state_arrays(self) -> dict:
        """The parameters, Adam's moments and step, and the random feedback matrix, as named arrays (checkpoints)."""
        return {**{f"param/{k}": v for k, v in self.params.items()},
                **{f"opt/{k}": v for k, v in self.opt_state.items()}, "feedback/random": self.random_feedback}

    def load_state_arrays(self, arrays) -> None:
        """Restore ``state_arrays()`` of a network built with the same arguments (shapes and dtypes checked)."""
        mine = self.state_arrays()
        if set(arrays) != set(mine):
            raise ValueError(f"state arrays must be exactly {sorted(mine)}; got {sorted(arrays)}")
        for name, current in mine.items():
            new = np.asarray(arrays[name])
            if new.shape != current.shape or new.dtype != current.dtype:
                raise ValueError(f"state array {name!r} must be {current.dtype} of shape {current.shape}; got "
                                 f"{new.dtype} of shape {new.shape}")
            current[...] = new
