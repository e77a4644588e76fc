"""Fast paths of the STDP weight changes (``spikingnn.stdp``), each beside its plain-NumPy reference.

The two pieces of the rule act on the weights ``w`` (n_pre, n_post) (row = presynaptic neuron) at the neurons
that spiked in a step, given the traces:

    depression,   row i of every pre spike:     w_ij <- max(w_ij - a_minus x_post_j (w_ij - w_min)^mu, w_min)
    potentiation, column j of every post spike: w_ij <- min(w_ij + a_plus x_pre_i y_j (w_max - w_ij)^mu, w_max)

Each bounds the direction it moves: depression never takes w below w_min, potentiation never above w_max (a
weight inside [w_min, w_max] stays inside). ``mu = 0`` is additive STDP with hard bounds (the factors are 1 and
the bound does the bounding); ``mu = 1`` is multiplicative STDP with soft bounds (van Rossum et al. 2000); values
in between interpolate (Gütig et al. 2003). y_j is 1 for the pair rule; Diehl & Cook's rule puts the neuron's
slow postsynaptic trace there (``spikingnn.diehl_cook``).

``depress`` and ``potentiate`` are the NumPy pieces; ``depress_weight`` and ``potentiate_weight`` the same
formulas for one weight, compiled, from which the kernels here and in ``kernels.diehl_cook`` are built. One
step of pair STDP applies depression, then potentiation (``stdp_dense_reference`` / ``stdp_dense_kernel``).
Sparse weights are a CSR matrix, whose ``.data`` is updated in place: rows come from ``indptr``/``indices``,
columns from a column index built once by ``csr_column_index``.
"""
from __future__ import annotations

import numba
import numpy as np


def _dependence_reference(distance, mu):
    """(distance)^mu elementwise, exactly 1 for mu = 0 (the additive rule)."""
    return np.ones_like(distance) if mu == 0.0 else distance**mu


def depress(w, pre_idx, x_post, a_minus, w_min, mu):
    """Depression of the rows ``pre_idx`` of dense ``w`` in place; ``x_post`` (n_post,) the postsynaptic trace."""
    rows = w[pre_idx]
    w[pre_idx] = np.maximum(rows - a_minus * x_post * _dependence_reference(rows - w_min, mu), w_min)


def potentiate(w, post_idx, x_pre, post_factor, a_plus, w_max, mu):
    """Potentiation of the columns ``post_idx`` of dense ``w`` in place; ``x_pre`` (n_pre,) the presynaptic trace,
    ``post_factor`` the y_j of those columns (an array of len(post_idx), or 1.0 for the pair rule)."""
    columns = w[:, post_idx]
    w[:, post_idx] = np.minimum(
        columns + a_plus * x_pre[:, None] * post_factor * _dependence_reference(w_max - columns, mu), w_max)


def stdp_dense_reference(w, x_pre, x_post, pre_idx, post_idx, a_plus, a_minus, w_min, w_max, mu):
    """Plain-NumPy pair-STDP step on dense ``w`` (n_pre, n_post), in place. Traces: x_pre (n_pre,), x_post (n_post,)."""
    depress(w, pre_idx, x_post, a_minus, w_min, mu)
    potentiate(w, post_idx, x_pre, 1.0, a_plus, w_max, mu)


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
    """Plain-NumPy pair-STDP step on the ``data`` of a CSR matrix, in place (see ``csr_column_index``)."""
    for i in pre_idx:
        entries = np.arange(indptr[i], indptr[i + 1])
        w = data[entries]
        data[entries] = np.maximum(w - a_minus * x_post[indices[entries]] * _dependence_reference(w - w_min, mu),
                                   w_min)
    for j in post_idx:
        entries = col_entries[col_ptr[j]:col_ptr[j + 1]]
        w = data[entries]
        data[entries] = np.minimum(
            w + a_plus * x_pre[col_rows[col_ptr[j]:col_ptr[j + 1]]] * _dependence_reference(w_max - w, mu), w_max)


@numba.njit(cache=True)
def depress_weight(w, x_post, a_minus, w_min, mu):
    """One depressed weight: max(w - a_minus x_post (w - w_min)^mu, w_min)."""
    factor = 1.0 if mu == 0.0 else (w - w_min) ** mu
    return max(w - a_minus * x_post * factor, w_min)


@numba.njit(cache=True)
def potentiate_weight(w, x_pre, post_factor, a_plus, w_max, mu):
    """One potentiated weight: min(w + a_plus x_pre y (w_max - w)^mu, w_max), y = ``post_factor``."""
    factor = 1.0 if mu == 0.0 else (w_max - w) ** mu
    return min(w + a_plus * x_pre * post_factor * factor, w_max)


@numba.njit(cache=True)
def stdp_dense_kernel(w, x_pre, x_post, pre_idx, post_idx, a_plus, a_minus, w_min, w_max, mu):
    """Fast path of ``stdp_dense_reference``: same arguments, same result."""
    n_pre, n_post = w.shape
    for i in pre_idx:
        for j in range(n_post):
            w[i, j] = depress_weight(w[i, j], x_post[j], a_minus, w_min, mu)
    for j in post_idx:
        for i in range(n_pre):
            w[i, j] = potentiate_weight(w[i, j], x_pre[i], 1.0, a_plus, w_max, mu)


@numba.njit(cache=True)
def stdp_csr_kernel(data, indptr, indices, col_ptr, col_entries, col_rows, x_pre, x_post, pre_idx, post_idx,
                    a_plus, a_minus, w_min, w_max, mu):
    """Fast path of ``stdp_csr_reference``: same arguments, same result."""
    for i in pre_idx:
        for p in range(indptr[i], indptr[i + 1]):
            data[p] = depress_weight(data[p], x_post[indices[p]], a_minus, w_min, mu)
    for j in post_idx:
        for q in range(col_ptr[j], col_ptr[j + 1]):
            p = col_entries[q]
            data[p] = potentiate_weight(data[p], x_pre[col_rows[q]], 1.0, a_plus, w_max, mu)


@numba.njit(cache=True, error_model="numpy")
def normalize_columns_kernel(w, total):
    """Fast path of ``spikingnn.stdp.normalize_columns`` for a C-ordered ``w``: column sums accumulated row by
    row (contiguous), then each column scaled to sum to ``total`` (all-zero columns stay zero)."""
    n_pre, n_post = w.shape
    sums = np.zeros(n_post)
    for i in range(n_pre):
        for j in range(n_post):
            sums[j] += w[i, j]
    for j in range(n_post):
        sums[j] = total / sums[j] if sums[j] > 0 else 1.0
    for i in range(n_pre):
        for j in range(n_post):
            w[i, j] *= sums[j]
