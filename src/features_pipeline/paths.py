"""Where the stages put what they share (the same paths dvc.yaml declares as deps and outs)."""

from __future__ import annotations

from pathlib import Path

INTERIM_TABLE = Path("data/interim/sales.parquet")  # ingest -> features
FEATURE_TABLE = Path("data/features/features.parquet")  # features -> validate, train, evaluate
PLAN_FILE = Path("data/features/plan.json")  # features -> validate, train
FEATURE_STATE = Path("data/features/state")  # features -> predict
MODEL_FILE = Path("models/model.skops")  # train -> evaluate, predict
MODEL_CARD = Path("models/model_card.json")  # train -> evaluate, predict
TRAIN_METRICS = Path("metrics/train.json")  # train -> evaluate (report)
CV_FOLDS = Path("plots/cv_folds.csv")  # train -> evaluate (report)
