"""A vectorised, seeded generator of realistic Sales Records rows."""

from __future__ import annotations

import datetime as dt

import numpy as np
import polars as pl

from features_pipeline import columns as c
from features_pipeline.ingest.reference import (
    COUNTRIES_BY_REGION,
    FIRST_ORDER_DATE,
    ITEM_PRICES,
    LAST_ORDER_DATE,
    MAX_SHIP_DAYS,
    MAX_UNITS,
    ORDER_PRIORITIES,
    SALES_CHANNELS,
)

_EPOCH = dt.date(1970, 1, 1)
_ORDER_ID_LOW = 100_000_000
_ORDER_ID_SPAN = 900_000_000  # 9-digit IDs: 100000000..999999999


def _pick(values: list[str], codes: np.ndarray) -> pl.Series:
    """Strings for integer codes, without building a Python object array."""
    return pl.Series(values, dtype=pl.String).gather(codes)


def _to_cents(amount: float) -> int:
    return round(amount * 100)


def generate_sales(rows: int, seed: int) -> pl.DataFrame:
    """``rows`` synthetic orders with the columns, dtypes and invariants of the real files."""
    if rows <= 0:
        raise ValueError(f"rows must be positive, got {rows}")
    if rows > _ORDER_ID_SPAN:
        raise ValueError(f"at most {_ORDER_ID_SPAN} unique 9-digit Order IDs exist, got {rows}")
    rng = np.random.default_rng(seed)

    countries = [country for names in COUNTRIES_BY_REGION.values() for country in names]
    regions = [region for region, names in COUNTRIES_BY_REGION.items() for _ in names]
    items = list(ITEM_PRICES)
    price_cents = np.array([_to_cents(price) for price, _ in ITEM_PRICES.values()], np.int64)
    cost_cents = np.array([_to_cents(cost) for _, cost in ITEM_PRICES.values()], np.int64)

    country_code = rng.integers(0, len(countries), rows)
    item_code = rng.integers(0, len(items), rows)
    channel_code = rng.integers(0, len(SALES_CHANNELS), rows)
    priority_code = rng.integers(0, len(ORDER_PRIORITIES), rows)
    first_day = (dt.date.fromisoformat(FIRST_ORDER_DATE) - _EPOCH).days
    last_day = (dt.date.fromisoformat(LAST_ORDER_DATE) - _EPOCH).days
    order_day = rng.integers(first_day, last_day + 1, rows, dtype=np.int32)
    ship_day = order_day + rng.integers(0, MAX_SHIP_DAYS + 1, rows, dtype=np.int32)
    order_id = rng.choice(_ORDER_ID_SPAN, size=rows, replace=False).astype(np.int64)
    order_id += _ORDER_ID_LOW
    units = rng.integers(1, MAX_UNITS + 1, rows, dtype=np.int64)

    # Money in integer cents, then one correctly rounded division: exact to the cent.
    revenue_cents = units * price_cents[item_code]
    cost_total_cents = units * cost_cents[item_code]
    return pl.DataFrame(
        {
            c.REGION: _pick(regions, country_code),
            c.COUNTRY: _pick(countries, country_code),
            c.ITEM_TYPE: _pick(items, item_code),
            c.SALES_CHANNEL: _pick(list(SALES_CHANNELS), channel_code),
            c.ORDER_PRIORITY: _pick(list(ORDER_PRIORITIES), priority_code),
            c.ORDER_DATE: pl.Series(order_day).cast(pl.Date),
            c.ORDER_ID: order_id,
            c.SHIP_DATE: pl.Series(ship_day).cast(pl.Date),
            c.UNITS_SOLD: units,
            c.UNIT_PRICE: price_cents[item_code] / 100,
            c.UNIT_COST: cost_cents[item_code] / 100,
            c.TOTAL_REVENUE: revenue_cents / 100,
            c.TOTAL_COST: cost_total_cents / 100,
            c.TOTAL_PROFIT: (revenue_cents - cost_total_cents) / 100,
        },
        schema=c.RAW_SCHEMA,
    )
