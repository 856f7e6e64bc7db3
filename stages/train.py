"""Stage train: feature table -> cross-validated, fitted model (skops) + model card + CV metrics."""

from __future__ import annotations

import argparse
import hashlib
import json
from pathlib import Path

import polars as pl

from features_pipeline.errors import UserError
from features_pipeline.io import write_atomic, write_json_atomic
from features_pipeline.logs import get_logger, timed
from features_pipeline.model.artifacts import save_model
from features_pipeline.model.card import build_card, data_sha256
from features_pipeline.model.inputs import parse_plan
from features_pipeline.model.params import TrainParams
from features_pipeline.model.train import prepare, timing, train_metrics, train_model
from features_pipeline.params import load_yaml, parse_section
from features_pipeline.runner import StageFacts, main_for

FEATURES = Path("data/features/features.parquet")
PLAN = Path("data/features/plan.json")
MODEL = Path("models/model.skops")
CARD = Path("models/model_card.json")
METRICS = Path("metrics/train.json")
CV_FOLDS = Path("plots/cv_folds.csv")
log = get_logger("stages.train")


def read_plan(path: Path) -> dict:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise UserError(f"{path}: not found (run the features stage first)") from None
    except json.JSONDecodeError as exc:
        raise UserError(f"{path}: invalid JSON at line {exc.lineno}: {exc.msg}") from None


def read_features(path: Path) -> pl.DataFrame:
    if not path.exists():
        raise UserError(f"{path}: not found (run the features stage first)")
    return pl.read_parquet(path)


def run(args: argparse.Namespace) -> StageFacts:
    params = parse_section(load_yaml(args.params), "train", TrainParams, args.params)
    raw_plan = read_plan(PLAN)
    plan = parse_plan(raw_plan, str(PLAN))
    source = str(args.params)
    schema = pl.read_parquet_schema(FEATURES) if FEATURES.exists() else None
    if schema is not None:  # check params and inputs before reading any data
        prepare(pl.DataFrame(schema=schema), params, plan, source)
    frame = read_features(FEATURES)
    with timed(log, "train", model=params.model.name, folds=params.cv_folds) as fields:
        result = train_model(frame, params, plan, source, table=str(FEATURES))
        fields.update(rows=result.rows, features=len(params.features), **timing(result))
    for warning in result.warnings:
        log.warning("%s", warning)
    metrics = train_metrics(result)
    log.info("cv %s", " ".join(f"{key}={value}" for key, value in metrics["cv"].items()))
    data = save_model(result.model, MODEL)
    card = build_card(
        target=params.target,
        features=params.features,
        roles=result.roles,
        schema=frame.schema,
        plan=plan,
        model_name=params.model.name,
        estimator=result.estimator,
        training_rows=result.rows,
        training_sha256=data_sha256(result.training_frame),
        seed=params.seed,
        cv=metrics["cv"],
        model_sha256=hashlib.sha256(data).hexdigest(),
        feature_spec=raw_plan.get("spec"),
    )
    write_json_atomic(card, CARD)
    write_json_atomic(metrics, METRICS)
    table = result.cv.fold_table()
    write_atomic(CV_FOLDS, lambda tmp: table.write_csv(tmp))
    log.info("wrote %s, %s, %s, %s", MODEL, CARD, METRICS, CV_FOLDS)
    # wall-clock fit times go to metrics/timing/train.json with the stage's time (not hashed)
    return {"rows": result.rows, "cols": len(params.features), **timing(result)}


if __name__ == "__main__":
    main_for("train", run, __doc__ or "")
