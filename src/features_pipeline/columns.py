"""The canonical raw columns of the Sales Records files and their dtypes."""

from __future__ import annotations

import re

import polars as pl

REGION = "Region"
COUNTRY = "Country"
ITEM_TYPE = "Item Type"
SALES_CHANNEL = "Sales Channel"
ORDER_PRIORITY = "Order Priority"
ORDER_DATE = "Order Date"
ORDER_ID = "Order ID"
SHIP_DATE = "Ship Date"
UNITS_SOLD = "Units Sold"
UNIT_PRICE = "Unit Price"
UNIT_COST = "Unit Cost"
TOTAL_REVENUE = "Total Revenue"
TOTAL_COST = "Total Cost"
TOTAL_PROFIT = "Total Profit"

RAW_SCHEMA: dict[str, type[pl.DataType]] = {
    REGION: pl.String,
    COUNTRY: pl.String,
    ITEM_TYPE: pl.String,
    SALES_CHANNEL: pl.String,
    ORDER_PRIORITY: pl.String,
    ORDER_DATE: pl.Date,
    ORDER_ID: pl.Int64,
    SHIP_DATE: pl.Date,
    UNITS_SOLD: pl.Int64,
    UNIT_PRICE: pl.Float64,
    UNIT_COST: pl.Float64,
    TOTAL_REVENUE: pl.Float64,
    TOTAL_COST: pl.Float64,
    TOTAL_PROFIT: pl.Float64,
}
RAW_COLUMNS: tuple[str, ...] = tuple(RAW_SCHEMA)


def column_key(name: str) -> str:
    """Spelling-insensitive header key: ``Item Type``, ``item_type``, ``ITEM-TYPE`` agree."""
    return re.sub(r"[^0-9a-z]+", "_", name.strip().lstrip("\ufeff").lower()).strip("_")


_CANONICAL_BY_KEY: dict[str, str] = {column_key(name): name for name in RAW_COLUMNS}


def canonical_column_name(name: str) -> str | None:
    """The canonical name of a raw header, or None when it is not a Sales Records column."""
    return _CANONICAL_BY_KEY.get(column_key(name))
