"""features-pipeline: a reproducible DVC pipeline from a tabular CSV (described by a dataset
contract) to a trained, evaluated model; Sales Records / Total Profit by default."""

__version__ = "0.1.0"
