"""The five stages' wiring: read params once, call the package, write outputs atomically.

``stages/<name>.py`` (what dvc.yaml runs) and ``features-pipeline <name>`` both run
``features_pipeline.stages.<name>.run`` through :func:`features_pipeline.runner.run_stage`.
"""

STAGES: tuple[str, ...] = ("ingest", "features", "validate", "train", "evaluate")
