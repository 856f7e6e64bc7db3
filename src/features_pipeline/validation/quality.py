"""Per-column quality: missing values per feature and declared dtypes pandera cannot express."""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping
from typing import Any

import narwhals.stable.v2 as nw
import polars as pl

from features_pipeline.contracts.dtypes import parse_dtype
from features_pipeline.contracts.plan_file import PlanFile
from features_pipeline.validation.findings import Case, Finding, outcome
from features_pipeline.validation.params import Severity

NULL_FRACTION = "null fraction <= "  # check name prefix; the limit follows


def missing_expressions(
    schema: Mapping[str, pl.DataType], names: Iterable[str]
) -> dict[str, nw.Expr]:
    """Per column of ``names`` present in ``schema``: the count of its null (and, for float
    columns, NaN) values, as a narwhals aggregation any engine runs."""
    exprs = {}
    for name in dict.fromkeys(names):
        if name not in schema:
            continue
        missing = nw.col(name).is_null()
        if schema[name].is_float():
            missing = missing | nw.col(name).is_nan().fill_null(False)
        exprs[name] = missing.cast(nw.Int64).sum()
    return exprs


def missing_counts(frame: pl.DataFrame, names: Iterable[str]) -> dict[str, int]:
    """Null (and, for float columns, NaN) values per column, for the columns present."""
    exprs = missing_expressions(frame.schema, names)
    if not exprs:
        return {}
    row = nw.from_native(frame).select(e.alias(n) for n, e in exprs.items()).row(0)
    return {name: int(count or 0) for name, count in zip(exprs, row, strict=True)}


def null_summary(missing: Mapping[str, int]) -> dict[str, Any]:
    """``metrics/validation.json``'s ``nulls``: two totals (DVC metrics) and the count per column.

    The per-column counts are a list of ``{"column", "nulls"}`` (sorted by column): DVC shows
    numbers and strings as metrics but never lists, so ``dvc exp show`` and ``dvc metrics diff``
    get two data-quality columns instead of one per feature, and the report still has them all.
    """
    return {
        "columns": sum(1 for count in missing.values() if count),
        "total": sum(missing.values()),
        "by_column": [{"column": name, "nulls": missing[name]} for name in sorted(missing)],
    }


def null_fraction_findings(
    missing: dict[str, int], rows: int, max_fraction: float, model_inputs: Collection[str]
) -> list[Finding]:
    """A model input whose share of null/NaN values exceeds ``max_fraction`` fails; any other
    feature only warns (the model never sees it: a sparse helper feature is no reason to stop,
    e.g. a lag by country and item on a small table, where most groups have no history)."""
    findings = []
    for name, count in missing.items():
        share = count / rows if rows else 0.0
        cases = (Case(f"{share:.3f} ({count} of {rows} rows)"),) if share > max_fraction else ()
        severity: Severity = "error" if name in model_inputs else "warn"
        findings.append(outcome(name, f"{NULL_FRACTION}{max_fraction}", cases, severity))
    return findings


def declared_dtype_findings(schema: Mapping[str, pl.DataType], plan: PlanFile) -> list[Finding]:
    """Declared dtypes too parameterised for the pandera schema (``Datetime(...)``), compared
    as their polars string form (``schema``: the table's Polars dtypes by column)."""
    findings = []
    for feature in plan:
        if parse_dtype(feature.dtype) is None and feature.name in schema:
            actual = str(schema[feature.name])
            cases = () if actual == feature.dtype else (Case(actual),)
            findings.append(outcome(feature.name, f"dtype('{feature.dtype}')", cases))
    return findings
