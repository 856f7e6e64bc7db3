"""features-pipeline: a reproducible DVC pipeline from a sales CSV to a Total Profit model."""

__version__ = "0.1.0"
