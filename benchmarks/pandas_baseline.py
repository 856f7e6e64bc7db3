"""The same features as config/features.yaml, written the straightforward pandas way.

This is the baseline a user would otherwise write; benchmarks compare the planned Polars engine
against it. Fitted features learn from training rows only, as in the engine.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import polars as pl

ORDER = ["Order Date", "Order ID"]


def to_pandas(frame: pl.DataFrame) -> pd.DataFrame:
    """Column by column through numpy (no pyarrow needed)."""
    return pd.DataFrame({name: frame.get_column(name).to_numpy() for name in frame.columns})


def _fit_join(frame: pd.DataFrame, train: pd.DataFrame, keys: list[str], column: str, agg: str):
    table = train.groupby(keys)[column].agg(agg).rename("__value")
    return frame[keys].join(table, on=keys)["__value"].to_numpy()


def _window(frame: pd.DataFrame, by: list[str], column: str, func) -> pd.Series:
    ordered = frame.sort_values(ORDER, kind="stable")
    grouped = ordered.groupby(by, sort=False)[column]
    return func(grouped).reindex(frame.index)


def pandas_features(frame: pd.DataFrame) -> pd.DataFrame:
    """Every feature of the shipped spec, computed with pandas."""
    out = frame.copy()
    train = out[out["split"] == "train"]
    out["avg_units_by_country"] = _fit_join(out, train, ["Country"], "Units Sold", "mean")
    out["total_profit_by_item"] = _fit_join(out, train, ["Item Type"], "Total Profit", "sum")
    out["total_revenue_by_country_item"] = _fit_join(
        out, train, ["Country", "Item Type"], "Total Revenue", "sum"
    )
    revenue = out["Total Revenue"].replace(0, np.nan)
    out["profit_margin"] = out["Total Profit"] / revenue
    shares = train["Country"].value_counts(normalize=True)
    out["country_share"] = out["Country"].map(shares).fillna(0.0)
    edges = train["Units Sold"].quantile([0.25, 0.5, 0.75]).to_numpy()
    out["units_quartile"] = np.searchsorted(edges, out["Units Sold"].to_numpy(), side="right")
    out["unit_margin"] = out["Unit Price"] - out["Unit Cost"]
    dates = pd.to_datetime(out["Order Date"])
    out["order_year"] = dates.dt.year
    out["order_month"] = dates.dt.month
    out["order_weekday"] = dates.dt.weekday + 1
    out["days_to_ship"] = (pd.to_datetime(out["Ship Date"]) - dates).dt.days
    out["log_units"] = np.log1p(out["Units Sold"])
    out["units_band"] = np.searchsorted([1000, 2500, 5000, 7500], out["Units Sold"], side="right")
    out["units_pct_rank_in_country"] = out.groupby("Country")["Units Sold"].rank(pct=True)
    out["prev_units_country_item"] = _window(
        out, ["Country", "Item Type"], "Units Sold", lambda g: g.shift(1)
    )
    out["rolling_units_country"] = _window(
        out,
        ["Country"],
        "Units Sold",
        lambda g: g.transform(lambda s: s.shift(1).rolling(5, min_periods=1).mean()),
    )
    out["prior_orders_country"] = _window(out, ["Country"], "Units Sold", lambda g: g.cumcount())
    train = out[out["split"] == "train"]
    out["item_margin_per_unit"] = _fit_join(out, train, ["Item Type"], "unit_margin", "median")
    out["expected_profit"] = out["Units Sold"] * out["item_margin_per_unit"]
    return out
