"""``features-pipeline predict``: a CSV of new orders in, a CSV of predictions out.

The model card beside the model says what it needs; invalid rows are reported and skipped (or
fail the run, by choice) and never predicted.
"""

from __future__ import annotations

import argparse
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import polars as pl

from features_pipeline.contracts.card import ModelCard, read_card
from features_pipeline.contracts.dataset import DatasetContract, read_contract
from features_pipeline.contracts.params import read_params
from features_pipeline.contracts.paths import CARD_NAME, DEFAULT_PARAMS, FEATURE_STATE
from features_pipeline.contracts.plan_file import Kind
from features_pipeline.engines.params import EngineParams
from features_pipeline.engines.registry import DEFAULT_ENGINE, capabilities
from features_pipeline.errors import UserError
from features_pipeline.features.state import FittedState, load_state
from features_pipeline.io import temp_path, write_csv_atomic
from features_pipeline.logs import get_logger, status, timed
from features_pipeline.model.artifacts import load_model_checked
from features_pipeline.predict.batched import batch_rows as budget_batch_rows
from features_pipeline.predict.batched import (
    batchable,
    require_windows_in_budget,
    score_batches,
)
from features_pipeline.predict.inputs import (
    check_state_matches,
    describe_unseen,
    known_categories,
    model_inputs,
    needed_raw_columns,
    predict_rows,
    unseen_flags,
)
from features_pipeline.predict.new_rows import (
    OnInvalid,
    describe_rejected,
    no_rows,
    read_history,
    read_new_rows,
)

log = get_logger("predict")  # the package logger: features_pipeline.predict


@dataclass(frozen=True)
class PredictResult:
    """What a predict run wrote, what it skipped and how many rows it read."""

    predictions: pl.DataFrame  # Order ID, Predicted <target>, unseen_category (valid rows)
    rejected: pl.DataFrame  # one row per failure: line, column, check, value
    rows_read: int
    rejected_rows: pl.DataFrame | None = None  # the rejected input rows, with their problems


def check_output(path: Path, option: str, input_path: Path) -> None:
    """An output file can be written: not a folder, its folder exists, not the input file, and
    the atomic writer's temp file can be made beside it (checked before any work is done)."""
    if path.is_dir():
        raise UserError(f"{path}: {option} is a folder; give a file path such as {path / 'x.csv'}")
    if not path.parent.is_dir():
        raise UserError(f"{path}: {option}: folder {str(path.parent)!r} does not exist")
    if path.exists() and input_path.exists() and path.resolve() == input_path.resolve():
        raise UserError(f"{path}: {option} is the input file; it would be overwritten")
    probe = temp_path(path)
    try:
        os.close(os.open(probe, os.O_CREAT | os.O_WRONLY | os.O_TRUNC, 0o600))
    except OSError as exc:
        raise UserError(
            f"{path}: {option}: cannot write a file in {str(path.parent)!r} ({exc.strerror})"
        ) from None
    probe.unlink(missing_ok=True)


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
    dataset: DatasetContract | None = None,
    params_path: Path = DEFAULT_PARAMS,
    batch_rows: int | None = None,
) -> PredictResult:
    """Predict every valid row of the CSV ``input_path`` into ``output_path`` (CSV, atomic).

    ``card_path`` defaults to ``model_card.json`` beside the model; ``state_path`` is the fitted
    feature state of the features stage; ``history_path`` (parquet or CSV of earlier orders) is
    needed when the model uses window features. Invalid rows are skipped and reported (also
    written to ``rejected_path`` if given) or, with ``on_invalid="fail"``, end the run.
    ``dataset`` defaults to the contract ``params_path`` names (columns, types, key).
    ``batch_rows`` (default: from ``engine.memory_limit`` of ``params_path``, None without one)
    scores the input that many rows at a time (:mod:`.batched`; the same output file).
    """
    check_output(output_path, "--output", input_path)
    if rejected_path is not None:
        check_output(rejected_path, "--rejected", input_path)
        if rejected_path.resolve() == output_path.resolve():
            raise UserError(f"{rejected_path}: --rejected is the same file as --output")
    if model_path.is_dir():
        raise UserError(
            f"{model_path}: --model is a folder; give the model file (e.g. models/model.skops)"
        )
    card_path = card_path or model_path.with_name(CARD_NAME)
    card = read_card(card_path)  # the card is written beside the model
    model = load_model_checked(model_path, card, str(card_path))
    state = load_state(state_path)
    check_state_matches(card, state, str(card_path))
    features, target = list(card.features), card.target
    engine = None
    if dataset is None:
        params = read_params(params_path)
        dataset = read_contract(params)
        engine = params.section("engine", EngineParams)
        if batch_rows is None:
            batch_rows = budget_batch_rows(engine, len(features))
    required = needed_raw_columns(state.plan, features, dataset)
    windows = not batchable(state, features)
    if engine is not None and windows and history_path is not None:
        columns = len(required) + len(features)
        require_windows_in_budget(engine, history_path, input_path, columns)
    if batch_rows is not None and not windows:
        if history_path is not None:
            log.info("%s: the model uses no window feature; history not needed", history_path)
        return predict_batched(
            model,
            card,
            state,
            input_path,
            output_path,
            required=required,
            dataset=dataset,
            on_invalid=on_invalid,
            rows=batch_rows,
            card_source=str(card_path),
            rejected_path=rejected_path,
        )
    with timed(log, "read_new_rows", path=input_path) as fields, status(f"reading {input_path}"):
        new = read_new_rows(input_path, required, dataset, on_invalid)
        fields.update(rows=new.rows_read, valid=new.frame.height)
    if new.rejected.height:
        log.warning("%s: skipped %s", input_path, describe_rejected(new.rejected))
    subplan = state.plan.restricted_to(features)
    history = None
    if history_path is not None:
        if subplan.names_of(Kind.WINDOW):
            history = read_history(history_path, required, dataset)
        else:
            log.info("%s: the model uses no window feature; history not needed", history_path)
    with timed(log, "predict", rows=new.frame.height):
        inputs = model_inputs(card, state, new.frame, dataset, history, str(card_path))
        predictions = predict_rows(model, target, new.frame, inputs, dataset.row_key)
    unseen = describe_unseen(inputs, unseen_flags(inputs, known_categories(model)))
    if unseen:
        log.warning("%s: %s", input_path, unseen)
    write_csv_atomic(predictions, output_path)
    log.info("wrote %s (%d predictions of %s)", output_path, predictions.height, target)
    if rejected_path is not None:  # written even when empty: no stale file from an earlier run
        write_csv_atomic(new.rejected_rows, rejected_path)
        log.info("wrote %s (%d rejected rows)", rejected_path, new.rejected_rows.height)
    return PredictResult(
        predictions=predictions,
        rejected=new.rejected,
        rows_read=new.rows_read,
        rejected_rows=new.rejected_rows,
    )


def predict_batched(
    model: Any,
    card: ModelCard,
    state: FittedState,
    input_path: Path,
    output_path: Path,
    *,
    required: list[str],
    dataset: DatasetContract,
    on_invalid: OnInvalid,
    rows: int,
    card_source: str,
    rejected_path: Path | None,
) -> PredictResult:
    """:func:`predict_csv` a batch of ``rows`` rows at a time (:func:`score_batches`); the
    result's ``predictions`` is empty (they are in the output file only)."""
    with timed(log, "predict_batches", path=input_path, batch_rows=rows) as fields:
        totals, unseen = score_batches(
            model,
            card,
            state,
            input_path,
            output_path,
            required=required,
            dataset=dataset,
            on_invalid=on_invalid,
            rows=rows,
            card_source=card_source,
        )
        fields.update(rows=totals.rows_read, predicted=totals.predicted)
    rejected = pl.concat(totals.rejected or []).sort("line", maintain_order=True)
    if rejected.height:
        log.warning("%s: skipped %s", input_path, describe_rejected(rejected))
    if unseen:
        log.warning("%s: %s", input_path, unseen)
    log.info("wrote %s (%d predictions of %s)", output_path, totals.predicted, card.target)
    found = [rows for rows in totals.rejected_rows or [] if rows.height]
    rejected_rows = pl.concat(found, how="diagonal_relaxed") if found else no_rows()
    if rejected_path is not None:
        write_csv_atomic(rejected_rows, rejected_path)
        log.info("wrote %s (%d rejected rows)", rejected_path, rejected_rows.height)
    empty = pl.DataFrame(schema={name: dataset.dtypes[name] for name in dataset.row_key})
    return PredictResult(empty, rejected, totals.rows_read, rejected_rows)


def run(args: argparse.Namespace) -> None:
    """Body of ``features-pipeline predict`` (for ``run_stage``)."""
    if capabilities(args.engine or DEFAULT_ENGINE).cluster:
        run_spark(args)
        return
    predict_csv(
        args.model,
        Path(args.input),
        Path(args.output),
        card_path=args.card,
        state_path=args.state,
        history_path=args.history,
        on_invalid=args.on_invalid,
        rejected_path=args.rejected,
        params_path=args.params,
    )


def run_spark(args: argparse.Namespace) -> None:
    """``predict --engine spark``: options Spark cannot honour are refused by name."""
    from features_pipeline.predict.spark import predict_spark

    for option, value in (("--history", args.history), ("--rejected", args.rejected)):
        if value is not None:
            raise UserError(
                f"predict --engine spark: {option} is not supported on Spark (use --engine polars)"
            )
    predict_spark(
        args.model,
        args.input,
        args.output,
        card_path=args.card,
        state_path=args.state,
        params_path=args.params,
        on_invalid=args.on_invalid,
    )
