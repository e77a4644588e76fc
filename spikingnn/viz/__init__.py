"""Plotting functions, grouped by what they show; ``spikingnn.plotting`` re-exports all of them.

- ``activity``: spike rasters, membrane traces, population rate, output spike counts (time on the x-axis);
- ``learning``: weight histograms, receptive fields, training curves, confusion matrix;
- ``classifier``: a classifier at work on one image (output raster, membranes, counts), accuracy vs energy;
- ``visualizer``: ``SpikeVisualizer``, tutorial-style shortcuts.
"""
from spikingnn.viz.activity import (plot_membrane, plot_output_counts, plot_population_rate, plot_raster,
                                    plot_raster_events, smoothed_rate)
from spikingnn.viz.classifier import plot_accuracy_vs_energy, plot_output_activity
from spikingnn.viz.learning import (plot_confusion_matrix, plot_receptive_fields, plot_training_curves,
                                    plot_weight_histograms)
from spikingnn.viz.visualizer import SpikeVisualizer

__all__ = ["plot_raster", "plot_raster_events", "plot_membrane", "plot_population_rate", "smoothed_rate",
           "plot_output_counts", "plot_output_activity", "plot_accuracy_vs_energy",
           "plot_weight_histograms", "plot_receptive_fields", "plot_training_curves",
           "plot_confusion_matrix", "SpikeVisualizer"]
