"""Checks made at the library's boundary, so that kernels can trust their inputs.

Every check raises ``ValueError`` naming the parameter, the accepted range and the value received,
e.g. ``tau_mem must be > 0 ms; got -5.0``. Values may be scalars or arrays (heterogeneous populations):
an array passes when every element does.
"""
from __future__ import annotations

from typing import Iterable

import numpy as np


def _describe(value) -> str:
    arr = np.asarray(value)
    if arr.ndim == 0:
        return repr(value)
    finite = arr[np.isfinite(arr)] if arr.dtype.kind in "fc" else arr.ravel()
    return f"an array of shape {arr.shape} (min {finite.min() if finite.size else 'n/a'})"


def check_finite(name: str, value) -> np.ndarray:
    """Reject NaN and infinity; return ``value`` as a float array."""
    arr = np.asarray(value, dtype=float)
    if not np.all(np.isfinite(arr)):
        bad = "NaN" if np.any(np.isnan(arr)) else "infinite"
        raise ValueError(f"{name} must be finite (no NaN or inf); got {bad} values in {_describe(value)}")
    return arr


def check_positive(name: str, value, unit: str = "") -> np.ndarray:
    """Require ``value > 0`` (and finite) elementwise."""
    arr = check_finite(name, value)
    if not np.all(arr > 0):
        raise ValueError(f"{name} must be > 0{' ' + unit if unit else ''}; got {_describe(value)}")
    return arr


def check_non_negative(name: str, value, unit: str = "") -> np.ndarray:
    """Require ``value >= 0`` (and finite) elementwise."""
    arr = check_finite(name, value)
    if not np.all(arr >= 0):
        raise ValueError(f"{name} must be >= 0{' ' + unit if unit else ''}; got {_describe(value)}")
    return arr


def check_in_range(name: str, value, low: float, high: float) -> np.ndarray:
    """Require ``low <= value <= high`` elementwise."""
    arr = check_finite(name, value)
    if not np.all((arr >= low) & (arr <= high)):
        raise ValueError(f"{name} must be in [{low}, {high}]; got {_describe(value)}")
    return arr


def check_choice(name: str, value, choices: Iterable[str]) -> str:
    """Require ``value`` to be one of the allowed strings."""
    choices = tuple(choices)
    if value not in choices:
        raise ValueError(f"{name} must be one of {', '.join(repr(c) for c in choices)}; got {value!r}")
    return value


def check_shape(name: str, array: np.ndarray, shape: tuple) -> None:
    """Require ``array.shape == shape``; ``None`` in ``shape`` matches any size."""
    actual = np.shape(array)
    if len(actual) != len(shape) or any(s is not None and s != a for s, a in zip(shape, actual)):
        expected = "(" + ", ".join("any" if s is None else str(s) for s in shape) + ")"
        raise ValueError(f"{name} must have shape {expected}; got {actual}")


def as_rng(seed=None) -> np.random.Generator:
    """Normalise ``seed`` (None, an int or a Generator) to a ``numpy.random.Generator``.

    A Generator passed in is used as is, so successive calls draw fresh numbers from one stream;
    the same integer seed always gives the same stream.
    """
    if isinstance(seed, np.random.Generator):
        return seed
    if seed is None or isinstance(seed, (int, np.integer)):
        return np.random.default_rng(seed)
    raise ValueError(f"seed/rng must be None, an int or a numpy.random.Generator; got {type(seed).__name__}")
