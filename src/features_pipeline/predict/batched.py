"""``predict`` under ``engine.memory_limit``: the input read, checked and scored a batch of rows
at a time, the predictions appended to a temp file renamed over the output at the end.

The output is the in-memory path's file (rows are scored independently, in file order). What a
batch cannot see: a row key repeated in two batches is not reported, and window features (which
look at other rows) are computed in memory (:func:`batchable`), refused in one line when that
would need more than the budget (:func:`require_windows_in_budget`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO

import polars as pl

from features_pipeline.contracts.card import ModelCard
from features_pipeline.contracts.dataset import DatasetContract
from features_pipeline.contracts.plan_file import Kind
from features_pipeline.engines.budget import MIN_FIT_ROWS, budget_rows, in_memory_bytes
from features_pipeline.engines.params import EngineParams, format_bytes
from features_pipeline.errors import UserError
from features_pipeline.features.state import FittedState
from features_pipeline.ingest.csv_reader import FIRST_DATA_LINE, read_string_batches
from features_pipeline.io import write_atomic
from features_pipeline.predict.inputs import (
    describe_unseen,
    known_categories,
    model_inputs,
    predict_rows,
    unseen_flags,
)
from features_pipeline.predict.new_rows import NewRows, OnInvalid, check_new_rows


def batch_rows(engine: EngineParams, columns: int) -> int | None:
    """Rows of one scoring batch within ``engine.memory_limit`` (None: no budget, score in
    memory), sized like a fit of ``columns`` columns (a conservative bound: a batch is read,
    parsed, transformed and scored), at least :data:`MIN_FIT_ROWS`."""
    try:
        rows = budget_rows(engine.budget_bytes, columns)
    except ValueError:
        return MIN_FIT_ROWS
    return None if rows is None else max(rows, MIN_FIT_ROWS)


def data_rows(path: Path) -> int:
    """Rows of a parquet file (from its footer) or a CSV file (its lines after the header)."""
    if path.suffix == ".parquet":
        return int(pl.scan_parquet(path).select(pl.len()).collect().item())
    with path.open("rb") as handle:
        lines = sum(chunk.count(b"\n") for chunk in iter(lambda: handle.read(1 << 20), b""))
    return max(lines - 1, 0)


def require_windows_in_budget(
    engine: EngineParams, history: Path, input_path: Path, columns: int
) -> None:
    """One line when window features, computed in memory over ``history`` and the input rows,
    would need more than ``engine.memory_limit`` (nothing without a budget)."""
    budget = engine.budget_bytes
    if budget is None or not history.is_file() or not input_path.is_file():
        return  # a missing file gets its own one line where it is read
    rows = data_rows(history) + data_rows(input_path)
    needed = in_memory_bytes(rows, columns)
    if needed > budget:
        raise UserError(
            f"predict: engine.memory_limit: {engine.memory_limit} is not enough for a model with "
            f"window features, computed in memory over the {rows:,} rows of {history} and "
            f"{input_path} (about {format_bytes(needed)} needed); raise it, give a shorter "
            "--history, or train without window features"
        )


def batchable(state: FittedState, features: Sequence[str]) -> bool:
    """Whether the model's inputs are computed row by row (no window feature)."""
    return not state.plan.restricted_to(list(features)).names_of(Kind.WINDOW)


@dataclass
class BatchTotals:
    """What the batches wrote and set aside, summed in file order."""

    predicted: int = 0
    rows_read: int = 0
    rejected: list[pl.DataFrame] | None = None
    rejected_rows: list[pl.DataFrame] | None = None
    unseen: list[pl.DataFrame] | None = None  # flagged rows of the categorical inputs only

    def add(self, new: NewRows, inputs: pl.DataFrame | None, known: dict[str, list[Any]]) -> None:
        self.rows_read += new.rows_read
        self.rejected = [*(self.rejected or []), new.rejected]
        self.rejected_rows = [*(self.rejected_rows or []), new.rejected_rows]
        if inputs is not None:
            flags = unseen_flags(inputs, known)
            if flags:
                flagged = pl.DataFrame(flags).select(pl.any_horizontal(pl.all())).to_series()
                self.unseen = [*(self.unseen or []), inputs.select(list(flags)).filter(flagged)]


def score_batches(
    model: Any,
    card: ModelCard,
    state: FittedState,
    input_path: Path,
    output_path: Path,
    *,
    required: Sequence[str],
    dataset: DatasetContract,
    on_invalid: OnInvalid,
    rows: int,
    card_source: str,
) -> tuple[BatchTotals, str | None]:
    """Score ``input_path`` ``rows`` rows at a time into ``output_path`` (CSV, atomic: a failed
    batch leaves no file). Returns the totals and the unseen-category warning (or None)."""
    totals = BatchTotals()
    known = known_categories(model)

    def write(temporary: Path) -> None:
        with temporary.open("wb") as handle:
            line = FIRST_DATA_LINE  # as the whole file counts lines of the raw contract
            for strings in read_string_batches(input_path, dataset, rows):
                new = check_new_rows(input_path, strings, required, dataset, on_invalid, line)
                line += strings.height
                inputs = _score(model, card, state, new, dataset, handle, totals, card_source)
                totals.add(new, inputs, known)
            if totals.predicted == 0:
                raise UserError(f"{input_path}: no row can be read (every row was rejected)")

    write_atomic(output_path, write)
    unseen = None
    if totals.unseen:
        flagged = pl.concat(totals.unseen)
        unseen = describe_unseen(flagged, unseen_flags(flagged, known))
    return totals, unseen


def _score(
    model: Any,
    card: ModelCard,
    state: FittedState,
    new: NewRows,
    dataset: DatasetContract,
    handle: BinaryIO,
    totals: BatchTotals,
    card_source: str,
) -> pl.DataFrame | None:
    """One batch's predictions appended to ``handle`` (the header with the first); its inputs."""
    if new.frame.height == 0:
        return None
    inputs = model_inputs(card, state, new.frame, dataset, None, card_source)
    predictions = predict_rows(model, card.target, new.frame, inputs, dataset.row_key)
    predictions.write_csv(handle, include_header=totals.predicted == 0)
    totals.predicted += predictions.height
    return inputs
