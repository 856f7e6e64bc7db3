"""Run every check on the feature table and gather one result: failures, warnings, counts."""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING

import polars as pl

from features_pipeline.contracts.dataset import DatasetContract
from features_pipeline.contracts.plan_file import Kind, ModelInputs, PlanFile
from features_pipeline.errors import UserError
from features_pipeline.schema_report import failure_table, summarise_failures
from features_pipeline.validation.cross_split import (
    CONSTANT_IN_TRAIN,
    TEST_FRACTION,
    UNSEEN_CATEGORY,
    categorical_columns,
    constant_in_train_findings,
    split_counts,
    split_size_findings,
    unseen_category_findings,
)
from features_pipeline.validation.findings import Finding
from features_pipeline.validation.params import ValidateParams
from features_pipeline.validation.quality import (
    NULL_FRACTION,
    declared_dtype_findings,
    missing_counts,
    null_fraction_findings,
)
from features_pipeline.validation.schema import build_schema, count_checks, failed_checks

if TYPE_CHECKING:  # pandera (with pandas and pyarrow) loads when a check runs, not at import
    from features_pipeline.pandera_polars import pa

ROW = "row"
MISSING_COLUMN = "column_in_dataframe"
ERROR = "error"
WARNING = "warning"
FAILURE_SCHEMA: dict[str, type[pl.DataType]] = {
    "column": pl.String,
    "check": pl.String,
    "value": pl.String,
    ROW: pl.Int64,
    "severity": pl.String,
}


@dataclass(frozen=True)
class ValidationResult:
    """What validation found. ``cases`` lists every failure case (severity ``error``) and
    every warning (``warning``) as (column, check, value, row, severity); rows are 1-based.

    ``error_total``: the number of failure cases when ``cases`` holds only a bounded sample of
    them (validation on an engine, :mod:`.on_engine`); None when ``cases`` holds them all."""

    rows: dict[str, int]
    checks_run: int
    checks_failed: int
    checks_warned: int
    cases: pl.DataFrame
    missing: dict[str, int]
    error_total: int | None = None

    @property
    def failure_cases(self) -> int:
        """Every failure case (severity ``error``), also those left out of a bounded sample."""
        return self.errors.height if self.error_total is None else self.error_total

    @property
    def passed(self) -> bool:
        return self.checks_failed == 0

    @property
    def errors(self) -> pl.DataFrame:
        return self.cases.filter(pl.col("severity") == ERROR).drop("severity")

    @property
    def warnings(self) -> pl.DataFrame:
        return self.cases.filter(pl.col("severity") == WARNING).drop("severity")


def schema_failures(frame: pl.DataFrame, schema: pa.DataFrameSchema) -> tuple[int, pl.DataFrame]:
    """Validate with ``lazy=True`` (every failure, not just the first): (failed checks, cases)."""
    from features_pipeline.pandera_polars import pa

    try:
        schema.validate(frame, lazy=True)
    except pa.errors.SchemaErrors as exc:
        cases = failure_table(exc, first_row=1, row_word=ROW).with_columns(
            # A missing column is named in ``value``; show it as the failing column too.
            column=pl.when(pl.col("check") == MISSING_COLUMN)
            .then(pl.col("value"))
            .otherwise(pl.col("column")),
            value=pl.col("value").fill_null("null"),
            severity=pl.lit(ERROR),
        )
        return failed_checks(exc.failure_cases), cases
    return 0, pl.DataFrame(schema=FAILURE_SCHEMA)


def finding_cases(findings: list[Finding]) -> pl.DataFrame:
    """Failed and warned findings as failure-case rows."""
    rows = [
        (f.column, f.check, case.value, case.row, ERROR if f.status == "failed" else WARNING)
        for f in findings
        for case in f.cases
    ]
    return pl.DataFrame(rows, schema=FAILURE_SCHEMA, orient="row")


def aggregate_findings(
    frame: pl.DataFrame,
    plan: PlanFile,
    inputs: ModelInputs,
    params: ValidateParams,
    counts: dict[str, int],
    missing: dict[str, int],
    text_columns: Collection[str] = (),
) -> list[Finding]:
    """Checks on aggregates: declared dtypes, split sizes, null fractions, cross-split
    (``text_columns``: identifiers and free text, never checked as categories)."""
    categories = [name for name in categorical_columns(frame.schema) if name not in text_columns]
    findings = [
        *declared_dtype_findings(frame.schema, plan),
        *split_size_findings(counts, params),
        *null_fraction_findings(missing, frame.height, params.max_null_fraction, inputs.features),
        *unseen_category_findings(frame, categories, params.severity.unseen_category),
        *constant_in_train_findings(frame, inputs.features, params.severity.constant_in_train),
    ]
    return fail_warnings(findings, params)


def fail_warnings(findings: list[Finding], params: ValidateParams) -> list[Finding]:
    """``findings`` with every warning turned into a failure when ``warnings_fail`` is set."""
    if params.warnings_fail:
        return [replace(f, status="failed") if f.status == "warned" else f for f in findings]
    return findings


def validate_feature_table(
    frame: pl.DataFrame,
    plan: PlanFile,
    inputs: ModelInputs,
    params: ValidateParams,
    dataset: DatasetContract,
) -> ValidationResult:
    """Every check on ``frame``, all failures collected in one pass."""
    window = set(plan.names_of(Kind.WINDOW)) if params.allow_null_window_inputs else set()
    nullable = frozenset(window.intersection(inputs.features))
    schema = build_schema(plan, inputs, dataset, nullable)
    failed, schema_cases = schema_failures(frame, schema)
    counts = split_counts(frame)
    missing = missing_counts(frame, [*plan.names, *inputs.features])
    text = [name for name, spec in dataset.columns.items() if spec.type == "text"]
    findings = aggregate_findings(frame, plan, inputs, params, counts, missing, text)
    return ValidationResult(
        rows=counts,
        checks_run=count_checks(schema, set(frame.columns)) + len(findings),
        checks_failed=failed + sum(f.status == "failed" for f in findings),
        checks_warned=sum(f.status == "warned" for f in findings),
        cases=pl.concat([schema_cases.select(list(FAILURE_SCHEMA)), finding_cases(findings)]),
        missing=missing,
    )


SHOWN_WARNING_CASES = 3


def warning_problem(column: str, check: str, count: int, shown: str) -> str:
    """A warned check as the problem found (a check is named by the rule that passes):
    ``7 test value(s) of 'Country' unseen in train ('Gabon' (row 1), ...)``."""
    if check == UNSEEN_CATEGORY:
        return f"{count} test value(s) of {column!r} unseen in train ({shown})"
    if check == CONSTANT_IN_TRAIN:
        return f"{column!r} has one value in every train row ({shown}): nothing to learn from"
    if check.startswith(NULL_FRACTION):
        limit = check.removeprefix(NULL_FRACTION)
        return f"{column!r} is null/NaN in more than {limit} of the rows ({shown})"
    if check.startswith(TEST_FRACTION):
        return f"the test rows' share ({shown}) is outside {check.removeprefix(TEST_FRACTION)}"
    return f"column {column!r} fails check {check!r} in {count} case(s) ({shown})"


def warning_lines(warnings: pl.DataFrame) -> list[str]:
    """One line per warned (column, check): the problem, how many cases and the first few, e.g.
    ``2 test value(s) of 'Country' unseen in train ('Gabon' (row 1), 'Chad' (row 9))``."""
    lines = []
    for (column, check), cases in warnings.group_by("column", "check", maintain_order=True):
        shown = ", ".join(
            f"{value!r}" + (f" (row {row})" if row is not None else "")
            for value, row in cases.select("value", "row").head(SHOWN_WARNING_CASES).iter_rows()
        )
        more = ", ..." if cases.height > SHOWN_WARNING_CASES else ""
        lines.append(warning_problem(str(column), str(check), cases.height, shown + more))
    return lines


def validation_error(result: ValidationResult, source: str, report: str) -> UserError:
    """One line naming the first failing check (and how many more), plus the failure table."""
    errors = result.errors
    line = summarise_failures(errors, source, ROW)
    total = result.failure_cases
    return UserError(f"{line} (all {total} failure case(s): {report})", details=errors)
