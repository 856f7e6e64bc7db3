"""features-pipeline: a reproducible DVC pipeline from a tabular CSV (described by a dataset
contract) to a trained, evaluated model; Sales Records / Total Profit by default.

Importing the package pins the numeric kernels of numpy and scipy (see
:mod:`features_pipeline.kernels`) when they are not loaded yet: the same bits on every CPU."""

from features_pipeline import kernels as _kernels

_kernels.pin()

__version__ = "0.1.0"
