"""The same work as the package, written the straightforward pandas way: the benchmarks' baseline.

Features: every feature of config/features.yaml, one function each (fitted features learn from
training rows only, as in the engine). Ingest: ``pandas.read_csv`` with the same typing as the
CSV reader (dtypes, M/D/YYYY dates, stripped text, no empty cells).
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd
import polars as pl

from features_pipeline.ingest import synthetic as c

ORDER = ["Order Date", "Order ID"]
TRAIN = "train"


def to_pandas(frame: pl.DataFrame) -> pd.DataFrame:
    """Column by column through numpy; text columns get pandas' default ``str`` dtype, which
    pandas 3 backs with pyarrow (the faster pandas: ``string_storage`` checks it)."""
    return pd.DataFrame({name: frame.get_column(name).to_numpy() for name in frame.columns})


def string_storage(frame: pd.DataFrame) -> set[str]:
    """How the text columns of ``frame`` are stored: {"pyarrow"} for pandas 3's default."""
    return {
        str(getattr(dtype, "storage", "object"))
        for dtype in frame.dtypes
        if not pd.api.types.is_numeric_dtype(dtype)
        and not pd.api.types.is_datetime64_any_dtype(dtype)
    }


def train_rows(frame: pd.DataFrame) -> pd.DataFrame:
    return frame[frame["split"] == TRAIN]


# --- ingest ---------------------------------------------------------------------------------

_PANDAS_DTYPES = {pl.Int64: "int64", pl.Float64: "float64", pl.String: "string"}


def pandas_read_sales_csv(path: Path) -> pd.DataFrame:
    """The typed raw table with pandas: C parser dtypes, dates parsed with the files' format,
    text stripped, every cell required (the reader's contract: an empty cell is an error)."""
    dates = [name for name, dtype in c.SALES_SCHEMA.items() if dtype == pl.Date]
    frame = pd.read_csv(
        path,
        dtype={
            name: _PANDAS_DTYPES[dtype]
            for name, dtype in c.SALES_SCHEMA.items()
            if dtype != pl.Date
        },
        parse_dates=dates,
        date_format="%m/%d/%Y",
    )
    for name, dtype in c.SALES_SCHEMA.items():
        if dtype == pl.String:
            frame[name] = frame[name].str.strip()
    if frame.isna().to_numpy().any():
        raise ValueError(f"{path}: empty or unparsable cells")
    return frame


# --- features -------------------------------------------------------------------------------

Series = pd.Series | np.ndarray
FeatureFunction = Callable[[pd.DataFrame, pd.DataFrame], Series]


def _fit_join(frame: pd.DataFrame, train: pd.DataFrame, keys: list[str], column: str, agg: str):
    table = train.groupby(keys)[column].agg(agg).rename("__value")
    return frame[keys].join(table, on=keys)["__value"].to_numpy()


def _window(frame: pd.DataFrame, by: list[str], column: str, func) -> pd.Series:
    ordered = frame.sort_values(ORDER, kind="stable")
    grouped = ordered.groupby(by, sort=False)[column]
    return func(grouped).reindex(frame.index)


def _quartile(frame: pd.DataFrame, train: pd.DataFrame) -> np.ndarray:
    edges = train["Units Sold"].quantile([0.25, 0.5, 0.75]).to_numpy()
    return np.searchsorted(edges, frame["Units Sold"].to_numpy(), side="right")


def _rolling(frame: pd.DataFrame, train: pd.DataFrame) -> pd.Series:
    return _window(
        frame,
        ["Country"],
        "Units Sold",
        lambda g: g.transform(lambda s: s.shift(1).rolling(5, min_periods=1).mean()),
    )


FEATURES: dict[str, FeatureFunction] = {
    "avg_units_by_country": lambda f, t: _fit_join(f, t, ["Country"], "Units Sold", "mean"),
    "total_profit_by_item": lambda f, t: _fit_join(f, t, ["Item Type"], "Total Profit", "sum"),
    "total_revenue_by_country_item": lambda f, t: _fit_join(
        f, t, ["Country", "Item Type"], "Total Revenue", "sum"
    ),
    "profit_margin": lambda f, t: f["Total Profit"] / f["Total Revenue"].replace(0, np.nan),
    "country_share": lambda f, t: (
        f["Country"].map(t["Country"].value_counts(normalize=True)).fillna(0.0)
    ),
    "units_quartile": _quartile,
    "unit_margin": lambda f, t: f["Unit Price"] - f["Unit Cost"],
    "order_year": lambda f, t: pd.to_datetime(f["Order Date"]).dt.year,
    "order_month": lambda f, t: pd.to_datetime(f["Order Date"]).dt.month,
    "order_weekday": lambda f, t: pd.to_datetime(f["Order Date"]).dt.day_of_week + 1,
    "days_to_ship": lambda f, t: (
        (pd.to_datetime(f["Ship Date"]) - pd.to_datetime(f["Order Date"])).dt.days
    ),
    "log_units": lambda f, t: np.log1p(f["Units Sold"]),
    "units_band": lambda f, t: np.searchsorted(
        [1000, 2500, 5000, 7500], f["Units Sold"], side="right"
    ),
    "units_pct_rank_in_country": lambda f, t: f.groupby("Country")["Units Sold"].rank(pct=True),
    "prev_units_country_item": lambda f, t: _window(
        f, ["Country", "Item Type"], "Units Sold", lambda g: g.shift(1)
    ),
    "rolling_units_country": _rolling,
    "prior_orders_country": lambda f, t: _window(
        f, ["Country"], "Units Sold", lambda g: g.cumcount()
    ),
    # needs unit_margin (a feature) in the training rows
    "item_margin_per_unit": lambda f, t: _fit_join(f, t, ["Item Type"], "unit_margin", "median"),
    "expected_profit": lambda f, t: f["Units Sold"] * f["item_margin_per_unit"],
}
FITTED = frozenset(  # learn from the training rows
    {
        "avg_units_by_country",
        "total_profit_by_item",
        "total_revenue_by_country_item",
        "country_share",
        "units_quartile",
        "item_margin_per_unit",
    }
)
DEPENDENCIES: dict[str, tuple[str, ...]] = {
    "item_margin_per_unit": ("unit_margin",),
    "expected_profit": ("unit_margin", "item_margin_per_unit"),
}


def pandas_feature(frame: pd.DataFrame, name: str) -> pd.DataFrame:
    """One feature (and the features it needs) added to a copy of ``frame``."""
    out = frame.copy(deep=False)  # copy-on-write: new columns never touch ``frame``
    for needed in (*DEPENDENCIES.get(name, ()), name):
        train = train_rows(out) if needed in FITTED else out  # rows unused by row-wise features
        out[needed] = FEATURES[needed](out, train)
    return out


def pandas_features(frame: pd.DataFrame) -> pd.DataFrame:
    """Every feature of the shipped spec, computed with pandas."""
    out = frame.copy(deep=False)
    train = train_rows(out)
    for name, function in FEATURES.items():
        if name == "item_margin_per_unit":  # the training rows now carry unit_margin
            train = train_rows(out)
        out[name] = function(out, train)
    return out
