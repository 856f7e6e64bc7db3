"""In-memory feature tables and plans for the model, evaluate, report and predict tests."""

from __future__ import annotations

from typing import Any

import polars as pl
import sales_columns as c
from sales_columns import SALES

from features_pipeline.contracts.plan_file import PlanFile, parse_plan_file
from features_pipeline.contracts.split import SPLIT
from features_pipeline.ingest.split import assign_split
from features_pipeline.ingest.synthetic import generate_sales
from features_pipeline.model.params import TrainParams

MARGIN = "unit_margin"  # row-wise, from inputs: allowed
UNITS_X_MARGIN = "units_x_margin"  # row-wise, from inputs: allowed
PROFIT_SHARE = "profit_share"  # row-wise from the target: refused
PROFIT_LAG = "profit_lag_1"  # window over the target: refused
ITEM_PROFIT_MEAN = "item_profit_mean"  # fitted on train rows (target encoding): allowed
ORDER_MONTH = "order_month"  # row-wise date part: allowed

DEFAULT_FEATURES: tuple[str, ...] = (
    c.REGION,
    c.ITEM_TYPE,
    c.SALES_CHANNEL,
    c.ORDER_PRIORITY,
    c.UNITS_SOLD,
    c.UNIT_PRICE,
    c.UNIT_COST,
    MARGIN,
    ORDER_MONTH,
)


def _entry(kind: str, kind_name: str, inputs: list[str], derived: bool, depends: bool) -> dict:
    return {
        "type": kind_name,
        "kind": kind,
        "dtype": "Float64",
        "inputs": inputs,
        "depends_on_target": depends,
        "target_derived": derived,
    }


PLAN_JSON: dict[str, Any] = {
    "target": c.TOTAL_PROFIT,
    "spec": "config/features.yaml",
    "levels": [[MARGIN, PROFIT_SHARE, PROFIT_LAG, ITEM_PROFIT_MEAN, ORDER_MONTH], [UNITS_X_MARGIN]],
    "features": {
        MARGIN: _entry("row-wise", "arithmetic", [c.UNIT_PRICE, c.UNIT_COST], False, False),
        UNITS_X_MARGIN: _entry("row-wise", "arithmetic", [c.UNITS_SOLD, MARGIN], False, False),
        PROFIT_SHARE: _entry(
            "row-wise", "ratio", [c.TOTAL_PROFIT, c.TOTAL_REVENUE], derived=True, depends=True
        ),
        PROFIT_LAG: _entry("window", "lag", [c.TOTAL_PROFIT], derived=True, depends=True),
        ITEM_PROFIT_MEAN: _entry(
            "fitted", "group_agg", [c.ITEM_TYPE, c.TOTAL_PROFIT], derived=False, depends=True
        ),
        ORDER_MONTH: {
            **_entry("row-wise", "date_part", [c.ORDER_DATE], False, False),
            "dtype": "Int8",
        },
    },
}


def plan() -> PlanFile:
    return parse_plan_file(PLAN_JSON, "plan.json")


def feature_table(rows: int = 600, seed: int = 5) -> pl.DataFrame:
    """Generated orders with a split and the engineered columns of PLAN_JSON."""
    frame = assign_split(generate_sales(rows, seed), "random", 0.25, 42, SALES)
    train_mean = (
        frame.filter(pl.col(SPLIT) == "train")
        .group_by(c.ITEM_TYPE)
        .agg(pl.col(c.TOTAL_PROFIT).mean().alias(ITEM_PROFIT_MEAN))
    )
    return (
        frame.with_columns(
            (pl.col(c.UNIT_PRICE) - pl.col(c.UNIT_COST)).alias(MARGIN),
            (pl.col(c.TOTAL_PROFIT) / pl.col(c.TOTAL_REVENUE)).alias(PROFIT_SHARE),
            pl.col(c.TOTAL_PROFIT).shift(1).over(order_by=c.ORDER_DATE).alias(PROFIT_LAG),
            pl.col(c.ORDER_DATE).dt.month().alias(ORDER_MONTH),
        )
        .with_columns((pl.col(c.UNITS_SOLD) * pl.col(MARGIN)).alias(UNITS_X_MARGIN))
        .join(train_mean, on=c.ITEM_TYPE, how="left", maintain_order="left")
    )


SMALL_MODELS: dict[str, dict[str, Any]] = {
    "hist_gradient_boosting": {"max_iter": 30},
    "random_forest": {"n_estimators": 5},
}


def train_params(name: str = "hist_gradient_boosting", **overrides: Any) -> TrainParams:
    """Small, fast train params for model ``name`` (few trees) with ``overrides`` on top."""
    values: dict[str, Any] = {
        "features": list(DEFAULT_FEATURES),
        "model": {"name": name, "params": SMALL_MODELS},
        "cv_folds": 3,
        "seed": 1,
    }
    values.update(overrides)
    return TrainParams.model_validate(values)
