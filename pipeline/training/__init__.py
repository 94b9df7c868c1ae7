"""Fitting the evidence model: the labelled rows, the fit, cross-validation and evaluation, and learning from
analysts' decisions. ``python -m pipeline.training`` rebuilds the shipped artefacts."""
