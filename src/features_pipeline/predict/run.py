"""``features-pipeline predict``: a CSV of new orders in, a CSV of predictions out.

The model card beside the model says what it needs; invalid rows are reported and skipped (or
fail the run, by choice) and never predicted.
"""

from __future__ import annotations

import argparse
from dataclasses import dataclass
from pathlib import Path

import polars as pl

from features_pipeline.contracts.card import read_card
from features_pipeline.contracts.paths import CARD_NAME, FEATURE_STATE
from features_pipeline.contracts.plan_file import Kind
from features_pipeline.features.state import load_state
from features_pipeline.io import write_csv_atomic
from features_pipeline.logs import get_logger, status, timed
from features_pipeline.model.artifacts import load_model_checked
from features_pipeline.predict.inputs import (
    check_state_matches,
    model_inputs,
    needed_raw_columns,
    predict_rows,
)
from features_pipeline.predict.new_rows import (
    OnInvalid,
    describe_rejected,
    read_history,
    read_new_rows,
)

log = get_logger("predict")  # the package logger: features_pipeline.predict


@dataclass(frozen=True)
class PredictResult:
    """What a predict run wrote, what it skipped and how many rows it read."""

    predictions: pl.DataFrame  # Order ID, Predicted <target> (input order, valid rows only)
    rejected: pl.DataFrame
    rows_read: int


def predict_csv(
    model_path: Path,
    input_path: Path,
    output_path: Path,
    *,
    card_path: Path | None = None,
    state_path: Path = FEATURE_STATE.path,
    history_path: Path | None = None,
    on_invalid: OnInvalid = "skip",
    rejected_path: Path | None = None,
) -> PredictResult:
    """Predict every valid row of the CSV ``input_path`` into ``output_path`` (CSV, atomic).

    ``card_path`` defaults to ``model_card.json`` beside the model; ``state_path`` is the fitted
    feature state of the features stage; ``history_path`` (parquet or CSV of earlier orders) is
    needed when the model uses window features. Invalid rows are skipped and reported (also
    written to ``rejected_path`` if given) or, with ``on_invalid="fail"``, end the run.
    """
    card_path = card_path or model_path.with_name(CARD_NAME)
    card = read_card(card_path)  # the card is written beside the model
    model = load_model_checked(model_path, card, str(card_path))
    state = load_state(state_path)
    check_state_matches(card, state, str(card_path))
    features, target = list(card.features), card.target
    required = needed_raw_columns(state.plan, features)
    with timed(log, "read_new_rows", path=input_path) as fields, status(f"reading {input_path}"):
        new = read_new_rows(input_path, required, on_invalid)
        fields.update(rows=new.rows_read, valid=new.frame.height)
    if new.rejected.height:
        log.warning("%s: skipped %s", input_path, describe_rejected(new.rejected))
        if rejected_path is not None:
            write_csv_atomic(new.rejected, rejected_path)
    subplan = state.plan.restricted_to(features)
    history = None
    if history_path is not None:
        if subplan.names_of(Kind.WINDOW):
            history = read_history(history_path, required)
        else:
            log.info("%s: the model uses no window feature; history not needed", history_path)
    with timed(log, "predict", rows=new.frame.height):
        inputs = model_inputs(card, state, new.frame, history, str(card_path))
        predictions = predict_rows(model, target, new.frame, inputs)
    write_csv_atomic(predictions, output_path)
    log.info("wrote %s (%d predictions of %s)", output_path, predictions.height, target)
    return PredictResult(predictions=predictions, rejected=new.rejected, rows_read=new.rows_read)


def run(args: argparse.Namespace) -> None:
    """Body of ``features-pipeline predict`` (for ``run_stage``)."""
    predict_csv(
        args.model,
        args.input,
        args.output,
        card_path=args.card,
        state_path=args.state,
        history_path=args.history,
        on_invalid=args.on_invalid,
        rejected_path=args.rejected,
    )
