"""Plotting functions, grouped by what they show; ``spikingnn.plotting`` re-exports all of them.

- ``activity``: spike rasters, membrane traces, population rate, the race of the output counts or scores
  (time on the x-axis);
- ``learning``: weight histograms, receptive fields, training curves, confusion matrix;
- ``classifier``: a classifier at work on one image, drawn as its read-out works (output raster and counts, or
  the non-spiking read-out's membranes and score), accuracy vs energy;
- ``visualizer``: ``SpikeVisualizer``, tutorial-style shortcuts.
"""
from spikingnn.viz.activity import (
    plot_membrane,
    plot_output_counts,
    plot_population_rate,
    plot_raster,
    plot_raster_events,
    plot_score_race,
    smoothed_rate,
)
from spikingnn.viz.classifier import (
    Readout,
    plot_accuracy_vs_energy,
    plot_output_activity,
    plot_prediction,
    readout,
    running_scores,
)
from spikingnn.viz.learning import (
    plot_confusion_matrix,
    plot_receptive_fields,
    plot_training_curves,
    plot_weight_histograms,
)
from spikingnn.viz.visualizer import SpikeVisualizer

__all__ = ["plot_raster", "plot_raster_events", "plot_membrane", "plot_population_rate", "smoothed_rate",
           "plot_output_counts", "plot_score_race", "plot_output_activity", "plot_prediction", "Readout",
           "readout", "running_scores", "plot_accuracy_vs_energy", "plot_weight_histograms",
           "plot_receptive_fields", "plot_training_curves", "plot_confusion_matrix", "SpikeVisualizer"]
