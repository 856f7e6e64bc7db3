"""Stage train: feature table -> cross-validated, fitted model (skops) + model card + CV metrics."""

from __future__ import annotations

import argparse
import hashlib

import polars as pl

from features_pipeline import columns as c
from features_pipeline.features.plan_file import read_plan_summary
from features_pipeline.io import read_parquet_input, require_input, write_atomic, write_json_atomic
from features_pipeline.logs import get_logger, timed
from features_pipeline.model.artifacts import save_model
from features_pipeline.model.card import build_card, data_sha256
from features_pipeline.model.params import TrainParams
from features_pipeline.model.train import prepare, timing, train_metrics, train_model
from features_pipeline.params import load_yaml, parse_section
from features_pipeline.paths import CV_FOLDS
from features_pipeline.paths import FEATURE_TABLE as FEATURES
from features_pipeline.paths import MODEL_CARD as CARD
from features_pipeline.paths import MODEL_FILE as MODEL
from features_pipeline.paths import PLAN_FILE as PLAN
from features_pipeline.paths import TRAIN_METRICS as METRICS
from features_pipeline.runner import StageFacts, main_for

log = get_logger("stages.train")


def run(args: argparse.Namespace) -> StageFacts:
    params = parse_section(load_yaml(args.params), "train", TrainParams, args.params)
    plan = read_plan_summary(PLAN)
    source = str(args.params)
    schema = pl.read_parquet_schema(require_input(FEATURES, "features"))
    prepare(pl.DataFrame(schema=schema), params, plan, source)  # params vs inputs, before data
    needed = [*dict.fromkeys([*params.features, params.target, c.SPLIT])]
    frame = read_parquet_input(FEATURES, "features", needed)
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
        feature_spec=plan.spec,
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
