"""Model training and evaluation: registry, pipeline, CV, artifacts, metrics, gates."""
