"""Losses (gradients by finite differences, closed forms) and optimisers (quadratics, documented schedules)."""
import numpy as np
import pytest

from spikingnn.kernels.optim import adam_update_kernel, adam_update_reference
from spikingnn.training.losses import LOSSES, loss_forward_backward, rate_regularizer, softmax_cross_entropy
from spikingnn.training.optim import SGD, Adam, LRSchedule, clip_grad_norm

T, B, C = 4, 3, 5


def _numerical_grad(f, x, eps=1e-6):
    grad = np.zeros_like(x)
    for idx in np.ndindex(x.shape):
        shifted = x.copy()
        shifted[idx] += eps
        up = f(shifted)
        shifted[idx] -= 2 * eps
        grad[idx] = (up - f(shifted)) / (2 * eps)
    return grad


@pytest.mark.parametrize("name", LOSSES)
def test_loss_gradients_match_finite_differences(name):
    """dL/ds and dL/dv of each loss, treating s and v as real numbers."""
    rng = np.random.default_rng(0)
    s, v, labels = rng.random((T, B, C)), rng.standard_normal((T, B, C)), np.array([0, 3, 4])
    result = loss_forward_backward(name, s, v, labels)
    d_s = _numerical_grad(lambda x: loss_forward_backward(name, x, v, labels).loss, s)
    d_v = _numerical_grad(lambda x: loss_forward_backward(name, s, x, labels).loss, v)
    np.testing.assert_allclose(result.d_s, d_s, atol=1e-8)
    np.testing.assert_allclose(np.zeros_like(v) if result.d_v is None else result.d_v, d_v, atol=1e-8)


def test_cross_entropy_closed_forms():
    """Equal logits: L = log C; a confident right answer: L -> 0; gradient rows sum to zero."""
    loss, grad = softmax_cross_entropy(np.zeros((2, C)), np.array([1, 2]))
    assert loss == pytest.approx(np.log(C))
    np.testing.assert_allclose(grad.sum(axis=1), 0.0, atol=1e-15)
    assert softmax_cross_entropy(np.array([[0.0, 50.0]]), np.array([1]))[0] == pytest.approx(0.0, abs=1e-12)


def test_mse_count_targets():
    """Counts exactly at T * correct_rate / T * incorrect_rate give zero loss."""
    labels = np.array([2])
    s = np.zeros((10, 1, C))
    s[:2, 0, :] = 1.0
    s[:8, 0, 2] = 1.0
    assert loss_forward_backward("mse_count", s, s, labels).loss == pytest.approx(0.0)


def test_rate_regularizer_gradient():
    rng = np.random.default_rng(1)
    spikes = [rng.random((T, B, 6)), rng.random((T, B, 4))]
    loss, grads = rate_regularizer(spikes, 0.7, 0.1)
    for i in range(2):
        def f(x, i=i):
            return rate_regularizer([x if j == i else s for j, s in enumerate(spikes)], 0.7, 0.1)[0]
        np.testing.assert_allclose(grads[i], _numerical_grad(f, spikes[i]), atol=1e-8)
    assert rate_regularizer([np.full((T, B, 3), 0.1)], 1.0, 0.1)[0] == pytest.approx(0.0)
    # laid out like the spikes (C order), not like the broadcast it comes from (time fastest): the kernels and the
    # sums that read it step through it row by row
    assert all(g.flags.c_contiguous and g.dtype == s.dtype for g, s in zip(grads, spikes))


def _minimise(optimizer, lr, steps):
    """Minimise f(p) = sum a (p - c)^2 / 2 from p = 0; returns the final p and c."""
    a, c = np.array([1.0, 10.0, 0.1]), np.array([1.0, -2.0, 3.0])
    params = {"p": np.zeros(3)}
    state = optimizer.init_state(params)
    for _ in range(steps):
        optimizer.step(params, {"p": a * (params["p"] - c)}, state, lr)
    assert int(state["step"]) == steps
    return params["p"], c


def test_adam_converges_on_a_quadratic():
    p, c = _minimise(Adam(), 0.05, 3000)
    np.testing.assert_allclose(p, c, atol=1e-3)


def test_sgd_with_momentum_converges_on_a_quadratic():
    p, c = _minimise(SGD(momentum=0.9), 0.02, 2000)
    np.testing.assert_allclose(p, c, atol=1e-6)


def test_adam_first_step_is_lr_times_sign():
    """After bias correction m_hat / sqrt(v_hat) = g / |g|: the first step moves each weight by lr."""
    params = {"w": np.array([0.0, 0.0])}
    Adam().step(params, {"w": np.array([3.0, -0.01])}, Adam.init_state(params), 0.1)
    np.testing.assert_allclose(params["w"], [-0.1, 0.1], rtol=1e-6)


def test_adam_updates_matrices_in_place_through_flat_views():
    """The kernel sees 1-D views: a 2-D parameter and its moments change in place; a strided one is refused."""
    params = {"w": np.zeros((2, 3), np.float32)}
    state = Adam.init_state(params)
    weights, moment = params["w"], state["m/w"]
    Adam().step(params, {"w": np.arange(-3.0, 3.0).reshape(2, 3)}, state, 0.1)
    assert params["w"] is weights and state["m/w"] is moment
    np.testing.assert_allclose(weights, 0.1 * -np.sign(np.arange(-3.0, 3.0)).reshape(2, 3), atol=1e-5)
    np.testing.assert_allclose(moment, 0.1 * np.arange(-3.0, 3.0).reshape(2, 3), rtol=1e-6)
    strided = {"w": np.zeros((3, 4), np.float32)[:, ::2]}
    with pytest.raises(ValueError, match="C-contiguous"):
        Adam().step(strided, {"w": np.ones((3, 2))}, Adam.init_state(strided), 0.1)


def test_weight_decay_shrinks_without_gradient():
    """SGD without momentum, zero gradient: p <- p (1 - lr wd) at every step."""
    params = {"w": np.array([2.0])}
    optimizer = SGD(momentum=0.0, weight_decay=0.5)
    state = optimizer.init_state(params)
    for _ in range(3):
        optimizer.step(params, {"w": np.zeros(1)}, state, 0.1)
    np.testing.assert_allclose(params["w"], 2.0 * 0.95 ** 3)


def test_schedules_give_the_documented_rates():
    step = LRSchedule("step", step_epochs=2, gamma=0.1)
    assert [step.lr(1.0, e) for e in (0, 1.9, 2, 4.5)] == pytest.approx([1.0, 1.0, 0.1, 0.01])
    cosine = LRSchedule("cosine", total_epochs=4, lr_min=0.1)
    assert [cosine.lr(1.0, e) for e in (0, 2, 4, 6)] == pytest.approx([1.0, 0.55, 0.1, 0.1])
    assert LRSchedule(None).lr(0.3, 7) == 0.3


def test_clip_grad_norm():
    grads = {"a": np.array([3.0]), "b": np.array([4.0])}
    assert clip_grad_norm(grads, 1.0) == pytest.approx(5.0)
    np.testing.assert_allclose([grads["a"][0], grads["b"][0]], [0.6, 0.8])
    assert clip_grad_norm(grads, 10.0) == pytest.approx(1.0) and grads["a"][0] == pytest.approx(0.6)


def test_bad_hyper_parameters_are_refused():
    with pytest.raises(ValueError, match="lr_schedule must be one of"):
        LRSchedule("linear")
    with pytest.raises(ValueError, match="beta1 must be in"):
        Adam(beta1=1.5)
    with pytest.raises(ValueError, match="weight_decay must be >= 0"):
        SGD(weight_decay=-1.0)


@pytest.mark.parametrize("dtype, rtol", [(np.float64, 1e-12), (np.float32, 1e-5)])
@pytest.mark.parametrize("weight_decay", [0.0, 0.01])
def test_adam_kernel_matches_numpy_reference(dtype, rtol, weight_decay):
    """Five steps of the one-sweep kernel equal the six-array-operation NumPy form (parameters and both moments)."""
    rng = np.random.default_rng(7)
    fast = [rng.standard_normal((6, 5)).astype(dtype), np.zeros((6, 5), dtype), np.zeros((6, 5), dtype)]
    slow = [a.copy() for a in fast]
    for k in range(1, 6):
        g = rng.standard_normal((6, 5)).astype(dtype)
        hyper = (1e-2, 0.9, 0.999, 1 - 0.9 ** k, 1 - 0.999 ** k, 1e-8, weight_decay)
        adam_update_kernel(*(a.reshape(-1) for a in (fast[0], g, fast[1], fast[2])), *hyper)
        adam_update_reference(slow[0], g, slow[1], slow[2], *hyper)
    for a, b in zip(fast, slow):
        np.testing.assert_allclose(a, b, rtol=rtol, atol=1e-7 if dtype == np.float32 else 0.0)
