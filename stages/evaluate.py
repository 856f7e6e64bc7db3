"""Stage evaluate: model on the test split -> metrics + gates, plot data, offline report."""

from __future__ import annotations

import argparse
from pathlib import Path

import polars as pl

from features_pipeline import columns as c
from features_pipeline.errors import UserError
from features_pipeline.ingest.split import TEST
from features_pipeline.io import (
    read_json_object,
    read_parquet_input,
    require_input,
    write_atomic,
    write_json_atomic,
    write_parquet_atomic,
)
from features_pipeline.logs import get_logger, timed
from features_pipeline.model.artifacts import load_model_checked
from features_pipeline.model.evaluate import card_inputs, evaluate_model, require_columns
from features_pipeline.model.gates import failure_line
from features_pipeline.model.params import EvaluateParams, TrainParams
from features_pipeline.model.threads import model_threads
from features_pipeline.model.train import split_rows
from features_pipeline.params import load_yaml, parse_section
from features_pipeline.paths import CV_FOLDS, TRAIN_METRICS
from features_pipeline.paths import FEATURE_TABLE as FEATURES
from features_pipeline.paths import MODEL_CARD as CARD
from features_pipeline.paths import MODEL_FILE as MODEL
from features_pipeline.report.build import report_data
from features_pipeline.report.html import render_html
from features_pipeline.report.markdown import render_markdown
from features_pipeline.runner import StageFacts, main_for

METRICS = Path("metrics/metrics.json")
PREDICTIONS = Path("data/predictions/test.parquet")
POINTS = Path("plots/predictions.csv")
IMPORTANCE = Path("plots/importance.csv")
REPORT_HTML = Path("reports/evaluation.html")
REPORT_MD = Path("reports/evaluation.md")
log = get_logger("stages.evaluate")


def write_text(path: Path, text: str) -> None:
    write_atomic(path, lambda tmp: tmp.write_text(text, encoding="utf-8"))


def run(args: argparse.Namespace) -> StageFacts:
    raw = load_yaml(args.params)
    params = parse_section(raw, "evaluate", EvaluateParams, args.params)
    train = parse_section(raw, "train", TrainParams, args.params)
    card = read_json_object(CARD, "train")
    features, target = card_inputs(card, str(CARD))
    model = load_model_checked(MODEL, card, str(CARD))
    schema = pl.read_parquet_schema(require_input(FEATURES, "features"))
    needed = [*dict.fromkeys([*features, target, c.ORDER_ID, c.SPLIT])]
    require_columns(schema, needed, str(FEATURES), f"model inputs named in {CARD}")
    frame = read_parquet_input(FEATURES, "features", needed)
    test = split_rows(frame, TEST, str(FEATURES))
    with (
        timed(log, "evaluate", rows=test.height, features=len(features)),
        model_threads(train.threads),
    ):
        evaluation = evaluate_model(model, test, features, target, params)
    log.info("test %s", " ".join(f"{k}={v}" for k, v in evaluation.metrics.items()))
    for gate in evaluation.gates:
        log.info("gate %s: %s", "passed" if gate.passed else "FAILED", gate.describe())

    write_parquet_atomic(evaluation.predictions, PREDICTIONS)
    write_atomic(POINTS, lambda tmp: evaluation.points.write_csv(tmp))
    write_atomic(IMPORTANCE, lambda tmp: evaluation.importance.write_csv(tmp))
    with timed(log, "report"):
        report = report_data(
            evaluation,
            cv_summary=read_json_object(TRAIN_METRICS, "train").get("cv", {}),
            cv_folds=pl.read_csv(require_input(CV_FOLDS, "train")),
            card=card,
            params={
                "train": train.model_dump(mode="json"),
                "evaluate": params.model_dump(mode="json"),
            },
        )
        write_text(REPORT_HTML, render_html(report))
        write_text(REPORT_MD, render_markdown(report))
    write_json_atomic(evaluation.metrics_record(), METRICS)
    log.info("wrote %s, %s, %s", METRICS, REPORT_HTML, REPORT_MD)
    failed = failure_line(evaluation.gates)
    if failed and params.fail_on_gate:
        raise UserError(f"{failed} (evaluate.fail_on_gate is true)")
    return {"rows": test.height, "cols": len(features)}


if __name__ == "__main__":
    main_for("evaluate", run, __doc__ or "")
