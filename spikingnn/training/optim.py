"""Optimisers, learning-rate schedules and gradient clipping, on dicts of NumPy arrays.

An optimiser is a frozen record of hyper-parameters; its state (moments, step count) is an explicit dict of
arrays made by ``init_state`` and updated with the parameters, in place, by ``step(params, grads, state, lr)``.
Weight decay is L2 regularisation added to the gradient, g <- g + weight_decay * p, as in PyTorch's ``Adam`` and
``SGD``. Only the parameters present in ``grads`` move.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from spikingnn._validation import check_choice, check_in_range, check_non_negative, check_positive
from spikingnn.kernels.optim import adam_update_kernel


@dataclass(frozen=True)
class Adam:
    """Adam (Kingma & Ba, ICLR 2015), with bias correction:

        m <- b1 m + (1 - b1) g,   v <- b2 v + (1 - b2) g^2,   p <- p - lr m_hat / (sqrt(v_hat) + eps),
        m_hat = m / (1 - b1^k),  v_hat = v / (1 - b2^k)   at step k = 1, 2, ...
    """

    beta1: float = 0.9
    beta2: float = 0.999
    eps: float = 1e-8
    weight_decay: float = 0.0

    def __post_init__(self):
        check_in_range("beta1", self.beta1, 0.0, 0.999999)
        check_in_range("beta2", self.beta2, 0.0, 0.999999)
        check_positive("eps", self.eps)
        check_non_negative("weight_decay", self.weight_decay)

    @staticmethod
    def init_state(params: dict) -> dict:
        state = {"step": np.zeros((), np.int64)}
        for name, p in params.items():
            state[f"m/{name}"], state[f"v/{name}"] = np.zeros_like(p), np.zeros_like(p)
        return state

    def step(self, params: dict, grads: dict, state: dict, lr: float) -> None:
        state["step"] += 1
        k = int(state["step"])
        correction1, correction2 = 1.0 - self.beta1 ** k, 1.0 - self.beta2 ** k
        for name, g in grads.items():    # the update, written out: kernels.optim.adam_update_reference
            p = params[name]
            number = p.dtype.type        # scalars in the parameters' dtype: float32 arithmetic stays float32
            arrays = (p, np.ascontiguousarray(g, p.dtype), state[f"m/{name}"], state[f"v/{name}"])
            adam_update_kernel(*(flat_view(a) for a in arrays), *map(number, (
                lr, self.beta1, self.beta2, correction1, correction2, self.eps, self.weight_decay)))


@dataclass(frozen=True)
class SGD:
    """Stochastic gradient descent with (heavy-ball) momentum, PyTorch's form:

        u <- momentum u + g,    p <- p - lr u
    """

    momentum: float = 0.9
    weight_decay: float = 0.0

    def __post_init__(self):
        check_in_range("momentum", self.momentum, 0.0, 0.999999)
        check_non_negative("weight_decay", self.weight_decay)

    @staticmethod
    def init_state(params: dict) -> dict:
        state = {"step": np.zeros((), np.int64)}
        for name, p in params.items():
            state[f"u/{name}"] = np.zeros_like(p)
        return state

    def step(self, params: dict, grads: dict, state: dict, lr: float) -> None:
        state["step"] += 1
        for name, g in grads.items():
            p, u = params[name], state[f"u/{name}"]
            u *= self.momentum
            u += g + self.weight_decay * p if self.weight_decay else g
            p -= lr * u


OPTIMIZERS = {"adam": Adam, "sgd": SGD}


@dataclass(frozen=True)
class LRSchedule:
    """Learning rate as a function of training progress e (epochs, fractional within an epoch):

        none   : lr(e) = lr0
        step   : lr(e) = lr0 gamma^floor(e / step_epochs)
        cosine : lr(e) = lr_min + (lr0 - lr_min) (1 + cos(pi min(e / total_epochs, 1))) / 2
    """

    kind: str | None = None
    step_epochs: float = 1.0
    gamma: float = 0.5
    total_epochs: float = 1.0
    lr_min: float = 0.0

    def __post_init__(self):
        check_choice("lr_schedule", self.kind, (None, "step", "cosine"))
        check_positive("lr_step_epochs", self.step_epochs)
        check_in_range("lr_gamma", self.gamma, 0.0, 1.0)
        check_positive("total_epochs", self.total_epochs)
        check_non_negative("lr_min", self.lr_min)

    def lr(self, base_lr: float, epoch: float) -> float:
        if self.kind == "step":
            return base_lr * self.gamma ** np.floor(epoch / self.step_epochs)
        if self.kind == "cosine":
            progress = min(epoch / self.total_epochs, 1.0)
            return self.lr_min + (base_lr - self.lr_min) * 0.5 * (1.0 + np.cos(np.pi * progress))
        return base_lr


def flat_view(array: np.ndarray) -> np.ndarray:
    """``array`` as a 1-D view, for the kernels that update it in place (a flattened copy would leave it as it was)."""
    if not array.flags.c_contiguous:
        raise ValueError(f"a parameter or optimiser state of shape {array.shape} must be C-contiguous")
    return array.reshape(-1)


def clip_grad_norm(grads: dict, max_norm: float | None) -> float:
    """Scale all gradients in place so that their global L2 norm is at most ``max_norm``; return the norm before."""
    norm = float(np.sqrt(sum(float(np.vdot(g, g)) for g in grads.values())))
    if max_norm is not None and norm > max_norm:
        for g in grads.values():
            g *= max_norm / norm
    return norm
