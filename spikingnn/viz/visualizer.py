"""``SpikeVisualizer``: the names the usual SNN tutorials use, as thin shortcuts to the plotting functions."""
from __future__ import annotations

from spikingnn._validation import check_positive
from spikingnn.viz.activity import plot_membrane, plot_population_rate, plot_raster


class SpikeVisualizer:
    """Tutorial-style facade; every method returns a matplotlib Figure.

    >>> import numpy as np
    >>> viz = SpikeVisualizer(dt=1.0)
    >>> spikes = np.random.default_rng(0).random((100, 5)) < 0.1          # (T, n) or (T,) bool
    >>> fig = viz.plot_spike_train(spikes)
    >>> len(fig.axes[0].collections[0].get_offsets()) == int(spikes.sum())      # one tick per spike
    True
    >>> fig = viz.plot_membrane_potential(np.linspace(0.0, 1.2, 50), threshold=1.0)
    """

    def __init__(self, dt: float = 1.0):
        check_positive("dt", dt, "ms")
        self.dt = dt

    def plot_spike_train(self, spikes, ax=None, title=None):
        """Raster of a spike train (see ``plot_raster``)."""
        return plot_raster(spikes, self.dt, ax=ax, title=title)

    def plot_membrane_potential(self, v, threshold=1.0, spikes=None, ax=None):
        """Membrane trace(s) with the threshold line (see ``plot_membrane``)."""
        return plot_membrane(v, self.dt, threshold=threshold, spikes=spikes, ax=ax)

    def plot_population_rate(self, spikes, window=5.0, ax=None):
        """Smoothed population rate in Hz (see ``plot_population_rate``)."""
        return plot_population_rate(spikes, self.dt, window=window, ax=ax)
