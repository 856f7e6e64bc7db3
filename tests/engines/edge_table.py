"""The edge-case table of the engine conformance suite: small, hand-made, every awkward value.

Every value column has nulls; ``x`` (float) also has NaN, ``-0.0`` and values that do not add up
exactly in binary (0.1, 0.2, 0.3). Window features order by ``Order Date`` (null on two rows)
with ties broken by ``Order ID``, which within a tied date runs against the row order, so only the
tie-breaker gives the right order. Denominators ``d_int``/``d_float`` hold zeros (also ``-0.0``),
negatives and nulls. Group key ``g`` has groups of one row (``c`` in train, ``solo`` test only),
a test-only value (``new``, unseen in train) and null; ``h`` is a second (integer) key. Dates
include Sundays, leap days (2000-02-29, 2020-02-29, 2024-02-29), a non-leap century (1900),
year boundaries (Dec 31 / Jan 1), days before 1970, and Ship Date earlier than Order Date.
``s`` (strings) has an empty string besides null; ``ts_berlin`` is a time-zone-aware timestamp.
``key`` is the unique row key results are compared by (never equal to the row position).

:func:`conformance_spec` is one spec holding every feature type with every option on these
columns. Feature names spell out their options (``rank__n__dense__desc__by_g_h``), so a failing
case names the type, the option and the key set.
"""

# ruff: noqa: E501  (the ROWS table: one edge-case row per line)
from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from itertools import product
from typing import Any

import polars as pl

from features_pipeline.features.types import FEATURE_TYPES

KEY = "key"
SPLIT = "split"
NAN = float("nan")


def _day(text: str | None) -> dt.date | None:
    return None if text is None else dt.date.fromisoformat(text)


def _stamp(text: str | None) -> dt.datetime | None:
    return None if text is None else dt.datetime.fromisoformat(text)


# g, h, Order Date, Order ID, Ship Date, ts, n, x, d_int, d_float, u, u_int, s, split
ROWS: list[tuple[object, ...]] = [
    ("a", 1, "2019-12-31", 30, "2020-01-01", "2019-12-31T23:59:59.999999", 5, 1.5, 2, 0.5, 0.0, 0, "p", "train"),
    ("a", 1, "2019-12-31", 10, "2020-01-05", "2020-01-01T00:00:00", 5, 1.5, 0, 0.0, 1.0, 1, "p", "train"),
    ("a", 2, "2020-01-01", 20, "2019-12-31", None, -3, -2.25, -4, -0.0, None, 3, "q", "train"),
    ("a", 1, "2020-02-29", 50, "2020-03-01", "2020-02-29T12:00:00", None, NAN, None, -2.0, 2.5, None, None, "test"),
    ("a", 2, "2020-02-29", 40, "2021-02-28", "2020-02-29T00:00:00", 0, 0.1, 3, NAN, 1e6, 7, "q", "train"),
    ("a", None, "2020-03-01", 60, None, "2020-03-01T06:30:00", 7, None, -1, 3.0, 0.5, 2, "r", "test"),
    ("a", 1, "2023-12-31", 70, "2024-01-01", "2023-12-31T23:00:00", 5, 0.2, 0, None, 3.0, 4, "p", "train"),
    ("a", 1, "2024-01-01", 90, "2024-02-29", "2024-01-01T00:00:01", 12, 0.3, 5, 0.0, 4.0, 0, "p", "test"),
    ("a", 2, "2024-01-01", 80, "2023-12-31", "2024-01-01T00:00:00", -7, -0.0, -2, -0.5, 0.25, 5, "s", "train"),
    ("a", 1, None, 100, "2024-03-01", "2024-03-01T00:00:00", 2, 4.0, 1, 1.0, 5.0, 6, "p", "train"),
    ("a", 1, "2024-02-29", 85, "2024-02-29", "2024-02-29T23:59:59", 5, 1.5, 0, 2.0, 6.0, 8, "q", "train"),
    ("a", 2, "2024-02-29", 84, "2025-01-01", None, 9, 0.7, 7, -0.0, 7.0, 9, "r", "train"),
    ("b", 1, "2000-02-29", 5, "2000-03-01", "2000-02-29T00:00:00", 100, -0.5, 3, 4.0, 8.0, 10, "p", "train"),
    ("b", 1, "2000-02-29", 3, "2000-02-28", "2000-02-28T23:59:59", 100, -0.5, 0, 0.0, 9.0, 11, "p", "train"),
    ("b", 2, "1969-12-31", 7, "1970-01-01", "1969-12-31T23:59:59", None, 2.5, -3, 5.0, 10.0, None, "t", "train"),
    ("b", 2, "1900-03-01", 9, "1900-02-28", "1900-03-01T00:00:00", 1, NAN, 0, -1.0, NAN, 12, None, "test"),
    ("b", None, "2020-12-31", 11, "2021-01-03", "2020-12-31T12:00:00", 3, 10.0, None, 0.0, 11.0, 13, "q", "train"),
    ("b", 1, "2021-01-03", 13, "2020-12-31", "2021-01-03T00:00:00", 3, 1234.5678, 4, None, 12.0, 14, "p", "test"),
    ("b", 2, "2021-01-03", 12, None, None, 3, 0.1, 2, 0.1, 0.1, 15, "p", "train"),
    ("b", 1, None, 14, "2021-01-04", "2021-01-04T00:00:00", -100, -3.75, 1, -4.0, 13.0, 16, "", "train"),
    ("b", 1, "2024-12-29", 15, "2025-01-05", "2024-12-29T00:00:00", 50, 0.2, -5, 2.5, 14.0, 17, "t", "test"),
    ("c", 1, "2022-06-15", 16, "2022-06-19", "2022-06-15T08:00:00", 8, 2.0, 0, 0.0, 15.0, 18, "v", "train"),
    ("solo", 9, "2022-01-02", 17, "2022-01-01", "2022-01-02T00:00:00", 4, 3.0, 6, 6.0, 16.0, 19, "new", "test"),
    (None, 1, "2020-02-29", 18, "2020-03-01", "2020-02-29T00:00:00", 6, 0.3, 2, 0.0, 17.0, 20, "p", "train"),
    (None, None, "2020-02-29", 19, None, None, None, None, None, None, None, None, None, "train"),
    (None, 2, "2021-12-31", 21, "2022-01-01", "2021-12-31T00:00:00", -2, -1.5, -2, 8.0, 18.0, 21, "q", "test"),
    ("new", 1, "2023-01-01", 22, "2023-01-01", "2023-01-01T00:00:00", 1, 5.5, 0, 0.0, 19.0, 22, "w", "test"),
    ("new", 1, "2023-01-01", 23, "2022-12-31", "2023-01-01T00:00:00", 1, 5.5, 1, NAN, 20.0, 23, "w", "test"),
    ("a", 1, "2023-12-31", 71, "2023-12-31", "2023-12-31T00:00:00", 5, 0.2, 3, 3.5, 21.0, 24, "p", "train"),
    ("b", 2, "2021-01-03", 2, "2021-01-01", "2021-01-03T00:00:00", 3, 0.3, 0, -0.0, 22.0, 25, "q", "train"),
    ("a", 1, "2020-01-01", 1, "2020-01-01", "2020-01-01T00:00:00", None, 1.5, 4, 4.0, 23.0, 26, "p", "test"),
    ("b", 1, "2024-12-29", 8, "2024-12-30", "2024-12-29T00:00:00", 50, NAN, 2, 2.0, 24.0, 27, "r", "train"),
]  # fmt: skip

SCHEMA: dict[str, pl.DataType] = {
    "g": pl.String(),
    "h": pl.Int64(),
    "Order Date": pl.Date(),
    "Order ID": pl.Int64(),
    "Ship Date": pl.Date(),
    "ts": pl.Datetime("us"),
    "n": pl.Int64(),
    "x": pl.Float64(),
    "d_int": pl.Int64(),
    "d_float": pl.Float64(),
    "u": pl.Float64(),
    "u_int": pl.Int64(),
    "s": pl.String(),
    SPLIT: pl.String(),
}
DATES = ("Order Date", "Ship Date")
ZONED, ZONE = "ts_berlin", "Europe/Berlin"
"""A time-zone-aware copy of ``ts`` (the same instants; local dates differ near midnight)."""


def edge_table() -> pl.DataFrame:
    """The edge-case table with its unique row ``key`` (a permutation, not the row position)."""
    names = list(SCHEMA)
    columns: dict[str, list[object]] = {
        name: [row[i] for row in ROWS] for i, name in enumerate(names)
    }
    for name in DATES:
        columns[name] = [_day(value) for value in columns[name]]  # type: ignore[arg-type]
    columns["ts"] = [_stamp(value) for value in columns["ts"]]  # type: ignore[arg-type]
    count = len(ROWS)
    keys = [(index * 29 + 11) % 101 for index in range(count)]
    assert len(set(keys)) == count
    frame = pl.DataFrame(columns, schema=SCHEMA).with_columns(
        pl.col("ts").dt.replace_time_zone("UTC").dt.convert_time_zone(ZONE).alias(ZONED)
    )
    return frame.insert_column(0, pl.Series(KEY, keys, pl.Int64))


def all_train(frame: pl.DataFrame) -> pl.DataFrame:
    """``frame`` with an empty test split: every row is a training row."""
    return frame.with_columns(pl.lit("train").alias(SPLIT))


def no_train(frame: pl.DataFrame) -> pl.DataFrame:
    """``frame`` without training rows: fitted features learn from nothing."""
    return frame.with_columns(pl.lit("test").alias(SPLIT))


def new_rows(frame: pl.DataFrame) -> pl.DataFrame:
    """Rows to transform with a fitted state: the table without its split, plus rows whose keys
    and values no training row has (unseen groups, unseen category values, extreme numbers)."""
    extra = frame.head(3).with_columns(
        pl.Series(KEY, [1000, 1001, 1002], pl.Int64),
        pl.Series("g", ["zz", None, "a"], pl.String),
        pl.Series("h", [42, 1, None], pl.Int64),
        pl.Series("s", ["unseen", None, "p"], pl.String),
        pl.Series("n", [10**6, -(10**6), 0], pl.Int64),
        pl.Series("x", [1e300, -1e-300, NAN], pl.Float64),
        pl.Series("Order ID", [1000, 1001, 1002], pl.Int64),
    )
    return pl.concat([frame, extra]).drop(SPLIT)


# ---- the conformance spec: every type with every option, on the columns above ----------------

Spec = dict[str, Any]
BYS: tuple[tuple[str, ...], ...] = ((), ("g",), ("g", "h"))
"""Group keys: none, one (a string key with nulls) or two (with an integer key)."""


def by_label(by: tuple[str, ...]) -> str:
    return "by_" + "_".join(by) if by else "all"


def _arithmetic() -> Iterator[Spec]:
    # (label, left, right column or constant): int/int, float/float, int/float, constants
    operands: list[tuple[str, str, dict[str, Any]]] = [
        ("n_dint", "n", {"right": "d_int"}),
        ("x_dfloat", "x", {"right": "d_float"}),
        ("n_dfloat", "n", {"right": "d_float"}),
        ("x_n", "x", {"right": "n"}),
        ("n_c3", "n", {"constant": 3}),
        ("n_cm2_5", "n", {"constant": -2.5}),
        ("x_c0", "x", {"constant": 0}),
        ("n_c0", "n", {"constant": 0.0}),
    ]
    for op in ("add", "subtract", "multiply"):
        for label, left, right in operands:
            yield {"name": f"arithmetic__{op}__{label}", "op": op, "left": left, **right}
    for on_zero in ("null", "zero", "inf"):
        for label, left, right in operands:
            name = f"arithmetic__divide__{on_zero}__{label}"
            yield {"name": name, "op": "divide", "on_zero": on_zero, "left": left, **right}


def _bucket() -> Iterator[Spec]:
    edges = {"one": [0], "neg": [-1, 0, 1.5], "wide": [1, 5, 10, 100]}
    for column, (label, values) in product(("n", "x"), edges.items()):
        yield {"name": f"bucket__{column}__edges_{label}", "column": column, "edges": values}
    for column, count in product(("n", "x", "d_float"), (2, 3, 4, 10)):
        yield {"name": f"bucket__{column}__q{count}", "column": column, "quantiles": count}
    yield {"name": "bucket__x__q4__fill", "column": "x", "quantiles": 4, "fill": -1.0}


def _cumulative() -> Iterator[Spec]:
    for by in BYS:
        yield {"name": f"cumulative__count__{by_label(by)}", "agg": "count", "by": list(by)}
        for column in ("n", "x"):
            name = f"cumulative__sum__{column}__{by_label(by)}"
            yield {"name": name, "agg": "sum", "column": column, "by": list(by)}
    yield {  # another order: ties in Ship Date broken by the row key
        "name": "cumulative__sum__n__by_g__ship",
        "agg": "sum",
        "column": "n",
        "by": ["g"],
        "order_by": "Ship Date",
        "tie_breaker": "key",
    }


def _date_diff() -> Iterator[Spec]:
    pairs = [("Order Date", "Ship Date"), ("Ship Date", "Order Date"), ("ts", "Ship Date")]
    for start, end in [*pairs, ("Order Date", "ts"), (ZONED, "Ship Date")]:
        name = f"date_diff__{start}__{end}".replace(" ", "_")
        yield {"name": name, "start": start, "end": end}


PARTS = ("year", "quarter", "month", "day", "weekday", "day_of_year")


def _date_part() -> Iterator[Spec]:
    for column, part in product(("Order Date", "ts", ZONED), PARTS):
        yield {
            "name": f"date_part__{part}__{column.replace(' ', '_')}",
            "column": column,
            "part": part,
        }


def _frequency() -> Iterator[Spec]:
    for column, fill in product(("g", "s", "h"), (None, 0.0)):
        fill_key = {} if fill is None else {"fill": fill}
        name = f"frequency__{column}__{'fill' if fill_key else 'nofill'}"
        yield {"name": name, "column": column, **fill_key}


def _group_agg() -> Iterator[Spec]:
    aggs = ("mean", "sum", "count", "min", "max", "median", "std")
    for agg, column, by in product(aggs, ("n", "x"), (*BYS[1:], ("h",))):
        name = f"group_agg__{agg}__{column}__{by_label(by)}"
        yield {"name": name, "agg": agg, "column": column, "by": list(by)}
    for agg in aggs:  # a whole fill for integer results (a fractional one is refused)
        fill = -1.0 if agg in ("sum", "count", "min", "max") else -1.5
        yield {"name": f"group_agg__{agg}__n__by_g__fill", "agg": agg, "column": "n", "by": "g",
               "fill": fill}  # fmt: skip
    yield {"name": "group_agg__count__s__by_g", "agg": "count", "column": "s", "by": ["g"]}


def _lag() -> Iterator[Spec]:
    for column, periods in product(("n", "x", "s", "Ship Date", "ts"), (1, 2, 3)):
        name = f"lag__{column.replace(' ', '_')}__p{periods}__by_g"
        yield {"name": name, "column": column, "periods": periods, "by": ["g"]}
    for by, periods in product((BYS[0], BYS[2]), (1, 3)):
        yield {"name": f"lag__n__p{periods}__{by_label(by)}", "column": "n", "periods": periods,
               "by": list(by)}  # fmt: skip
    yield {
        "name": "lag__x__p1__by_h__ship",
        "column": "x",
        "by": "h",
        "order_by": "Ship Date",
        "tie_breaker": "key",
    }


def _log() -> Iterator[Spec]:
    for column in ("u", "u_int"):
        yield {"name": f"log__{column}", "column": column}


def _rank() -> Iterator[Spec]:
    methods = ("average", "min", "max", "dense", "ordinal")
    for column, by in (("n", ()), ("n", ("g",)), ("n", ("g", "h")), ("x", ("g",))):
        for method, descending, percentile in product(methods, (False, True), (False, True)):
            name = (
                f"rank__{column}__{method}{'__desc' if descending else ''}"
                f"{'__pct' if percentile else ''}__{by_label(by)}"
            )
            yield {"name": name, "column": column, "method": method, "descending": descending,
                   "percentile": percentile, "by": list(by)}  # fmt: skip
    for descending in (False, True):  # ordinal ties broken by another column
        name = f"rank__x__ordinal__key{'__desc' if descending else ''}__all"
        yield {"name": name, "column": "x", "method": "ordinal", "descending": descending,
               "tie_breaker": "key"}  # fmt: skip


def _ratio() -> Iterator[Spec]:
    pairs = (("n", "d_int"), ("x", "d_float"), ("n", "d_float"), ("x", "n"))
    for on_zero, (top, bottom) in product(("null", "zero", "inf"), pairs):
        yield {"name": f"ratio__{on_zero}__{top}_{bottom}", "numerator": top,
               "denominator": bottom, "on_zero": on_zero}  # fmt: skip


def _rolling() -> Iterator[Spec]:
    for agg, window, min_periods in product(("mean", "sum"), (1, 2, 4), (1, 2, 5)):
        name = f"rolling__{agg}__n__w{window}__m{min_periods}__by_g"
        yield {"name": name, "column": "n", "agg": agg, "window": window,
               "min_periods": min_periods, "by": ["g"]}  # fmt: skip
    for agg, window, by in product(("mean", "sum"), (1, 3), BYS):
        name = f"rolling__{agg}__x__w{window}__m2__{by_label(by)}"
        yield {"name": name, "column": "x", "agg": agg, "window": window, "min_periods": 2,
               "by": list(by)}  # fmt: skip
    yield {"name": "rolling__mean__x__w2__default__by_g_h__ship", "column": "x", "window": 2,
           "by": ["g", "h"], "order_by": "Ship Date", "tie_breaker": "key"}  # fmt: skip


BUILDERS = {
    "arithmetic": _arithmetic,
    "bucket": _bucket,
    "cumulative": _cumulative,
    "date_diff": _date_diff,
    "date_part": _date_part,
    "frequency": _frequency,
    "group_agg": _group_agg,
    "lag": _lag,
    "log": _log,
    "rank": _rank,
    "ratio": _ratio,
    "rolling": _rolling,
}


def type_cases(kind: str) -> list[Spec]:
    """The cases of feature type ``kind``: its builder here, else the cases the type declares
    itself (``Feature.conformance_cases``: a new type is one file)."""
    if kind in BUILDERS:
        return list(BUILDERS[kind]())
    return [dict(case) for case in FEATURE_TYPES[kind].conformance_cases]


def conformance_spec() -> list[Spec]:
    """Every case of every type, one spec (so each engine runs them in a few big queries)."""
    return [{**case, "type": kind} for kind in FEATURE_TYPES for case in type_cases(kind)]
