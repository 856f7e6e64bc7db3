"""Validate the feature table where it lives: any narwhals lazy engine (Polars lazy, DuckDB, Spark).

The same checks as :func:`.validator.validate_feature_table` (the pandera schema of
:func:`.schema.build_schema`, walked column by column, and the aggregate findings), run as a few
aggregation queries on the engine: counts of failing rows per check, missing values, split sizes,
min/max per model input. Only a bounded sample of failing rows (the first ``sample_cases`` per
check, in row order) and the distinct (category, split) pairs are brought back; the table itself
is never collected. Rows are reported 1-based, ``ROW + 1``, as the Polars validator numbers them.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import narwhals.stable.v2 as nw
import polars as pl

from features_pipeline.contracts.dataset import DatasetContract
from features_pipeline.contracts.plan_file import Kind, ModelInputs, PlanFile
from features_pipeline.contracts.split import SPLIT, TEST, TRAIN
from features_pipeline.engines.base import ROW
from features_pipeline.ingest.rules import column_rules
from features_pipeline.validation.cross_split import (
    UNSEEN_CATEGORY,
    categorical_columns,
    constant_findings,
    split_count_expressions,
    split_size_findings,
    unseen_values,
)
from features_pipeline.validation.findings import Case, Finding, outcome
from features_pipeline.validation.params import ValidateParams
from features_pipeline.validation.quality import (
    declared_dtype_findings,
    missing_expressions,
    null_fraction_findings,
)
from features_pipeline.validation.schema import (
    MODEL_INPUT,
    SPLIT_IN,
    TARGET_FINITE,
    UNIQUE,
    WINDOW_INPUT,
    build_schema,
    count_checks,
    model_input_holds,
    split_in_holds,
    target_finite_holds,
)
from features_pipeline.validation.validator import (
    ERROR,
    FAILURE_SCHEMA,
    MISSING_COLUMN,
    ValidationResult,
    fail_warnings,
    finding_cases,
)

if TYPE_CHECKING:
    from features_pipeline.pandera_polars import pa

SAMPLE_CASES = 1000  # failing rows brought back per check
NOT_NULLABLE = "not_nullable"  # pandera's names of its own checks
FIELD_UNIQUENESS = "field_uniqueness"
_EVERY_ROW = ~nw.col(ROW).is_null()  # true on each row: broadcasts a literal check to the rows


@dataclass(frozen=True)
class RowCheck:
    """A check on each row of one column: ``fails`` is true where the row fails it (its value
    is reported); ``unique`` checks fail on every row whose value is not unique."""

    column: str
    check: str
    fails: nw.Expr | None  # None: a uniqueness check
    reads: frozenset[str] = frozenset()  # the columns it reads (besides ``split``)


@dataclass
class _Found:
    """What a check found: the failing rows in total, and the first of them (row, value)."""

    column: str
    check: str
    total: int
    cases: list[tuple[str, int | None]]


def polars_schema(frame: nw.LazyFrame[Any]) -> dict[str, pl.DataType]:
    """The frame's columns (without ROW) with their dtypes named as Polars names them (the names
    the plan declares): a narwhals dtype maps to its Polars dtype (unknown ones to ``Unknown``)."""
    schema = frame.collect_schema()
    types: dict[str, pl.DataType] = {}
    for name, dtype in schema.items():
        if name == ROW:
            continue
        try:
            types[name] = nw.Schema({name: dtype}).to_polars()[name]
        except Exception:  # a backend type narwhals cannot name in Polars
            types[name] = pl.Unknown()
    return types


def _value_holds(
    name: str, check: str, types: Mapping[str, pl.DataType], dataset: DatasetContract
) -> tuple[nw.Expr, frozenset[str]]:
    """The narwhals form of the schema check named ``check`` on column ``name``, and the
    columns it reads."""
    is_float, reads = types[name].is_float(), frozenset({name})
    if check in (MODEL_INPUT, WINDOW_INPUT):
        return model_input_holds(name, is_float, SPLIT in types, check == WINDOW_INPUT), reads
    if check == TARGET_FINITE:
        return target_finite_holds(name, is_float), reads
    if check == SPLIT_IN and name == SPLIT:
        return split_in_holds(), reads
    rules = column_rules(dataset, name) if name in dataset.columns else []
    for rule in rules:
        if rule.message == check:  # skipped (passes) when one of its columns is absent
            if set(rule.reads) <= set(types):
                return rule.holds, frozenset(rule.reads)
            return nw.lit(True), reads
    raise ValueError(f"validate on an engine: no narwhals form of check {check!r} of {name!r}")


def row_checks(
    schema: pa.DataFrameSchema, types: Mapping[str, pl.DataType], dataset: DatasetContract
) -> list[RowCheck]:
    """The schema's checks on values of the columns present, as pandera runs them (in schema
    order: not-null, unique, then the column's checks); a check's null result passes."""
    checks = []
    for name, column in schema.columns.items():
        if name not in types:
            continue
        if not column.nullable:
            missing = nw.col(name).is_null()
            if types[name].is_float():  # pandera counts NaN as null
                missing = missing | nw.col(name).is_nan().fill_null(False)
            checks.append(RowCheck(name, NOT_NULLABLE, missing, frozenset({name})))
        if column.unique:
            checks.append(RowCheck(name, FIELD_UNIQUENESS, None, frozenset({name})))
        for check in column.checks:
            if check.error == UNIQUE:
                checks.append(RowCheck(name, UNIQUE, None, frozenset({name})))
            else:
                holds, reads = _value_holds(name, check.error, types, dataset)
                fails = (~holds).fill_null(False) & _EVERY_ROW  # a literal: one per row
                checks.append(RowCheck(name, check.error, fails, reads))
    return checks


def structure_cases(schema: pa.DataFrameSchema, types: Mapping[str, pl.DataType]) -> list[_Found]:
    """Missing required columns, then wrong dtypes (pandera's own dtype comparison)."""
    missing = [
        _Found(name, MISSING_COLUMN, 1, [(name, None)])
        for name, column in schema.columns.items()
        if column.required and name not in types
    ]
    wrong = [
        _Found(name, f"dtype('{column.dtype}')", 1, [(str(types[name]), None)])
        for name, column in schema.columns.items()
        if name in types and column.dtype is not None and not column.dtype.check(types[name])
    ]
    return [*missing, *wrong]


def report_order(
    schema: pa.DataFrameSchema, types: Mapping[str, pl.DataType]
) -> dict[tuple[str, str], int]:
    """Where pandera lists each (column, check) among its failure cases: missing columns first,
    then column by column in schema order: not-null, unique, dtype, the column's checks."""
    missing = [(name, MISSING_COLUMN) for name in schema.columns if name not in types]
    present = [
        (name, check)
        for name, column in schema.columns.items()
        if name in types
        for check in (
            NOT_NULLABLE,
            FIELD_UNIQUENESS,
            f"dtype('{column.dtype}')",
            *(check.error for check in column.checks),
        )
    ]
    return {key: index for index, key in enumerate([*missing, *present])}


def _aggregate(frame: nw.LazyFrame[Any], exprs: Mapping[str, nw.Expr]) -> dict[str, Any]:
    """One aggregation query on the engine: ``{key: value}`` of ``exprs``."""
    if not exprs:
        return {}
    keys = list(exprs)
    result = frame.select(expr.alias(f"a{index}") for index, expr in enumerate(exprs.values()))
    row = result.collect("polars").row(0)
    return dict(zip(keys, row, strict=True))


def _sample(
    frame: nw.LazyFrame[Any], name: str, fails: nw.Expr, limit: int
) -> list[tuple[str, int | None]]:
    """The first ``limit`` failing rows (row order): (value as Polars writes it, 1-based row)."""
    rows = frame.filter(fails).select(ROW, name).sort(ROW).head(limit).collect("polars").to_native()
    values = rows.get_column(name).cast(pl.String).fill_null("null").to_list()
    return [(value, int(row) + 1) for value, row in zip(values, rows.get_column(ROW), strict=True)]


def _check_error(error: Exception) -> str:
    """A check that cannot run (a column of the wrong dtype), as pandera reports it."""
    return f'{error.__class__.__name__}("{error.args[0]}")' if error.args else type(error).__name__


def run_isolated(frame: nw.LazyFrame[Any], checks: list[RowCheck], limit: int) -> list[_Found]:
    """Checks that read a column of the wrong dtype, each in its own queries: one the engine
    cannot run is a failure with the engine's error as its one case (as pandera reports it)."""
    found = []
    for check in checks:
        count = (
            nw.col(check.column).n_unique()
            if check.fails is None
            else check.fails.cast(nw.Int64).sum()
        )
        try:
            totals = _aggregate(frame, {"rows": nw.len(), "check0": count})
            found.extend(run_row_checks(frame, [check], totals, limit))
        except Exception as error:  # the engine's own error type: any
            found.append(_Found(check.column, check.check, 1, [(_check_error(error), None)]))
    return found


def _duplicated(name: str) -> nw.Expr:
    """True on every row whose value of ``name`` is on another row too (null equals null)."""
    return nw.col(ROW).count().over(name) > 1


def run_row_checks(
    frame: nw.LazyFrame[Any], checks: list[RowCheck], totals: Mapping[str, Any], limit: int
) -> list[_Found]:
    """The failing checks among ``checks``, given their ``totals`` (failing rows, or for a
    uniqueness check the distinct count), each with a sample of at most ``limit`` rows."""
    found = []
    rows = int(totals["rows"])
    for index, check in enumerate(checks):
        count = totals[f"check{index}"]
        if check.fails is None:  # unique: fast path first, as the Polars check does
            if int(count or 0) == rows:
                continue
            flagged = frame.with_columns(_duplicated(check.column).alias("__duplicated"))
            fails = nw.col("__duplicated")
            total = int(flagged.filter(fails).select(nw.len()).collect("polars").item())
            if total == 0:
                continue
            found.append(
                _Found(
                    check.column, check.check, total, _sample(flagged, check.column, fails, limit)
                )
            )
            continue
        if not count:
            continue
        cases = _sample(frame, check.column, check.fails, limit)
        found.append(_Found(check.column, check.check, int(count), cases))
    return found


def unseen_category_findings_lazy(
    frame: nw.LazyFrame[Any], names: list[str], params: ValidateParams, limit: int
) -> tuple[list[Finding], dict[tuple[str, str], int]]:
    """:func:`.cross_split.unseen_category_findings` on an engine: distinct (value, split) pairs
    come back (small), each unseen value located at its first test row; at most ``limit``
    cases per column, with the number of unseen values per column."""
    severity = params.severity.unseen_category
    if severity == "off" or not names:
        return [], {}
    findings, totals = [], {}
    for name in names:
        pairs = frame.select(name, SPLIT).drop_nulls().unique().collect("polars").to_native()
        unseen = unseen_values(pairs, name)
        cases: tuple[Case, ...] = ()
        if unseen:
            located = (
                frame.filter(nw.col(SPLIT) == TEST, nw.col(name).is_in(list(unseen)))
                .group_by(name)
                .agg(nw.col(ROW).min())
                .sort(ROW)
                .head(limit)
                .collect("polars")
                .to_native()
            )
            cases = tuple(
                Case(str(v), int(row) + 1) for v, row in located.select(name, ROW).iter_rows()
            )
            totals[(name, UNSEEN_CATEGORY)] = len(unseen)
        findings.append(outcome(name, UNSEEN_CATEGORY, cases, severity))
    return findings, totals


def validate_lazy(
    frame: nw.LazyFrame[Any],
    plan: PlanFile,
    inputs: ModelInputs,
    params: ValidateParams,
    dataset: DatasetContract,
    sample_cases: int = SAMPLE_CASES,
) -> ValidationResult:
    """:func:`.validator.validate_feature_table` on ``frame`` (a narwhals lazy frame of any
    engine, with its 0-based row positions in ROW), run where the table lives: the same counts,
    checks and case values, at most ``sample_cases`` cases per check (``error_total``: all)."""
    if sample_cases < 1:
        raise ValueError(f"sample_cases must be at least 1, got {sample_cases}")
    window = set(plan.names_of(Kind.WINDOW)) if params.allow_null_window_inputs else set()
    nullable = frozenset(window.intersection(inputs.features))
    schema = build_schema(plan, inputs, dataset, nullable)
    types = polars_schema(frame)
    structure = structure_cases(schema, types)
    wrong = {found.column for found in structure if found.check != MISSING_COLUMN}
    isolated = [check for check in row_checks(schema, types, dataset) if check.reads & wrong]
    checks = [check for check in row_checks(schema, types, dataset) if not check.reads & wrong]
    missing_exprs = missing_expressions(types, [*plan.names, *inputs.features])
    split_exprs = split_count_expressions(SPLIT in types)
    constant = params.severity.constant_in_train != "off" and SPLIT in types
    bounded = [name for name in inputs.features if name in types] if constant else []

    exprs: dict[str, nw.Expr] = {"rows": nw.len()}
    exprs.update((f"split:{split}", expr) for split, expr in split_exprs.items())
    exprs.update((f"missing:{name}", expr) for name, expr in missing_exprs.items())
    for index, check in enumerate(checks):
        if check.fails is None:
            exprs[f"check{index}"] = nw.col(check.column).n_unique()
        else:
            exprs[f"check{index}"] = check.fails.cast(nw.Int64).sum()
    for name in bounded:
        in_train = nw.when(nw.col(SPLIT) == TRAIN).then(nw.col(name))
        exprs[f"low:{name}"], exprs[f"high:{name}"] = in_train.min(), in_train.max()
    totals = _aggregate(frame, exprs)

    rows = int(totals["rows"])
    counts = {split: int(totals.get(f"split:{split}") or 0) for split in (TRAIN, TEST)}
    counts["total"] = rows
    missing = {name: int(totals[f"missing:{name}"] or 0) for name in missing_exprs}
    found = [
        *structure,
        *run_row_checks(frame, checks, totals, sample_cases),
        *run_isolated(frame, isolated, sample_cases),
    ]
    order = report_order(schema, types)
    found.sort(key=lambda f: order[(f.column, f.check)])

    text = [name for name, spec in dataset.columns.items() if spec.type == "text"]
    categories = [name for name in categorical_columns(types) if name not in text]
    unseen, finding_totals = unseen_category_findings_lazy(
        frame, categories if SPLIT in types else [], params, sample_cases
    )
    bounds = {name: (totals[f"low:{name}"], totals[f"high:{name}"]) for name in bounded}
    findings = fail_warnings(
        [
            *declared_dtype_findings(types, plan),
            *split_size_findings(counts, params),
            *null_fraction_findings(missing, rows, params.max_null_fraction, inputs.features),
            *unseen,
            *(
                constant_findings(bounds, params.severity.constant_in_train)
                if counts[TRAIN]
                else []
            ),
        ],
        params,
    )
    schema_cases = pl.DataFrame(
        [(f.column, f.check, value, row, ERROR) for f in found for value, row in f.cases],
        schema=FAILURE_SCHEMA,
        orient="row",
    )
    failed_findings = [f for f in findings if f.status == "failed"]
    return ValidationResult(
        rows=counts,
        checks_run=count_checks(schema, set(types)) + len(findings),
        checks_failed=len({(f.column, f.check) for f in found}) + len(failed_findings),
        checks_warned=sum(f.status == "warned" for f in findings),
        cases=pl.concat([schema_cases, finding_cases(findings)]),
        missing=missing,
        error_total=sum(f.total for f in found)
        + sum(finding_totals.get((f.column, f.check), len(f.cases)) for f in failed_findings),
    )
