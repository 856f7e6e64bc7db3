"""New orders for prediction: parsed as ingest does, rows breaking the raw contract set aside.

Also the history table window features need, and the one-line summary of rejected rows.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

import polars as pl

from features_pipeline.contracts.dataset import DatasetContract
from features_pipeline.errors import UserError
from features_pipeline.ingest.contract import check_raw_contract
from features_pipeline.ingest.csv_reader import (
    FIRST_DATA_LINE,
    LINE_COLUMN,
    parse_columns,
    read_csv_table,
    read_raw_strings,
)
from features_pipeline.ingest.table import with_row_number

OnInvalid = Literal["skip", "fail"]
REJECTED_COLUMNS = ("line", "column", "check", "value")
PROBLEMS = "problems"
SHOWN_EXAMPLES = 3


def no_rows() -> pl.DataFrame:
    return pl.DataFrame(schema={"line": pl.Int64, PROBLEMS: pl.String})


@dataclass(frozen=True)
class NewRows:
    """Typed raw rows that passed the raw contract, and the rows that did not."""

    frame: pl.DataFrame
    rejected: pl.DataFrame  # line, column, check, value (one row per failure)
    rows_read: int
    # the rejected input rows themselves: line, their cells as read (text), problems
    rejected_rows: pl.DataFrame = field(default_factory=no_rows)


def rejected_input_rows(strings: pl.DataFrame, failures: pl.DataFrame) -> pl.DataFrame:
    """The rows of ``strings`` (cells as text) on the lines of ``failures``, in file order, with
    their file ``line`` and a ``problems`` column (``'Units Sold' fails 'Units Sold > 0' ('-3');
    ...``)."""
    if failures.height == 0:
        return no_rows()
    problems = failures.group_by("line", maintain_order=True).agg(
        pl.format(
            "{} fails {} ({})",
            pl.col("column").map_elements(repr, return_dtype=pl.String),
            pl.col("check").map_elements(repr, return_dtype=pl.String),
            pl.col("value").map_elements(repr, return_dtype=pl.String).fill_null("empty"),
        )
        .str.join("; ")
        .alias(PROBLEMS)
    )
    rows = strings.rename({LINE_COLUMN: "line"}).with_columns(pl.col("line").cast(pl.Int64))
    return rows.join(problems, on="line", how="inner").sort("line")


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
    """An empty rejected-rows table."""
    return pl.DataFrame(schema={"line": pl.Int64, **dict.fromkeys(REJECTED_COLUMNS[1:], pl.String)})


def read_new_rows(
    path: Path, required: Sequence[str], dataset: DatasetContract, on_invalid: OnInvalid = "skip"
) -> NewRows:
    """Parse ``path`` like ingest and check the raw contract on the columns it has.

    ``required`` columns must exist. Rows with unparsable cells or failing a contract check are
    skipped and returned in ``rejected`` (``on_invalid="skip"``) or fail the run (``"fail"``).
    """
    return check_new_rows(path, read_raw_strings(path, dataset), required, dataset, on_invalid)


def check_new_rows(
    path: Path,
    strings: pl.DataFrame,
    required: Sequence[str],
    dataset: DatasetContract,
    on_invalid: OnInvalid = "skip",
    first_line: int | None = None,
) -> NewRows:
    """:func:`read_new_rows` on ``strings`` (cells as text with their file lines: the whole
    file, or one batch of it). ``first_line`` is the file line of a batch's first row: a batch
    whose every row is rejected is then an empty ``frame`` (no columns), not an error."""
    original = strings
    missing = [name for name in required if name in dataset.columns and name not in strings.columns]
    if missing:
        raise UserError(
            f"{path}: missing column(s) {', '.join(map(repr, missing))} needed by the model"
        )
    rejected: list[pl.DataFrame] = []
    while True:
        try:
            parsed = parse_columns(path, strings, dataset)
            break
        except UserError as error:
            if on_invalid == "fail" or error.details is None:
                raise
            rejected.append(_failure_rows(error.details))
            bad_lines = error.details.get_column("line").cast(pl.Int64)
            strings = strings.filter(~pl.col(LINE_COLUMN).cast(pl.Int64).is_in(bad_lines.implode()))
            if strings.height == 0:
                if first_line is not None:
                    return _all_rejected(original, rejected)
                raise UserError(f"{path}: no row can be read ({error.message})") from None
    lines = strings.get_column(LINE_COLUMN)
    parsed = with_row_number(parsed, dataset)
    if on_invalid == "fail":
        frame = check_raw_contract(
            parsed, str(path), dataset, first_line or FIRST_DATA_LINE, "line", required=required
        )
        return NewRows(frame, _no_failures(), frame.height)
    try:
        frame = check_raw_contract(
            parsed, str(path), dataset, first_row=0, row_word="row", required=required
        )
    except UserError as error:
        details = error.details
        if details is None or details.get_column("row").null_count():
            raise  # a table-level failure (e.g. a missing column): no row can be trusted
        rejected.append(_failure_rows(details, lines))
        bad = set(details.get_column("row").to_list())
        keep = pl.Series([index not in bad for index in range(parsed.height)])
        if not keep.any():
            if first_line is not None:
                return _all_rejected(original, rejected)
            raise UserError(f"{path}: every row fails the raw contract ({error.message})") from None
        frame = parsed.filter(keep)
    table = pl.concat(rejected).sort("line", maintain_order=True) if rejected else _no_failures()
    rows_read = frame.height + table.get_column("line").n_unique()
    rows = rejected_input_rows(original, table)
    return NewRows(frame=frame, rejected=table, rows_read=rows_read, rejected_rows=rows)


def _all_rejected(strings: pl.DataFrame, rejected: list[pl.DataFrame]) -> NewRows:
    """A batch none of whose rows can be predicted: an empty frame and its failures."""
    table = pl.concat(rejected).sort("line", maintain_order=True)
    rows = rejected_input_rows(strings, table)
    return NewRows(pl.DataFrame(), table, table.get_column("line").n_unique(), rows)


def read_history(path: Path, columns: Sequence[str], dataset: DatasetContract) -> pl.DataFrame:
    """Past rows (a parquet table like data/interim/sales.parquet, or a CSV of the contract)."""
    if not path.exists():
        raise UserError(f"{path}: history table not found")
    if path.is_dir():
        raise UserError(f"{path}: --history is a folder; give a parquet or CSV file")
    if path.suffix == ".parquet":
        try:
            frame = pl.read_parquet(path)
        except (pl.exceptions.PolarsError, OSError) as error:
            reason = str(error).splitlines()[0] if str(error) else type(error).__name__
            raise UserError(f"{path}: cannot read the history as parquet ({reason})") from None
    else:
        table = with_row_number(read_csv_table(path, dataset), dataset)
        frame = check_raw_contract(table, str(path), dataset, FIRST_DATA_LINE, "line", ())
    missing = [name for name in columns if name not in frame.columns]
    if missing:
        raise UserError(
            f"{path}: history lacks column(s) {', '.join(map(repr, missing))} needed by the model"
        )
    return frame.select(columns).cast({name: dataset.dtypes[name] for name in columns})


def describe_rejected(rejected: pl.DataFrame) -> str:
    """``2 row(s) (line 5: 'Units Sold' fails 'Units Sold > 0' ('-3'), ...)``."""
    rows = rejected.get_column("line").n_unique()
    examples = ", ".join(
        f"line {line}: {column!r} fails {check!r} ({value!r})"
        for line, column, check, value in rejected.head(SHOWN_EXAMPLES).iter_rows()
    )
    return f"{rows} row(s) ({examples}{', ...' if rejected.height > SHOWN_EXAMPLES else ''})"
