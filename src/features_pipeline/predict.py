"""Predict for new orders: parse the CSV as ingest does, apply the saved feature state and model.

Rows that break the raw contract are reported and skipped (or fail the run, by choice); they are
never predicted. Window features (lag, rolling, rank, cumulative) look at earlier orders: a model
using them needs the history table, and is refused without it.
"""

from __future__ import annotations

import argparse
import dataclasses
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import numpy as np
import polars as pl

from features_pipeline import columns as c
from features_pipeline.errors import UserError
from features_pipeline.features.engine import transform
from features_pipeline.features.plan import Plan
from features_pipeline.features.state import FittedState, load_state
from features_pipeline.features.types import Kind
from features_pipeline.ingest.contract import check_raw_contract
from features_pipeline.ingest.csv_reader import (
    FIRST_DATA_LINE,
    LINE_COLUMN,
    parse_columns,
    read_raw_strings,
    read_sales_csv,
)
from features_pipeline.io import read_json_object, write_atomic
from features_pipeline.logs import get_logger, progress, status, timed
from features_pipeline.model.artifacts import load_model_checked
from features_pipeline.model.evaluate import card_inputs
from features_pipeline.paths import FEATURE_STATE

OnInvalid = Literal["skip", "fail"]
CARD_NAME = "model_card.json"
REJECTED_COLUMNS = ("line", "column", "check", "value")
SHOWN_EXAMPLES = 3
PREDICT_BATCH = 100_000  # rows per model.predict call (a progress bar advances per batch)
_NEW = "__new_row__"
log = get_logger(__name__)


@dataclass(frozen=True)
class NewRows:
    """Typed raw rows that passed the raw contract, and the rows that did not."""

    frame: pl.DataFrame
    rejected: pl.DataFrame  # line, column, check, value (one row per failure)
    rows_read: int


@dataclass(frozen=True)
class PredictResult:
    predictions: pl.DataFrame  # Order ID, Predicted <target> (input order, valid rows only)
    rejected: pl.DataFrame
    rows_read: int


def prediction_column(target: str) -> str:
    return f"Predicted {target}"


def needed_features(plan: Plan, inputs: Sequence[str]) -> list[str]:
    """The engineered features among ``inputs`` and every feature they are computed from."""
    names = set(plan.names)
    needed: set[str] = set()
    pending = [name for name in inputs if name in names]
    while pending:
        name = pending.pop()
        if name in needed:
            continue
        needed.add(name)
        pending.extend(col for col in plan[name].feature.row_inputs() if col in names)
    return [name for name in plan.names if name in needed]


def needed_raw_columns(plan: Plan, inputs: Sequence[str]) -> list[str]:
    """Raw columns a row must carry to compute ``inputs`` (fitted features: their join keys)."""
    features = needed_features(plan, inputs)
    raw = [name for name in inputs if name not in plan.names]
    for name in features:
        raw += [col for col in plan[name].feature.row_inputs() if col not in plan.names]
    return [name for name in c.RAW_COLUMNS if name in set(raw) | {c.ORDER_ID}]


def feature_subplan(plan: Plan, inputs: Sequence[str]) -> Plan:
    """``plan`` restricted to what ``inputs`` need: new rows need not carry the target."""
    keep = set(needed_features(plan, inputs))
    return dataclasses.replace(plan, features=tuple(p for p in plan.features if p.name in keep))


def check_state_matches(card: dict[str, Any], state: FittedState, source: str) -> None:
    """Every engineered model input exists in the feature state with the dtype it was trained on."""
    features, target = card_inputs(card, source)
    if state.plan.target != target:
        raise UserError(
            f"{source}: the model predicts {target!r} but the feature state was built for "
            f"{state.plan.target!r}"
        )
    names = set(state.plan.names)
    for name in features:
        kind = card.get("inputs", {}).get(name, {}).get("kind")
        if kind in (None, "raw"):
            continue
        if name not in names:
            raise UserError(f"{source}: model input {name!r} is not in the feature state")
        trained = card["inputs"][name].get("dtype")
        if str(state.plan[name].dtype) != trained:
            raise UserError(
                f"{source}: model input {name!r} was {trained} in training but the feature state "
                f"makes {state.plan[name].dtype}; re-run the pipeline (dvc repro)"
            )


def _failure_rows(details: pl.DataFrame, lines: pl.Series | None = None) -> pl.DataFrame:
    """Failure cases as (line, column, check, value); ``lines`` maps 0-based rows to lines."""
    if lines is None:
        line = details.get_column("line").cast(pl.Int64)
    else:
        line = lines.cast(pl.Int64).gather(details.get_column("row"))
    return details.select(
        line.alias("line"),
        pl.col("column").cast(pl.String),
        pl.col("check").cast(pl.String),
        pl.col("value").cast(pl.String),
    )


def _no_failures() -> pl.DataFrame:
    return pl.DataFrame(schema={"line": pl.Int64, **dict.fromkeys(REJECTED_COLUMNS[1:], pl.String)})


def read_new_rows(path: Path, required: Sequence[str], on_invalid: OnInvalid = "skip") -> NewRows:
    """Parse ``path`` like ingest and check the raw contract on the columns it has.

    ``required`` columns must exist. Rows with unparsable cells or failing a contract check are
    skipped and returned in ``rejected`` (``on_invalid="skip"``) or fail the run (``"fail"``).
    """
    strings = read_raw_strings(path)
    missing = [name for name in required if name not in strings.columns]
    if missing:
        raise UserError(
            f"{path}: missing column(s) {', '.join(map(repr, missing))} needed by the model"
        )
    rejected: list[pl.DataFrame] = []
    while True:
        try:
            parsed = parse_columns(path, strings)
            break
        except UserError as error:
            if on_invalid == "fail" or error.details is None:
                raise
            rejected.append(_failure_rows(error.details))
            bad_lines = error.details.get_column("line").cast(pl.Int64)
            strings = strings.filter(~pl.col(LINE_COLUMN).cast(pl.Int64).is_in(bad_lines.implode()))
            if strings.height == 0:
                raise UserError(f"{path}: no row can be read ({error.message})") from None
    lines = strings.get_column(LINE_COLUMN)
    if on_invalid == "fail":
        frame = check_raw_contract(parsed, str(path), required, FIRST_DATA_LINE, "line")
        return NewRows(frame, _no_failures(), frame.height)
    try:
        frame = check_raw_contract(parsed, str(path), required, first_row=0, row_word="row")
    except UserError as error:
        details = error.details
        if details is None or details.get_column("row").null_count():
            raise  # a table-level failure (e.g. a missing column): no row can be trusted
        rejected.append(_failure_rows(details, lines))
        bad = set(details.get_column("row").to_list())
        keep = pl.Series([index not in bad for index in range(parsed.height)])
        if not keep.any():
            raise UserError(f"{path}: every row fails the raw contract ({error.message})") from None
        frame = parsed.filter(keep)
    table = pl.concat(rejected).sort("line", maintain_order=True) if rejected else _no_failures()
    rows_read = frame.height + table.get_column("line").n_unique()
    return NewRows(frame=frame, rejected=table, rows_read=rows_read)


def read_history(path: Path, columns: Sequence[str]) -> pl.DataFrame:
    """Past orders (a parquet table like data/interim/sales.parquet, or a Sales CSV)."""
    if not path.exists():
        raise UserError(f"{path}: history table not found")
    if path.suffix == ".parquet":
        frame = pl.read_parquet(path)
    else:
        frame = check_raw_contract(read_sales_csv(path), str(path), (), FIRST_DATA_LINE, "line")
    missing = [name for name in columns if name not in frame.columns]
    if missing:
        raise UserError(
            f"{path}: history lacks column(s) {', '.join(map(repr, missing))} needed by the model"
        )
    return frame.select(columns).cast({name: c.RAW_SCHEMA[name] for name in columns})


def model_inputs(
    card: dict[str, Any],
    state: FittedState,
    new_rows: pl.DataFrame,
    history: pl.DataFrame | None = None,
    card_source: str = CARD_NAME,
) -> pl.DataFrame:
    """The model's input columns for ``new_rows`` (same order), computed with the saved state.

    Window features are computed over ``history`` plus the new rows (history rows with the Order
    ID of a new row are replaced by it); without history a model using them is refused.
    """
    features, _ = card_inputs(card, card_source)
    subplan = feature_subplan(state.plan, features)
    window = subplan.names_of(Kind.WINDOW)
    if window and history is None:
        raise UserError(
            f"{card_source}: the model uses window feature(s) {', '.join(map(repr, window))} that "
            "need earlier orders; pass the history table (e.g. --history "
            "data/interim/sales.parquet) or train without them"
        )
    raw = needed_raw_columns(state.plan, features)
    rows = new_rows.select(raw).with_columns(pl.lit(True).alias(_NEW))
    if window and history is not None:
        past = history.select(raw).filter(
            ~pl.col(c.ORDER_ID).is_in(rows.get_column(c.ORDER_ID).implode())
        )
        rows = pl.concat([past.with_columns(pl.lit(False).alias(_NEW)), rows])
    transformed = transform(rows, dataclasses.replace(state, plan=subplan))
    return transformed.filter(pl.col(_NEW)).select(features)


def predict_rows(
    model: Any,
    card: dict[str, Any],
    state: FittedState,
    new_rows: pl.DataFrame,
    history: pl.DataFrame | None = None,
    card_source: str = CARD_NAME,
) -> pl.DataFrame:
    """``Order ID`` and the prediction for each of ``new_rows`` (raw-typed, contract-checked)."""
    _, target = card_inputs(card, card_source)
    inputs = model_inputs(card, state, new_rows, history, card_source)
    predicted = predict_in_batches(model, inputs)
    return new_rows.select(c.ORDER_ID).with_columns(pl.Series(prediction_column(target), predicted))


def predict_in_batches(model: Any, inputs: pl.DataFrame, batch: int = PREDICT_BATCH) -> np.ndarray:
    """``model.predict`` over row batches, with a progress bar on a terminal for large inputs.

    Predictions are row-wise, so batches give the values of one call.
    """
    if inputs.height <= batch:
        return np.asarray(model.predict(inputs), dtype=np.float64)
    parts: list[np.ndarray] = []
    with progress("predict", total=inputs.height) as advance:
        for offset in range(0, inputs.height, batch):
            chunk = inputs.slice(offset, batch)
            parts.append(np.asarray(model.predict(chunk), dtype=np.float64))
            advance(chunk.height)
    return np.concatenate(parts)


def describe_rejected(rejected: pl.DataFrame) -> str:
    """``2 row(s) (line 5: 'Units Sold' fails 'Units Sold > 0' ('-3'), ...)``."""
    rows = rejected.get_column("line").n_unique()
    examples = ", ".join(
        f"line {line}: {column!r} fails {check!r} ({value!r})"
        for line, column, check, value in rejected.head(SHOWN_EXAMPLES).iter_rows()
    )
    return f"{rows} row(s) ({examples}{', ...' if rejected.height > SHOWN_EXAMPLES else ''})"


def predict_csv(
    model_path: Path,
    input_path: Path,
    output_path: Path,
    *,
    card_path: Path | None = None,
    state_path: Path = FEATURE_STATE,
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
    card = read_json_object(card_path, "train")  # the card is written beside the model
    model = load_model_checked(model_path, card, str(card_path))
    state = load_state(state_path)
    check_state_matches(card, state, str(card_path))
    features, target = card_inputs(card, str(card_path))
    required = needed_raw_columns(state.plan, features)
    with timed(log, "read_new_rows", path=input_path) as fields, status(f"reading {input_path}"):
        new = read_new_rows(input_path, required, on_invalid)
        fields.update(rows=new.rows_read, valid=new.frame.height)
    if new.rejected.height:
        log.warning("%s: skipped %s", input_path, describe_rejected(new.rejected))
        if rejected_path is not None:
            table = new.rejected
            write_atomic(rejected_path, lambda tmp: table.write_csv(tmp))
    subplan = feature_subplan(state.plan, features)
    history = None
    if history_path is not None:
        if subplan.names_of(Kind.WINDOW):
            history = read_history(history_path, required)
        else:
            log.info("%s: the model uses no window feature; history not needed", history_path)
    with timed(log, "predict", rows=new.frame.height):
        predictions = predict_rows(model, card, state, new.frame, history, str(card_path))
    write_atomic(output_path, lambda tmp: predictions.write_csv(tmp))
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
