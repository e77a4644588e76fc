"""Surrogate gradients: each derivative is the true derivative of its smooth function; the forward is H."""
import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from spikingnn.kernels import surrogates
from spikingnn.training.surrogate import SURROGATES, ArcTan, FastSigmoid, Triangle, make_surrogate

NAMES = sorted(SURROGATES)


@pytest.mark.parametrize("name", NAMES)
@pytest.mark.parametrize("slope", [0.5, 2.0, 25.0])
def test_grad_is_the_derivative_of_smooth(name, slope):
    """g(x) = d smooth / dx, checked by central differences away from the kinks (x = 0, |x| = 1/slope)."""
    surrogate = make_surrogate(name, slope)
    x = np.random.default_rng(0).uniform(-3.0 / slope, 3.0 / slope, 400)
    x = x[(np.abs(x) > 1e-3 / slope) & (np.abs(np.abs(x) - 1.0 / slope) > 1e-3 / slope)]
    h = 1e-6 / slope
    numerical = (surrogate.smooth(x + h) - surrogate.smooth(x - h)) / (2 * h)
    np.testing.assert_allclose(surrogate.grad(x), numerical, rtol=1e-5, atol=1e-8 * slope, err_msg=name)


@pytest.mark.parametrize("name", NAMES)
def test_forward_is_the_strict_heaviside(name):
    surrogate = make_surrogate(name)
    np.testing.assert_array_equal(surrogate.spike([-1.0, -1e-12, 0.0, 1e-12, 3.0]), [0, 0, 0, 1, 1])


@pytest.mark.parametrize("cls", [ArcTan, Triangle, SURROGATES["sigmoid"]])
def test_normalised_surrogates_integrate_to_one(cls):
    """smooth rises from 0 to 1: the surrogate is a density, as H' is."""
    surrogate = cls(slope=3.0)
    assert surrogate.smooth(-1e6) == pytest.approx(0.0, abs=1e-6)
    assert surrogate.smooth(1e6) == pytest.approx(1.0, abs=1e-6)
    assert surrogate.smooth(0.0) == pytest.approx(0.5)


def test_fast_sigmoid_closed_form():
    """SuperSpike: g(0) = 1, g(1/k) = 1/4 (Zenke & Ganguli 2018), symmetric."""
    surrogate = FastSigmoid(slope=25.0)
    np.testing.assert_allclose(surrogate.grad([0.0, 0.04, -0.04]), [1.0, 0.25, 0.25])


def test_triangle_vanishes_beyond_its_width():
    surrogate = Triangle(slope=2.0)
    np.testing.assert_array_equal(surrogate.grad([-0.6, 0.5, 0.7]), [0.0, 0.0, 0.0])
    assert surrogate.grad(0.0) == 2.0


@given(x=st.floats(-10, 10), slope=st.floats(0.1, 50), name=st.sampled_from(NAMES))
def test_kernel_scalar_matches_record(x, slope, name):
    """The Numba scalar used inside the BPTT kernel is the record's formula."""
    surrogate = make_surrogate(name, slope)
    expected = float(surrogate.grad(x))
    assert surrogates.surrogate_grad(surrogate.code, slope, x) == pytest.approx(expected, rel=1e-12, abs=1e-300)
    assert surrogates.surrogate_smooth(surrogate.code, slope, x) == pytest.approx(float(surrogate.smooth(x)), rel=1e-12,
                                                                            abs=1e-12)


def test_bad_names_and_slopes_are_refused():
    with pytest.raises(ValueError, match="surrogate must be one of"):
        make_surrogate("relu")
    with pytest.raises(ValueError, match="surrogate_slope must be > 0"):
        make_surrogate("arctan", -1.0)


def test_name_round_trips():
    for name in NAMES:
        assert make_surrogate(name).name == name


@pytest.mark.parametrize("code", sorted({make_surrogate(name).code for name in NAMES}))
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_grad_into_rows_is_the_scalar_formula(code, dtype):
    """The kernels' row form (its own loop for the fast sigmoid) equals surrogate_grad point by point."""
    rng = np.random.default_rng(code)
    v, thr = rng.normal(0.8, 0.6, 37).astype(dtype), rng.uniform(0.5, 1.5, 37).astype(dtype)
    out = np.empty_like(v)
    surrogates.surrogate_grad_into(out, code, dtype(4.0), v, thr)
    expected = [surrogates.surrogate_grad(code, dtype(4.0), a - b) for a, b in zip(v, thr)]
    np.testing.assert_allclose(out, expected, rtol=1e-6 if dtype == np.float32 else 1e-14)
