"""The Sales Records column names the tests use (the generator's own names) and the shipped
contract that describes them."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

import polars as pl

from features_pipeline.contracts.dataset import column_key, load_contract
from features_pipeline.features.plan import Plan, input_schema_of, load_plan
from features_pipeline.features.types import RowOrder
from features_pipeline.ingest.csv_reader import read_csv_table
from features_pipeline.ingest.synthetic import (
    COUNTRY,
    ITEM_TYPE,
    ORDER_DATE,
    ORDER_ID,
    ORDER_PRIORITY,
    REGION,
    SALES_CHANNEL,
    SALES_SCHEMA,
    SHIP_DATE,
    TOTAL_COST,
    TOTAL_PROFIT,
    TOTAL_REVENUE,
    UNIT_COST,
    UNIT_PRICE,
    UNITS_SOLD,
)

CONTRACT_PATH = Path(__file__).resolve().parents[1] / "config" / "dataset.yaml"
SALES = load_contract(CONTRACT_PATH)  # the shipped dataset contract
RAW_SCHEMA = SALES_SCHEMA
RAW_COLUMNS: tuple[str, ...] = tuple(SALES_SCHEMA)

__all__ = [
    "CONTRACT_PATH",
    "COUNTRY",
    "ITEM_TYPE",
    "ORDER_DATE",
    "ORDER_ID",
    "ORDER_PRIORITY",
    "RAW_COLUMNS",
    "RAW_SCHEMA",
    "REGION",
    "SALES",
    "SALES_CHANNEL",
    "SALES_ORDER",
    "SHIP_DATE",
    "TOTAL_COST",
    "TOTAL_PROFIT",
    "TOTAL_REVENUE",
    "UNITS_SOLD",
    "UNIT_COST",
    "UNIT_PRICE",
    "column_key",
    "read_sales_csv",
    "sales_input_schema",
    "sales_plan",
]


def read_sales_csv(path: Path) -> pl.DataFrame:
    """A Sales Records CSV read with the shipped contract, as ingest reads it."""
    return read_csv_table(path, SALES)


def sales_input_schema() -> dict[str, pl.DataType]:
    """What a feature spec may read from a Sales Records table (the contract's columns + split)."""
    return input_schema_of(SALES)


SALES_ORDER = RowOrder(ORDER_DATE, ORDER_ID)  # the shipped contract's row order


def sales_plan(
    spec: Path, schema: Mapping[str, pl.DataType] | None = None, engine: str = "polars"
) -> Plan:
    """``spec`` planned for a Sales Records table (``schema``: default the contract's columns),
    as the features stage plans it with the shipped contract."""
    return load_plan(spec, dict(schema) if schema else sales_input_schema(), SALES, engine)
