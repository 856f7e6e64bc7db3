"""Checks across the train/test split: sizes, categories unseen in train, constant inputs."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

import narwhals.stable.v2 as nw
import polars as pl

from features_pipeline.contracts.split import SPLIT, TEST, TRAIN
from features_pipeline.validation.findings import Case, Finding, outcome
from features_pipeline.validation.params import Severity, ValidateParams

UNSEEN_CATEGORY = "no category unseen in train"
CONSTANT_IN_TRAIN = "not constant in train rows"
TEST_FRACTION = "test fraction in "  # check name prefix; the interval follows
_ROW = "__row"


def split_count_expressions(has_split: bool) -> dict[str, nw.Expr]:
    """Rows per split (train, test) as narwhals aggregations; none when there is no split."""
    if not has_split:
        return {}
    return {split: (nw.col(SPLIT) == split).cast(nw.Int64).sum() for split in (TRAIN, TEST)}


def split_counts(frame: pl.DataFrame) -> dict[str, int]:
    """Rows per split (train, test; 0 when absent) and in total."""
    counts = {TRAIN: 0, TEST: 0}
    exprs = split_count_expressions(SPLIT in frame.columns)
    if exprs:
        sums = nw.from_native(frame).select(e.alias(n) for n, e in exprs.items()).row(0)
        counts = {split: int(count or 0) for split, count in zip(exprs, sums, strict=True)}
    return {**counts, "total": frame.height}


def split_size_findings(counts: dict[str, int], params: ValidateParams) -> list[Finding]:
    """Each split has at least ``min_rows_per_split`` rows (error); the test share of the rows
    lies in ``[min_test_fraction, max_test_fraction]`` (severity ``test_fraction``)."""
    minimum = params.min_rows_per_split
    small = tuple(
        Case(f"{split}: {counts[split]} rows") for split in (TRAIN, TEST) if counts[split] < minimum
    )
    findings = [outcome(SPLIT, f"at least {minimum} rows per split", small)]
    severity = params.severity.test_fraction
    used = counts[TRAIN] + counts[TEST]
    if severity != "off" and used > 0:
        low, high = params.min_test_fraction, params.max_test_fraction
        share = counts[TEST] / used
        cases = () if low <= share <= high else (Case(f"{share:.3f} ({counts[TEST]} of {used})"),)
        findings.append(outcome(SPLIT, f"{TEST_FRACTION}[{low}, {high}]", cases, severity))
    return findings


def categorical_columns(schema: Mapping[str, pl.DataType]) -> list[str]:
    """String-like columns other than ``split``: the ones whose values are categories."""
    return [
        name
        for name, dtype in schema.items()
        if name != SPLIT and (dtype == pl.String or isinstance(dtype, pl.Categorical | pl.Enum))
    ]


def unseen_values(pairs: pl.DataFrame, name: str) -> set[Any]:
    """Values of ``name`` in test rows of the distinct (``name``, split) ``pairs`` but in no
    train row."""
    in_train = set(pairs.filter(pl.col(SPLIT) == TRAIN).get_column(name))
    return set(pairs.filter(pl.col(SPLIT) == TEST).get_column(name)) - in_train


def unseen_category_findings(
    frame: pl.DataFrame, names: Iterable[str], severity: Severity
) -> list[Finding]:
    """A value of a categorical column found in test rows but in no train row (an encoder
    fitted on train cannot know it); one case per value, at its first test row."""
    present = [name for name in names if name in frame.columns]
    if severity == "off" or SPLIT not in frame.columns or not present:
        return []
    pairs = pl.collect_all(  # distinct (value, split) pairs per column, columns in parallel
        frame.lazy().select(name, SPLIT).drop_nulls().unique() for name in present
    )
    findings = []
    for name, seen in zip(present, pairs, strict=True):
        unseen = unseen_values(seen, name)
        cases: tuple[Case, ...] = ()
        if unseen:  # rare: only then locate each value's first test row
            located = (
                frame.select(name, SPLIT)
                .with_row_index(_ROW, offset=1)
                .filter(pl.col(SPLIT) == TEST, pl.col(name).is_in(list(unseen)))
                .group_by(name)
                .agg(pl.col(_ROW).min())
                .sort(_ROW)
            )
            cases = tuple(Case(str(v), row) for v, row in located.select(name, _ROW).iter_rows())
        findings.append(outcome(name, UNSEEN_CATEGORY, cases, severity))
    return findings


def constant_findings(bounds: Mapping[str, tuple[Any, Any]], severity: Severity) -> list[Finding]:
    """From each model input's (min, max) over the train rows: at most one distinct non-null
    value means the model cannot learn anything from it."""
    findings = []
    for name, (low, high) in bounds.items():
        cases: tuple[Case, ...] = ()
        if low == high:  # one distinct value, or None == None when all are null
            cases = (Case("all null" if low is None else str(low)),)
        findings.append(outcome(name, CONSTANT_IN_TRAIN, cases, severity))
    return findings


def constant_in_train_findings(
    frame: pl.DataFrame, names: Iterable[str], severity: Severity
) -> list[Finding]:
    """A model input with at most one distinct non-null value in the train rows: the model
    cannot learn anything from it."""
    present = [name for name in names if name in frame.columns]
    if severity == "off" or SPLIT not in frame.columns or not present:
        return []
    is_train = pl.col(SPLIT) == TRAIN
    if not frame.select(is_train.any()).item():
        return []
    bounds = (
        frame.lazy()
        .filter(is_train)
        .select(
            pl.col(present).min().name.suffix("_low"), pl.col(present).max().name.suffix("_high")
        )
        .collect()
        .row(0, named=True)
    )
    return constant_findings(
        {name: (bounds[f"{name}_low"], bounds[f"{name}_high"]) for name in present}, severity
    )
