"""The raw contract: the pandera schema every ingested table must satisfy, built from the
dataset contract (``config/dataset.yaml``): types, not-null, unique key, value rules."""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING

import polars as pl

from features_pipeline.contracts.dataset import (
    ROW_NUMBER,
    ColumnSpec,
    CompareRule,
    DatasetContract,
    DifferenceRule,
    ProductRule,
    Rule,
    SumRule,
)
from features_pipeline.errors import UserError
from features_pipeline.schema_report import schema_errors_to_user_error

if TYPE_CHECKING:  # pandera (with pandas and pyarrow) loads when a schema is built, not at import
    from features_pipeline.pandera_polars import PolarsData, pa


def _cents(name: str) -> pl.Expr:
    """Whole cents; null where the value is not finite or too large (the check then fails)."""
    return (pl.col(name) * 100).round(0).cast(pl.Int64, strict=False)


def _row_check(expression: pl.Expr, columns: Iterable[str], message: str) -> pa.Check:
    """A check comparing columns of the same row, skipped when any of them is absent."""
    from features_pipeline.pandera_polars import pa

    needed = tuple(columns)

    def check(data: PolarsData) -> pl.LazyFrame:
        present = set(data.lazyframe.collect_schema().names())
        if not set(needed) <= present:
            return data.lazyframe.select(pl.lit(True).alias(data.key))
        return data.lazyframe.select(expression.fill_null(False).alias(data.key))

    return pa.Check(check, error=message)


def _rule_expression(rule: Rule, dataset: DatasetContract) -> tuple[pl.Expr, str]:
    """(true where the row satisfies ``rule``, its message). Arithmetic involving a money column
    is compared in whole cents (a money operand counts in cents, other operands as they are)."""
    if isinstance(rule, CompareRule):
        left, right = pl.col(rule.left), pl.col(rule.right)
        ops = {">=": left >= right, ">": left > right, "<=": left <= right}
        ops.update({"<": left < right, "==": left == right, "!=": left != right})
        return ops[rule.op], rule.describe()
    money = any(dataset.columns[name].type == "money" for name in rule.columns)

    def operand(name: str) -> pl.Expr:
        return _cents(name) if money and dataset.columns[name].type == "money" else pl.col(name)

    terms = [operand(name) for name in rule.of]
    result = terms[0]
    for term in terms[1:]:
        if isinstance(rule, ProductRule):
            result = result * term
        elif isinstance(rule, DifferenceRule):
            result = result - term
        elif isinstance(rule, SumRule):
            result = result + term
    suffix = " (to the cent)" if money else ""
    return operand(rule.column) == result, f"{rule.describe()}{suffix}"


def _number(value: float) -> str:
    return f"{value:g}"


def _value_checks(name: str, spec: ColumnSpec) -> list[pa.Check]:
    from features_pipeline.pandera_polars import pa

    checks: list[pa.Check] = []
    if spec.greater_than is not None:
        bound = spec.greater_than
        checks.append(pa.Check.gt(bound, error=f"{name} > {_number(bound)}"))
    if spec.min is not None:
        checks.append(pa.Check.ge(spec.min, error=f"{name} >= {_number(spec.min)}"))
    if spec.max is not None:
        checks.append(pa.Check.le(spec.max, error=f"{name} <= {_number(spec.max)}"))
    if spec.allowed is not None:
        checks.append(pa.Check.isin(spec.allowed, error=f"one of {list(spec.allowed)}"))
    return checks


def _rule_checks(name: str, dataset: DatasetContract) -> list[pa.Check]:
    checks = []
    for rule in dataset.rules_for(name):
        expression, message = _rule_expression(rule, dataset)
        checks.append(_row_check(expression, rule.columns, message))
    return checks


def raw_columns(
    dataset: DatasetContract, required: Iterable[str] | None = None
) -> dict[str, pa.Column]:
    """pandera columns of the raw contract; columns not in ``required`` (default: those the
    contract requires) may be absent."""
    from features_pipeline.pandera_polars import pa

    required_set = set(dataset.required_columns if required is None else required)
    columns = {
        name: pa.Column(
            spec.dtype,
            checks=_value_checks(name, spec) + _rule_checks(name, dataset),
            nullable=spec.nullable,
            unique=spec.unique or dataset.key == (name,),
            required=name in required_set,
        )
        for name, spec in dataset.columns.items()
    }
    if dataset.adds_row_number:
        columns[ROW_NUMBER] = pa.Column(
            pl.Int64, nullable=False, unique=True, required=ROW_NUMBER in required_set
        )
    return columns


def raw_schema(
    dataset: DatasetContract, required: Iterable[str] | None = None
) -> pa.DataFrameSchema:
    """The raw contract as a pandera schema (a key of several columns: unique together);
    ``required`` overrides which columns must be present (default: the contract's)."""
    from features_pipeline.pandera_polars import pa

    unique = list(dataset.key) if len(dataset.key) > 1 else None
    return pa.DataFrameSchema(
        raw_columns(dataset, required), name=f"raw {dataset.name}", strict=False, unique=unique
    )


def check_raw_contract(
    frame: pl.DataFrame,
    source: str,
    dataset: DatasetContract,
    first_row: int = 1,
    row_word: str = "row",
    required: Iterable[str] | None = None,
) -> pl.DataFrame:
    """Validate ``frame`` against the raw contract, collecting every failure (``required``: the
    columns that must be present, default the contract's required ones).

    Raises a UserError naming the source, column, check and the first offending rows.
    """
    from features_pipeline.pandera_polars import pa

    if frame.height == 0:
        raise UserError(f"{source}: no data rows")
    try:
        return raw_schema(dataset, required).validate(frame, lazy=True)
    except pa.errors.SchemaErrors as exc:
        raise schema_errors_to_user_error(exc, source, first_row, row_word) from None
