"""The shipped feature spec written by hand as one Polars lazy query: the engine's yardstick.

What a Polars user would write for ``config/features.yaml`` without the engine: learned tables
from the train rows (rounded to 12 significant digits, as the engine rounds them, so the output
is identical), joined back; row-wise and window features as plain expressions. It computes the
same table as ``fit_transform`` (checked with ``assert_frame_equal`` by the benchmarks), but
knows nothing of plans, engines, domains or fitted state.
"""

from __future__ import annotations

import polars as pl

DIGITS = 12
ORDER = ["Order Date", "Order ID"]


def _rounded(expression: pl.Expr) -> pl.Expr:
    return expression.round_sig_figs(DIGITS)


def _windowed(expression: pl.Expr, by: list[str]) -> pl.Expr:
    return expression.over(by, order_by=ORDER)


def handwritten_query(frame: pl.DataFrame) -> pl.LazyFrame:
    """The features of the shipped spec on ``frame`` (the interim table), as a lazy query."""
    lazy = frame.lazy()
    units = pl.col("Units Sold")
    train = lazy.filter(pl.col("split") == "train")
    by_country = train.group_by("Country").agg(
        _rounded(units.mean()).alias("avg_units_by_country"),
        pl.len().alias("__count"),
    )
    by_country = by_country.select(
        "Country",
        "avg_units_by_country",
        _rounded(pl.col("__count") / pl.col("__count").sum()).alias("country_share"),
    )
    by_item = train.group_by("Item Type").agg(
        _rounded(pl.col("Total Profit").sum()).alias("total_profit_by_item"),
        _rounded((pl.col("Unit Price") - pl.col("Unit Cost")).median()).alias(
            "item_margin_per_unit"
        ),
    )
    by_country_item = train.group_by("Country", "Item Type").agg(
        _rounded(pl.col("Total Revenue").sum()).alias("total_revenue_by_country_item")
    )
    edges = train.select(
        _rounded(units.quantile(q, interpolation="linear")).alias(f"__edge_{i}")
        for i, q in enumerate((0.25, 0.5, 0.75))
    )
    revenue = pl.col("Total Revenue")
    margin = pl.col("Unit Price") - pl.col("Unit Cost")
    order_date = pl.col("Order Date")
    features = (
        lazy.join(by_country, on="Country", how="left", maintain_order="left")
        .join(by_item, on="Item Type", how="left", maintain_order="left")
        .join(by_country_item, on=["Country", "Item Type"], how="left", maintain_order="left")
        .join(edges, how="cross", maintain_order="left")
        .with_columns(
            pl.when(revenue == 0)
            .then(None)
            .otherwise(pl.col("Total Profit") / revenue)
            .alias("profit_margin"),
            pl.col("country_share").fill_null(0.0),
            pl.sum_horizontal(units >= pl.col(f"__edge_{i}") for i in range(3))
            .cast(pl.Int64)
            .alias("units_quartile"),
            margin.alias("unit_margin"),
            order_date.dt.year().cast(pl.Int64).alias("order_year"),
            order_date.dt.month().cast(pl.Int64).alias("order_month"),
            order_date.dt.weekday().cast(pl.Int64).alias("order_weekday"),
            (pl.col("Ship Date") - order_date).dt.total_days().alias("days_to_ship"),
            (units.cast(pl.Float64) + 1).log().alias("log_units"),
            pl.sum_horizontal(units >= edge for edge in (1000, 2500, 5000, 7500))
            .cast(pl.Int64)
            .alias("units_band"),
            (units.rank("average") / units.count())
            .over("Country")
            .alias("units_pct_rank_in_country"),
            _windowed(units.shift(1), ["Country", "Item Type"]).alias("prev_units_country_item"),
            _windowed(
                units.cast(pl.Float64).shift(1).rolling_mean(5, min_samples=1), ["Country"]
            ).alias("rolling_units_country"),
            _windowed(pl.int_range(pl.len(), dtype=pl.Int64), ["Country"]).alias(
                "prior_orders_country"
            ),
            (units * pl.col("item_margin_per_unit")).alias("expected_profit"),
        )
    )
    inputs = [name for name in frame.columns if name != "split"]
    return features.select(
        *inputs,
        "avg_units_by_country",
        "total_profit_by_item",
        "total_revenue_by_country_item",
        "profit_margin",
        "country_share",
        "units_quartile",
        "unit_margin",
        "order_year",
        "order_month",
        "order_weekday",
        "days_to_ship",
        "log_units",
        "units_band",
        "units_pct_rank_in_country",
        "prev_units_country_item",
        "rolling_units_country",
        "prior_orders_country",
        "item_margin_per_unit",
        "expected_profit",
        "split",
    )


def handwritten(frame: pl.DataFrame) -> pl.DataFrame:
    """:func:`handwritten_query` collected (in-memory engine, as the features engine runs)."""
    return handwritten_query(frame).collect(engine="in-memory")
