"""GAN Lab's toolkit: datasets, models, training loops, metrics and plots for the notebooks."""

__version__ = "0.1.0"
