"""The dataset contract's row rules, defined once in narwhals: the pandera raw contract runs them
on Polars, and :func:`count_failures` / :func:`failing_rows` run them on any engine narwhals
drives (Polars, DuckDB, Spark), counting failures where the table lives and bringing back only a
bounded sample of failing rows."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import narwhals.stable.v2 as nw

from features_pipeline.contracts.dataset import (
    ColumnSpec,
    CompareRule,
    DatasetContract,
    DifferenceRule,
    ProductRule,
    Rule,
    SumRule,
)

SAMPLE_ROWS = 20  # failing rows brought back per rule


@dataclass(frozen=True)
class RowRule:
    """A check on each row: ``holds`` is true where the row satisfies it. A value rule lets a
    null pass (missing values are the not-null check's business); a relation between columns
    fails on a null operand. Skipped when any of ``reads`` is not in the table."""

    column: str  # the column a failure is reported under
    message: str  # e.g. "Units Sold > 0": the check's name in every report
    reads: tuple[str, ...]
    holds: nw.Expr


def _number(value: float) -> str:
    return f"{value:g}"


def _value_rule(column: str, condition: nw.Expr, message: str) -> RowRule:
    return RowRule(column, message, (column,), condition | nw.col(column).is_null())


def value_rules(name: str, spec: ColumnSpec) -> list[RowRule]:
    """``greater_than``, ``min``, ``max`` and ``allowed`` of one column, in that order."""
    value = nw.col(name)
    rules = []
    if spec.greater_than is not None:
        bound = spec.greater_than
        rules.append(_value_rule(name, value > bound, f"{name} > {_number(bound)}"))
    if spec.min is not None:
        rules.append(_value_rule(name, value >= spec.min, f"{name} >= {_number(spec.min)}"))
    if spec.max is not None:
        rules.append(_value_rule(name, value <= spec.max, f"{name} <= {_number(spec.max)}"))
    if spec.allowed is not None:
        allowed = list(spec.allowed)
        rules.append(_value_rule(name, value.is_in(allowed), f"one of {allowed}"))
    return rules


def _cents(name: str) -> nw.Expr:
    """Whole cents as a float (exact below 2**53); null where the value is not finite."""
    value = nw.col(name)
    return nw.when(value.is_finite()).then((value * 100).round(0))


def relation_rule(rule: Rule, dataset: DatasetContract) -> RowRule:
    """A rule between columns; arithmetic involving a money column is compared in whole cents
    (a money operand counts in cents, other operands as they are)."""
    if isinstance(rule, CompareRule):
        left, right = nw.col(rule.left), nw.col(rule.right)
        ops = {">=": left >= right, ">": left > right, "<=": left <= right}
        ops.update({"<": left < right, "==": left == right, "!=": left != right})
        holds, message = ops[rule.op], rule.describe()
    else:
        money = any(dataset.columns[name].type == "money" for name in rule.columns)

        def operand(name: str) -> nw.Expr:
            cents = money and dataset.columns[name].type == "money"
            return _cents(name) if cents else nw.col(name)

        result = operand(rule.of[0])
        for name in rule.of[1:]:
            if isinstance(rule, ProductRule):
                result = result * operand(name)
            elif isinstance(rule, DifferenceRule):
                result = result - operand(name)
            elif isinstance(rule, SumRule):
                result = result + operand(name)
        holds = operand(rule.column) == result
        message = rule.describe() + (" (to the cent)" if money else "")
    return RowRule(rule.column, message, rule.columns, holds.fill_null(False))


def column_rules(dataset: DatasetContract, name: str) -> list[RowRule]:
    """The rules reported under column ``name``: its value rules, then its relations."""
    spec = dataset.columns[name]
    relations = [relation_rule(rule, dataset) for rule in dataset.rules_for(name)]
    return [*value_rules(name, spec), *relations]


def row_rules(dataset: DatasetContract) -> list[RowRule]:
    """Every row rule of the contract, column by column in file order."""
    return [rule for name in dataset.columns for rule in column_rules(dataset, name)]


def applicable(rules: Iterable[RowRule], columns: Iterable[str]) -> list[RowRule]:
    """The rules whose columns are all in a table with ``columns``."""
    present = set(columns)
    return [rule for rule in rules if set(rule.reads) <= present]


def count_failures(table: Any, rules: Sequence[RowRule]) -> dict[str, int]:
    """``{message: failing rows}`` of the applicable ``rules`` on ``table`` (a native or narwhals
    lazy frame of any engine), in one aggregation run where the table lives."""
    frame = nw.from_native(table).lazy()
    active = applicable(rules, frame.collect_schema().names())
    if not active:
        return {}
    counts = frame.select(
        (~rule.holds).cast(nw.Int64).sum().alias(f"r{index}") for index, rule in enumerate(active)
    )
    row = counts.collect().rows()[0]
    return {rule.message: int(count or 0) for rule, count in zip(active, row, strict=True)}


def failing_rows(
    table: Any, rule: RowRule, columns: Sequence[str], limit: int = SAMPLE_ROWS
) -> Any:
    """At most ``limit`` rows of ``table`` (``columns`` of them) failing ``rule``, collected into
    a narwhals DataFrame: a bounded sample, never the whole failing set."""
    frame = nw.from_native(table).lazy()
    return frame.filter(~rule.holds).select(columns).head(limit).collect()
