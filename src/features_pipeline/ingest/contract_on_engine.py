"""The raw contract checked where the table lives (Spark, DuckDB, lazy Polars): the checks of the
pandera raw contract (``ingest/contract.py``) as aggregates, counted in one query, with a
bounded sample of failing rows brought back only for the first failing check."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import narwhals.stable.v2 as nw

from features_pipeline.contracts.dataset import DatasetContract
from features_pipeline.engines.base import ROW
from features_pipeline.errors import UserError
from features_pipeline.ingest.rules import SAMPLE_ROWS, applicable, row_rules
from features_pipeline.schema_report import SHOWN_EXAMPLES, describe_failure

NOT_NULL = "not_nullable"  # pandera's check names, so messages read the same on every engine
UNIQUE = "field_uniqueness"
UNIQUE_TOGETHER = "multiple_fields_uniqueness"


@dataclass(frozen=True)
class RawCheck:
    """One check of the raw contract: ``failing`` is true on a failing row."""

    column: str
    name: str
    failing: nw.Expr
    shows: tuple[str, ...]  # the columns whose values a failure message shows


def raw_checks(dataset: DatasetContract, columns: list[str]) -> list[RawCheck]:
    """Not-null, then the row rules, column by column in contract order (as pandera reports)."""
    present = set(columns)
    checks = [
        RawCheck(name, NOT_NULL, nw.col(name).is_null(), (name,))
        for name, spec in dataset.columns.items()
        if name in present and not spec.nullable
    ]
    checks += [
        RawCheck(rule.column, rule.message, ~rule.holds, (rule.column,))
        for rule in applicable(row_rules(dataset), columns)
    ]
    return checks


def unique_keys(dataset: DatasetContract, columns: list[str]) -> list[tuple[str, ...]]:
    """The column sets whose values must be unique (the key, and columns declared unique)."""
    keys: list[tuple[str, ...]] = [
        (name,) for name, spec in dataset.columns.items() if spec.unique and name in columns
    ]
    if dataset.key and set(dataset.key) <= set(columns) and dataset.key not in keys:
        keys.append(dataset.key)
    return keys


def duplicate_rows(frame: nw.LazyFrame[Any], key: tuple[str, ...]) -> int:
    """Rows of ``frame`` whose ``key`` is shared with an earlier row (0: unique)."""
    counts = frame.select(nw.len().alias("rows")).collect().rows()[0][0]
    distinct = frame.select(list(key)).unique().select(nw.len()).collect().rows()[0][0]
    return int(counts) - int(distinct)


def check_raw_contract_lazy(
    frame: nw.LazyFrame[Any],
    source: str,
    dataset: DatasetContract,
    first_row: int = 1,
    row_word: str = "row",
) -> None:
    """Raise one UserError line (as the Polars raw contract words it) unless ``frame``, which
    carries :data:`~features_pipeline.engines.base.ROW`, satisfies the raw contract: required
    columns, not-null, unique keys and the row rules. Counting runs where the table lives."""
    columns = frame.collect_schema().names()
    missing = [name for name in dataset.required_columns if name not in columns]
    if missing:
        raise UserError(f"{source}: missing required column(s) {', '.join(map(repr, missing))}")
    checks = raw_checks(dataset, columns)
    counts = frame.select(
        nw.len().alias("rows"),
        *(
            c.failing.fill_null(False).cast(nw.Int64).sum().alias(f"c{i}")
            for i, c in enumerate(checks)
        ),
    )
    total, *failures = counts.collect().rows()[0]
    if not total:
        raise UserError(f"{source}: no data rows")
    failed = [(check, int(n or 0)) for check, n in zip(checks, failures, strict=True) if n]
    if failed:
        check, count = failed[0]
        sample = (
            frame.filter(check.failing.fill_null(False))
            .sort(ROW)
            .select(ROW, *check.shows)
            .head(SHOWN_EXAMPLES)
            .collect()
            .rows()
        )
        line = describe_failure(
            source,
            row_word,
            check.column,
            check.name,
            count,
            [None if value is None else str(value) for _, value, *_ in sample],
            [int(row) + first_row for row, *_ in sample],
        )
        more = len(failed) - 1
        raise UserError(line + (f"; and {more} more failing check(s)" if more else ""))
    for key in unique_keys(dataset, columns):
        duplicates = duplicate_rows(frame, key)
        if duplicates:
            shared = frame.group_by(list(key)).agg(nw.len().alias("n")).filter(nw.col("n") > 1)
            values = shared.select(list(key)).head(SAMPLE_ROWS).collect().rows()
            shown = ", ".join(repr(v[0] if len(v) == 1 else v) for v in values[:SHOWN_EXAMPLES])
            name = key[0] if len(key) == 1 else ", ".join(key)
            unique = UNIQUE if len(key) == 1 else UNIQUE_TOGETHER
            raise UserError(
                f"{source}: column {name!r} fails check {unique!r} in {duplicates} row(s) "
                f"(repeated: {shown})"
            )
