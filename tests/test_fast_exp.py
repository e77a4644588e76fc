"""``kernels.fast_exp``: the vectorisable e^x against NumPy's, and ``exp`` being NumPy's in Python."""
import re

import numba
import numpy as np
from hypothesis import given
from hypothesis import strategies as st

from spikingnn.kernels.fast_exp import X_MAX, X_MIN, exp, fast_exp


@numba.njit
def _fast_exp_each(x):
    out = np.empty_like(x)
    for i in range(x.shape[0]):
        out[i] = exp(x[i])               # the name kernels use: compiled, it is fast_exp
    return out


def _ulps(a, b):
    return np.abs(a - b) / np.spacing(np.abs(b))


def test_within_two_ulps_of_numpy_over_the_whole_range():
    rng = np.random.default_rng(0)
    x = np.concatenate([rng.uniform(X_MIN, X_MAX, 200_000), rng.uniform(-1, 1, 100_000),
                        np.arange(-1020, 1021) * np.log(2) / 2, [0.0, X_MIN, X_MAX, -1e-300, 1e-300]])
    x = x[(x >= X_MIN) & (x <= X_MAX)]
    assert _ulps(_fast_exp_each(x), np.exp(x)).max() <= 2


@given(st.floats(X_MIN, X_MAX))
def test_each_number_within_two_ulps(x):
    assert _ulps(fast_exp(x), np.exp(x)) <= 2


def test_outside_the_range_it_saturates():
    out = _fast_exp_each(np.array([-1e4, -750.0, 750.0, 1e4]))
    np.testing.assert_allclose(out, np.exp([X_MIN, X_MIN, X_MAX, X_MAX]), rtol=1e-15)


def test_exp_is_numpys_in_python():
    x = np.linspace(-5, 5, 11)
    assert exp is not np.exp and np.array_equal(exp(x), np.exp(x))


def test_the_compiled_loop_runs_on_vector_registers():
    """The point of the module: a loop over fast_exp compiles to packed (4-wide, AVX2) or 2-wide (SSE) code."""
    _fast_exp_each(np.zeros(4))
    assembly = _fast_exp_each.inspect_asm(_fast_exp_each.signatures[0])
    assert re.search(r"\s(v?mulpd|vfn?madd\d+pd)\s", assembly), "no packed multiply: the loop was not vectorised"
