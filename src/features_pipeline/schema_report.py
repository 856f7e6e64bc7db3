"""Turn pandera's collected failure cases into one readable line plus a table for people."""

from __future__ import annotations

from typing import TYPE_CHECKING

import polars as pl

from features_pipeline.errors import UserError

if TYPE_CHECKING:
    from features_pipeline.pandera_polars import SchemaErrors

SHOWN_EXAMPLES = 3
MAX_SHOWN_CHARS = 40  # longer values are cut in messages


def clipped(value: str, limit: int = MAX_SHOWN_CHARS) -> str:
    """``value``'s first line, cut to ``limit`` characters (with the full length) when longer."""
    first = value.splitlines()[0] if value.strip() else value
    if len(first) <= limit and first == value:
        return value
    return f"{first[:limit]}... ({len(value):,} characters)"


def shown(value: object) -> str:
    """A cell value for a one-line message: ``empty``, a short repr, or a cut one."""
    if value is None:
        return "empty"
    text = str(value)
    if len(text) <= MAX_SHOWN_CHARS and "\n" not in text:
        return repr(text)
    return f"{text.splitlines()[0][:MAX_SHOWN_CHARS]!r}... ({len(text):,} characters)"


def failure_table(error: SchemaErrors, first_row: int, row_word: str) -> pl.DataFrame:
    """Failure cases as (column, check, value, <row_word>) with 1-based or file line numbers."""
    cases: pl.DataFrame = error.failure_cases
    return cases.select(
        pl.coalesce(pl.col("column"), pl.lit("(table)")).alias("column"),
        pl.col("check").cast(pl.String),
        pl.col("failure_case").cast(pl.String).alias("value"),
        (pl.col("index").cast(pl.Int64) + first_row).alias(row_word),
    )


def summarise_failures(table: pl.DataFrame, source: str, row_word: str) -> str:
    """``source: column 'X' fails check 'Y' in N row(s) (line 3: '-5', ...)`` (+ how many more)."""
    groups = table.group_by(["column", "check"], maintain_order=True).agg(
        pl.len().alias("count"),
        pl.col("value").head(SHOWN_EXAMPLES),
        pl.col(row_word).head(SHOWN_EXAMPLES),
    )
    column, check, count, values, rows = groups.row(0)
    if check == "column_in_dataframe":
        missing = ", ".join(repr(v) for v in table.filter(pl.col("check") == check)["value"])
        line = f"{source}: missing required column(s) {missing}"
    else:
        line = describe_failure(source, row_word, column, check, count, values, rows)
    if groups.height > 1:
        line += f"; and {groups.height - 1} more failing check(s)"
    return line


def describe_failure(
    source: str,
    row_word: str,
    column: str,
    check: str,
    count: int,
    values: list[str | None],
    rows: list[int | None],
) -> str:
    """``source: column 'X' fails check 'Y' in <count> row(s) (line 3: '-5', ...)``."""
    where = ", ".join(
        f"{row_word} {row}: {shown(value)}" if row is not None else shown(value)
        for row, value in zip(rows, values, strict=True)
    )
    subject = "table" if column == "(table)" else f"column {column!r}"
    line = f"{source}: {subject} fails check {check!r}"
    if rows and rows[0] is not None:
        return f"{line} in {count} row(s) ({where})"
    return f"{line} ({where})"


def schema_errors_to_user_error(
    error: SchemaErrors, source: str, first_row: int = 1, row_word: str = "row"
) -> UserError:
    """A UserError carrying a one-line summary and the full failure table."""
    table = failure_table(error, first_row, row_word)
    return UserError(summarise_failures(table, source, row_word), details=table)
