"""The raw contract: what every ingested Sales Records table must satisfy (pandera)."""

from __future__ import annotations

from collections.abc import Iterable

import polars as pl

from features_pipeline import columns as c
from features_pipeline.errors import UserError
from features_pipeline.ingest.reference import ORDER_PRIORITIES, SALES_CHANNELS
from features_pipeline.pandera_polars import PolarsData, pa
from features_pipeline.schema_report import schema_errors_to_user_error


def _cents(name: str) -> pl.Expr:
    """Whole cents; null where the value is not finite or too large (the check then fails)."""
    return (pl.col(name) * 100).round(0).cast(pl.Int64, strict=False)


def _row_check(expression: pl.Expr, columns: Iterable[str], message: str) -> pa.Check:
    """A check comparing columns of the same row, skipped when any of them is absent."""
    needed = tuple(columns)

    def check(data: PolarsData) -> pl.LazyFrame:
        present = set(data.lazyframe.collect_schema().names())
        if not set(needed) <= present:
            return data.lazyframe.select(pl.lit(True).alias(data.key))
        return data.lazyframe.select(expression.fill_null(False).alias(data.key))

    return pa.Check(check, error=message)


_CROSS_CHECKS: dict[str, list[pa.Check]] = {
    c.SHIP_DATE: [
        _row_check(
            pl.col(c.SHIP_DATE) >= pl.col(c.ORDER_DATE),
            (c.SHIP_DATE, c.ORDER_DATE),
            "Ship Date >= Order Date",
        )
    ],
    c.TOTAL_REVENUE: [
        _row_check(
            _cents(c.TOTAL_REVENUE) == pl.col(c.UNITS_SOLD) * _cents(c.UNIT_PRICE),
            (c.TOTAL_REVENUE, c.UNITS_SOLD, c.UNIT_PRICE),
            "Total Revenue == Units Sold x Unit Price (to the cent)",
        )
    ],
    c.TOTAL_COST: [
        _row_check(
            _cents(c.TOTAL_COST) == pl.col(c.UNITS_SOLD) * _cents(c.UNIT_COST),
            (c.TOTAL_COST, c.UNITS_SOLD, c.UNIT_COST),
            "Total Cost == Units Sold x Unit Cost (to the cent)",
        )
    ],
    c.TOTAL_PROFIT: [
        _row_check(
            _cents(c.TOTAL_PROFIT) == _cents(c.TOTAL_REVENUE) - _cents(c.TOTAL_COST),
            (c.TOTAL_PROFIT, c.TOTAL_REVENUE, c.TOTAL_COST),
            "Total Profit == Total Revenue - Total Cost (to the cent)",
        )
    ],
}

_VALUE_CHECKS: dict[str, list[pa.Check]] = {
    c.UNITS_SOLD: [pa.Check.gt(0, error="Units Sold > 0")],
    c.UNIT_PRICE: [pa.Check.gt(0, error="Unit Price > 0")],
    c.UNIT_COST: [pa.Check.gt(0, error="Unit Cost > 0")],
    c.SALES_CHANNEL: [pa.Check.isin(SALES_CHANNELS, error=f"one of {list(SALES_CHANNELS)}")],
    c.ORDER_PRIORITY: [pa.Check.isin(ORDER_PRIORITIES, error=f"one of {list(ORDER_PRIORITIES)}")],
}


def raw_columns(required: Iterable[str] = c.RAW_COLUMNS) -> dict[str, pa.Column]:
    """pandera columns of the raw contract; columns not in ``required`` may be absent."""
    required_set = set(required)
    return {
        name: pa.Column(
            dtype,
            checks=_VALUE_CHECKS.get(name, []) + _CROSS_CHECKS.get(name, []),
            nullable=False,
            unique=name == c.ORDER_ID,
            required=name in required_set,
        )
        for name, dtype in c.RAW_SCHEMA.items()
    }


def raw_schema(required: Iterable[str] = c.RAW_COLUMNS) -> pa.DataFrameSchema:
    """The raw contract as a pandera schema."""
    return pa.DataFrameSchema(raw_columns(required), name="raw sales", strict=False)


def check_raw_contract(
    frame: pl.DataFrame,
    source: str,
    required: Iterable[str] = c.RAW_COLUMNS,
    first_row: int = 1,
    row_word: str = "row",
) -> pl.DataFrame:
    """Validate ``frame`` against the raw contract, collecting every failure.

    Raises a UserError naming the source, column, check and the first offending rows.
    """
    if frame.height == 0:
        raise UserError(f"{source}: no data rows")
    try:
        return raw_schema(required).validate(frame, lazy=True)
    except pa.errors.SchemaErrors as exc:
        raise schema_errors_to_user_error(exc, source, first_row, row_word) from None
