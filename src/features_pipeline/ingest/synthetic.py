"""A vectorised, seeded generator of realistic Sales Records rows: the built-in sample data.

The one Sales-specific code of the package (with ``reference``): every other module learns the
table's columns from the dataset contract (``config/dataset.yaml``).
"""

from __future__ import annotations

import contextlib
import datetime as dt
import math
import os
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import polars as pl

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

SALES_SCHEMA: dict[str, type[pl.DataType]] = {
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
"""The columns of the public Sales Records files, in their order, as this generator writes them."""

_EPOCH = dt.date(1970, 1, 1)
_ORDER_ID_LOW = 100_000_000
_ORDER_ID_SPAN = 900_000_000  # 9-digit IDs: 100000000..999999999


# The generator's working arrays alive while the frame is built (numpy dtypes, one per row each):
# 4 category codes, order and ship days, Order IDs (drawn, then cast), units, revenue and cost
# cents, the gathered price and cost cents, and the five money columns before Polars copies them.
_WORKING_DTYPES: tuple[type[np.generic], ...] = (
    *(np.int64,) * 4,
    *(np.int32,) * 2,
    *(np.int64,) * 2,
    np.int64,
    *(np.int64,) * 2,
    *(np.int64,) * 2,
    *(np.float64,) * 5,
)
_STRING_VIEW_BYTES = 16  # a Polars string is a 16-byte view (names share one buffer)
_FRAME_COPIES = 2  # the generated frame, and the copy the stage makes (split column, checks)
_CHOICE_FULL_FRACTION = 50  # numpy draws more than span // 50 unique IDs from a full arange
# More rows than this are generated in chunks of this many (issue 23: generation bounded in
# memory); up to it, the rows are exactly those of the one-draw generator before issue 23
CHUNK_ROWS = 1_000_000


def frame_bytes_per_row() -> int:
    """Bytes one row of the generated frame takes, from the raw schema's dtypes."""
    total = 0
    for dtype in SALES_SCHEMA.values():
        if dtype == pl.String:
            total += _STRING_VIEW_BYTES
        else:
            total += pl.Series([], dtype=dtype).to_physical().to_numpy().dtype.itemsize
    return total


def estimated_bytes(rows: int) -> int:
    """Peak memory :func:`generate_sales` and the ingest stage need for ``rows`` rows in memory
    (generated in chunks above :data:`CHUNK_ROWS`: one chunk's working arrays, every row's
    frame)."""
    working = sum(np.dtype(dtype).itemsize for dtype in _WORKING_DTYPES)
    if rows > CHUNK_ROWS:
        return CHUNK_ROWS * working + rows * _FRAME_COPIES * frame_bytes_per_row()
    per_row = working + _FRAME_COPIES * frame_bytes_per_row()
    if rows > _ORDER_ID_SPAN // _CHOICE_FULL_FRACTION:  # numpy shuffles a full range of IDs
        draw = _ORDER_ID_SPAN * np.dtype(np.int64).itemsize
    else:  # Floyd's algorithm with a hash set of the next power of two above 1.2 x rows
        draw = (1 << int(1.2 * rows).bit_length()) * np.dtype(np.uint64).itemsize
    return rows * per_row + draw


def available_bytes() -> int | None:
    """Memory available to this process: MemAvailable, capped by a cgroup v2 limit (or None)."""
    found: list[int] = []
    try:
        for line in Path("/proc/meminfo").read_text(encoding="ascii").splitlines():
            if line.startswith("MemAvailable:"):
                found.append(int(line.split()[1]) * 1024)
    except (OSError, ValueError, IndexError):
        pass
    if not found:
        with contextlib.suppress(ValueError, OSError, AttributeError):
            found.append(os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE"))
    try:
        cgroup = Path("/sys/fs/cgroup")
        limit = (cgroup / "memory.max").read_text(encoding="ascii").strip()
        if limit != "max":
            used = int((cgroup / "memory.current").read_text(encoding="ascii").strip())
            found.append(max(int(limit) - used, 0))
    except (OSError, ValueError):
        pass
    return min(found) if found else None


def memory_shortfall(rows: int) -> str | None:
    """``900,000,000 rows need about 388 GB, this machine has 23 GB available``, or None."""
    needed, available = estimated_bytes(rows), available_bytes()
    if available is None or needed <= available:
        return None
    return (
        f"{rows:,} rows need about {_gigabytes(needed)}, "
        f"this machine has {_gigabytes(available)} available"
    )


def _gigabytes(count: int) -> str:
    return f"{count / 1e9:.0f} GB" if count >= 10e9 else f"{count / 1e9:.1f} GB"


def _pick(values: list[str], codes: np.ndarray) -> pl.Series:
    """Strings for integer codes, without building a Python object array."""
    return pl.Series(values, dtype=pl.String).gather(codes)


def _to_cents(amount: float) -> int:
    return round(amount * 100)


def generate_sales(rows: int, seed: int) -> pl.DataFrame:
    """``rows`` synthetic orders with the columns, dtypes and invariants of the real files
    (the chunks of :func:`sales_chunks`, concatenated)."""
    chunks = list(sales_chunks(rows, seed))
    return chunks[0] if len(chunks) == 1 else pl.concat(chunks, rechunk=False)


def sales_chunks(rows: int, seed: int) -> Iterator[pl.DataFrame]:
    """:func:`generate_sales`'s rows, at most :data:`CHUNK_ROWS` at a time: up to that many in
    one draw (the rows of every release before issue 23), beyond it chunk ``i`` drawn from the
    seed sequence ``(seed, i)`` with unique Order IDs from a seeded affine permutation of the
    9-digit range (a full shuffle of it would take 7.2 GB). The same rows for any consumer."""
    if rows <= 0:
        raise ValueError(f"rows must be positive, got {rows}")
    if rows > _ORDER_ID_SPAN:
        raise ValueError(f"at most {_ORDER_ID_SPAN} unique 9-digit Order IDs exist, got {rows}")
    if rows <= CHUNK_ROWS:
        yield _generate(rows, np.random.default_rng(seed), None)
        return
    scale, shift = _id_permutation(seed)
    for index, start in enumerate(range(0, rows, CHUNK_ROWS)):
        positions = np.arange(start, min(start + CHUNK_ROWS, rows), dtype=np.int64)
        ids = (positions * scale + shift) % _ORDER_ID_SPAN + _ORDER_ID_LOW
        yield _generate(len(positions), np.random.default_rng([seed, index]), ids)


def _id_permutation(seed: int) -> tuple[int, int]:
    """(a, b) of the permutation ``i -> (a i + b) mod span`` of the Order ID range (a coprime
    with the span: a bijection), drawn from the seed."""
    rng = np.random.default_rng([seed, _ORDER_ID_SPAN])
    scale = int(rng.integers(_ORDER_ID_SPAN // 3, _ORDER_ID_SPAN))
    while math.gcd(scale, _ORDER_ID_SPAN) != 1:
        scale += 1
    return scale, int(rng.integers(0, _ORDER_ID_SPAN))


def _generate(rows: int, rng: np.random.Generator, ids: np.ndarray | None) -> pl.DataFrame:
    """``rows`` orders drawn from ``rng`` (Order IDs drawn too unless ``ids`` are given)."""

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
    if ids is None:
        order_id = rng.choice(_ORDER_ID_SPAN, size=rows, replace=False).astype(np.int64)
        order_id += _ORDER_ID_LOW
    else:
        order_id = ids
    units = rng.integers(1, MAX_UNITS + 1, rows, dtype=np.int64)

    # Money in integer cents, then one correctly rounded division: exact to the cent.
    revenue_cents = units * price_cents[item_code]
    cost_total_cents = units * cost_cents[item_code]
    columns = [
        _pick(regions, country_code),
        _pick(countries, country_code),
        _pick(items, item_code),
        _pick(list(SALES_CHANNELS), channel_code),
        _pick(list(ORDER_PRIORITIES), priority_code),
        pl.Series(order_day).cast(pl.Date),
        order_id,
        pl.Series(ship_day).cast(pl.Date),
        units,
        price_cents[item_code] / 100,
        cost_cents[item_code] / 100,
        revenue_cents / 100,
        cost_total_cents / 100,
        (revenue_cents - cost_total_cents) / 100,
    ]
    return pl.DataFrame(dict(zip(SALES_SCHEMA, columns, strict=True)), schema=SALES_SCHEMA)
