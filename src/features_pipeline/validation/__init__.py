"""Validate: the feature table's pandera schema, cross-split checks and data-quality metrics."""
