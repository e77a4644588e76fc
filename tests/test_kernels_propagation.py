"""The propagation kernels (spikingnn/kernels/propagation.py) against their plain-NumPy references, and the
event-driven delivery against the dense matrix product it replaces."""
import numpy as np
import pytest
import scipy.sparse

from spikingnn.kernels.propagation import (
    deliver_csr_kernel,
    deliver_csr_reference,
    deliver_dense_kernel,
    deliver_dense_reference,
)


def random_case(rng, n_pre=30, n_post=20, density=0.3, max_delay=None):
    weights = rng.normal(0.0, 1.0, (n_pre, n_post)) * (rng.random((n_pre, n_post)) < density)
    csr = scipy.sparse.csr_matrix(weights)
    csr.indices, csr.indptr = csr.indices.astype(np.int32), csr.indptr.astype(np.int32)
    if max_delay is None:
        dense_delays, csr_delays, rows = np.zeros((0, n_post), np.int64), np.zeros(0, np.int64), 0
    else:
        dense_delays = rng.integers(0, max_delay + 1, (n_pre, n_post))
        csr_delays = dense_delays[np.repeat(np.arange(n_pre), np.diff(csr.indptr)), csr.indices]
        rows = max_delay + 1
    spiked = np.flatnonzero(rng.random(n_pre) < 0.3)
    return weights, csr, dense_delays, csr_delays, spiked, rows


@pytest.mark.parametrize("max_delay", [None, 0, 1, 4])
@pytest.mark.parametrize("seed", range(3))
def test_deliver_kernels_match_references(max_delay, seed):
    rng = np.random.default_rng(seed)
    weights, csr, dense_delays, csr_delays, spiked, rows = random_case(rng, max_delay=max_delay)
    cursor = int(rng.integers(0, max(rows, 1)))
    results = []
    for deliver, args in ((deliver_dense_kernel, (weights, dense_delays)),
                          (deliver_dense_reference, (weights, dense_delays)),
                          (deliver_csr_kernel, (csr.indptr, csr.indices, csr.data, csr_delays)),
                          (deliver_csr_reference, (csr.indptr, csr.indices, csr.data, csr_delays))):
        i_syn, ring = np.linspace(-1, 1, weights.shape[1]), np.zeros((rows, weights.shape[1]))
        deliver(spiked, *args, i_syn, ring, cursor)
        results.append((i_syn, ring))
    for i_syn, ring in results[1:]:
        np.testing.assert_allclose(i_syn, results[0][0], rtol=1e-12, atol=1e-12)
        np.testing.assert_allclose(ring, results[0][1], rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("max_delay", [None, 3])
def test_delivery_is_the_matrix_product_split_by_delay(max_delay):
    """Without delays the jump is W^T s; with delays, the ring row (cursor + d) % L holds the d-step part."""
    rng = np.random.default_rng(7)
    weights, csr, dense_delays, csr_delays, spiked, rows = random_case(rng, max_delay=max_delay)
    s = np.zeros(weights.shape[0])
    s[spiked] = 1.0
    cursor = 2 if rows else 0
    i_syn, ring = np.zeros(weights.shape[1]), np.zeros((rows, weights.shape[1]))
    deliver_csr_kernel(spiked, csr.indptr, csr.indices, csr.data, csr_delays, i_syn, ring, cursor)
    if max_delay is None:
        np.testing.assert_allclose(i_syn, s @ weights)
        return
    for d in range(max_delay + 1):
        part = s @ np.where(dense_delays == d, weights, 0.0)
        np.testing.assert_allclose(i_syn if d == 0 else ring[(cursor + d) % rows], part, atol=1e-12)
    assert not ring[cursor].any()                      # the row due now is never written to


def test_only_rows_of_spiking_neurons_are_read():
    """NaN weights in the rows of silent neurons never reach i_syn: propagation is event-driven."""
    weights = np.array([[1.0, 2.0], [np.nan, np.nan], [3.0, 4.0]])
    csr = scipy.sparse.csr_matrix(weights)
    csr.indices, csr.indptr = csr.indices.astype(np.int32), csr.indptr.astype(np.int32)
    for deliver, args in ((deliver_dense_kernel, (weights, np.zeros((0, 2), np.int64))),
                          (deliver_csr_kernel, (csr.indptr, csr.indices, csr.data, np.zeros(0, np.int64)))):
        i_syn = np.zeros(2)
        deliver(np.array([0, 2]), *args, i_syn, np.zeros((0, 2)), 0)
        np.testing.assert_array_equal(i_syn, [4.0, 6.0])
