"""Fast paths of the pair-based STDP weight update (``spikingnn.stdp``), each beside its plain-NumPy reference.

One call applies the weight changes of one time step. It receives the traces and the indices of the neurons
that spiked in the step, and touches only the rows of presynaptic neurons that spiked and the columns of
postsynaptic neurons that spiked (``w`` is (n_pre, n_post): row = presynaptic neuron):

    depression,   row i of every pre spike:     w_ij <- clip(w_ij - a_minus * x_post_j * (w_ij - w_min)^mu)
    potentiation, column j of every post spike: w_ij <- clip(w_ij + a_plus  * x_pre_i  * (w_max - w_ij)^mu)

``clip`` keeps w in [w_min, w_max]. ``mu = 0`` is additive STDP with hard bounds (the factors are 1 and the
clip does the bounding); ``mu = 1`` is multiplicative STDP with soft bounds (van Rossum et al. 2000); values in
between interpolate (Gütig et al. 2003). Depression is applied before potentiation.

Dense weights are an ndarray; sparse weights are a CSR matrix, whose ``.data`` is updated in place: rows come
from ``indptr``/``indices``, columns from a column index built once by ``csr_column_index``.
"""
from __future__ import annotations

import numba
import numpy as np


def _dependence_reference(distance, mu):
    """(distance)^mu elementwise, exactly 1 for mu = 0 (the additive rule)."""
    return np.ones_like(distance) if mu == 0.0 else distance**mu


def stdp_dense_reference(w, x_pre, x_post, pre_idx, post_idx, a_plus, a_minus, w_min, w_max, mu):
    """Plain-NumPy STDP step on dense ``w`` (n_pre, n_post), in place. Traces: x_pre (n_pre,), x_post (n_post,)."""
    rows = w[pre_idx]
    rows -= a_minus * x_post * _dependence_reference(rows - w_min, mu)
    w[pre_idx] = np.clip(rows, w_min, w_max)
    columns = w[:, post_idx]
    columns += a_plus * x_pre[:, None] * _dependence_reference(w_max - columns, mu)
    w[:, post_idx] = np.clip(columns, w_min, w_max)


def csr_column_index(indptr, indices, n_post):
    """Column view of a CSR pattern: ``(col_ptr, col_entries, col_rows)``.

    The stored entries of column j are ``data[col_entries[col_ptr[j]:col_ptr[j + 1]]]``, in rows
    ``col_rows[col_ptr[j]:col_ptr[j + 1]]``. Built once per sparsity pattern (an argsort of ``indices``).
    """
    rows = np.repeat(np.arange(len(indptr) - 1), np.diff(indptr))
    col_entries = np.argsort(indices, kind="stable")
    col_ptr = np.zeros(n_post + 1, dtype=np.int64)
    np.cumsum(np.bincount(indices, minlength=n_post), out=col_ptr[1:])
    return col_ptr, col_entries, rows[col_entries]


def stdp_csr_reference(data, indptr, indices, col_ptr, col_entries, col_rows, x_pre, x_post, pre_idx, post_idx,
                       a_plus, a_minus, w_min, w_max, mu):
    """Plain-NumPy STDP step on the ``data`` of a CSR matrix, in place (see ``csr_column_index``)."""
    for i in pre_idx:
        entries = np.arange(indptr[i], indptr[i + 1])
        w = data[entries]
        w -= a_minus * x_post[indices[entries]] * _dependence_reference(w - w_min, mu)
        data[entries] = np.clip(w, w_min, w_max)
    for j in post_idx:
        entries = col_entries[col_ptr[j]:col_ptr[j + 1]]
        w = data[entries]
        w += a_plus * x_pre[col_rows[col_ptr[j]:col_ptr[j + 1]]] * _dependence_reference(w_max - w, mu)
        data[entries] = np.clip(w, w_min, w_max)


@numba.njit(cache=True)
def _depress(w, x_post, a_minus, w_min, w_max, mu):
    """One depressed weight: clip(w - a_minus x_post (w - w_min)^mu)."""
    factor = 1.0 if mu == 0.0 else (w - w_min) ** mu
    return min(max(w - a_minus * x_post * factor, w_min), w_max)


@numba.njit(cache=True)
def _potentiate(w, x_pre, a_plus, w_min, w_max, mu):
    """One potentiated weight: clip(w + a_plus x_pre (w_max - w)^mu)."""
    factor = 1.0 if mu == 0.0 else (w_max - w) ** mu
    return min(max(w + a_plus * x_pre * factor, w_min), w_max)


@numba.njit(cache=True)
def stdp_dense_kernel(w, x_pre, x_post, pre_idx, post_idx, a_plus, a_minus, w_min, w_max, mu):
    """Fast path of ``stdp_dense_reference``: same arguments, same result."""
    n_pre, n_post = w.shape
    for i in pre_idx:
        for j in range(n_post):
            w[i, j] = _depress(w[i, j], x_post[j], a_minus, w_min, w_max, mu)
    for j in post_idx:
        for i in range(n_pre):
            w[i, j] = _potentiate(w[i, j], x_pre[i], a_plus, w_min, w_max, mu)


@numba.njit(cache=True)
def stdp_csr_kernel(data, indptr, indices, col_ptr, col_entries, col_rows, x_pre, x_post, pre_idx, post_idx,
                    a_plus, a_minus, w_min, w_max, mu):
    """Fast path of ``stdp_csr_reference``: same arguments, same result."""
    for i in pre_idx:
        for p in range(indptr[i], indptr[i + 1]):
            data[p] = _depress(data[p], x_post[indices[p]], a_minus, w_min, w_max, mu)
    for j in post_idx:
        for q in range(col_ptr[j], col_ptr[j + 1]):
            p = col_entries[q]
            data[p] = _potentiate(data[p], x_pre[col_rows[q]], a_plus, w_min, w_max, mu)
