"""Small helpers shared by the plotting functions: where to draw, which colours to use."""
from __future__ import annotations

import numpy as np


def figure_and_axes(ax=None, figsize=(6.4, 3.6)):
    """Return ``(fig, ax)``: the figure of ``ax`` when one is given, else a new figure with one axes.

    pyplot is imported here, not at module import, so ``import spikingnn`` stays fast and a script can still
    choose its backend first (``spikingnn.plotting.use_backend``).
    """
    if ax is not None:
        return ax.figure, ax
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=figsize, layout="constrained")
    return fig, ax


def new_figure(nrows=1, ncols=1, figsize=(6.4, 3.6), **kwargs):
    """A new figure with a grid of axes (always a 2-D array of axes, ``squeeze=False``)."""
    import matplotlib.pyplot as plt

    return plt.subplots(nrows, ncols, figsize=figsize, layout="constrained", squeeze=False, **kwargs)


def category_colors(n: int) -> list:
    """``n`` distinct colours: the tab10 cycle (tab20 beyond ten categories)."""
    import matplotlib

    cmap = matplotlib.colormaps["tab10" if n <= 10 else "tab20"]
    return [cmap(k % cmap.N) for k in range(n)]


def as_time_first_2d(name: str, array, dtype=None) -> np.ndarray:
    """View a (T,) array as (T, 1); accept (T, n) as is; anything else raises ValueError naming ``name``."""
    arr = np.asarray(array, dtype=dtype)
    if arr.ndim == 1:
        return arr[:, None]
    if arr.ndim != 2:
        raise ValueError(f"{name} must have shape (T,) or (T, n), time first; got {arr.shape}")
    return arr
