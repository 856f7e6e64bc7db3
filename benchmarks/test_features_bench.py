"""Feature engine: planned (parallel levels) vs sequential vs a pandas implementation.

The whole shipped spec on 10k and 1M rows, then one shipped feature of each of the 12 types on
1M rows (with the features it needs), planned engine against the same feature in pandas.
"""

from __future__ import annotations

import numpy as np
import polars as pl
import pytest
from conftest import size_label
from pandas_baseline import DEPENDENCIES, pandas_feature, pandas_features, to_pandas
from results import remember

from features_pipeline.features.engine import fit_transform
from features_pipeline.features.plan import Plan, build_plan

# the first feature of each type in config/features.yaml
ONE_PER_TYPE: dict[str, str] = {
    "group_agg": "avg_units_by_country",
    "ratio": "profit_margin",
    "frequency": "country_share",
    "bucket": "units_quartile",
    "arithmetic": "unit_margin",
    "date_part": "order_year",
    "date_diff": "days_to_ship",
    "log": "log_units",
    "rank": "units_pct_rank_in_country",
    "lag": "prev_units_country_item",
    "rolling": "rolling_units_country",
    "cumulative": "prior_orders_country",
}
PER_TYPE_ROUNDS = 3


def rounds(frame: pl.DataFrame) -> int:
    return 10 if frame.height < 100_000 else 3


def same_values(planned: pl.DataFrame, pandas_result, names: list[str]) -> None:
    """The baseline computes the same features with the same values: a fair comparison."""
    for name in names:
        expected = planned.get_column(name).cast(pl.Float64).to_numpy()
        actual = pandas_result[name].astype(float).to_numpy()
        np.testing.assert_allclose(actual, expected, rtol=1e-9, equal_nan=True, err_msg=name)


def test_planned(benchmark, sales: pl.DataFrame, shipped_plan: Plan) -> None:
    label = size_label(sales.height)
    benchmark.group = f"features {label}"
    result, _ = benchmark.pedantic(
        fit_transform, args=(sales, shipped_plan), rounds=rounds(sales), warmup_rounds=1
    )
    assert result.height == sales.height
    remember(f"features/planned/{label}", benchmark)


def test_sequential(benchmark, sales: pl.DataFrame, shipped_plan: Plan) -> None:
    label = size_label(sales.height)
    benchmark.group = f"features {label}"
    result, _ = benchmark.pedantic(
        fit_transform,
        args=(sales, shipped_plan, "sequential"),
        rounds=rounds(sales),
        warmup_rounds=1,
    )
    assert result.height == sales.height
    remember(f"features/sequential/{label}", benchmark)


def test_pandas_baseline(benchmark, sales: pl.DataFrame, shipped_plan: Plan) -> None:
    label = size_label(sales.height)
    benchmark.group = f"features {label}"
    frame = to_pandas(sales)
    result = benchmark.pedantic(
        pandas_features, args=(frame,), rounds=rounds(sales), warmup_rounds=1
    )
    remember(f"features/pandas/{label}", benchmark)
    planned, _ = fit_transform(sales, shipped_plan)
    same_values(planned, result, shipped_plan.names)


def sub_plan(plan: Plan, name: str) -> Plan:
    """``name`` and the features it reads, planned alone."""
    wanted = {name, *DEPENDENCIES.get(name, ())}
    features = [p.feature for p in plan.features if p.name in wanted]
    return build_plan(features, plan.input_schema, plan.target)


@pytest.fixture(scope="module")
def sales_1m_pandas(sales_1m: pl.DataFrame):
    return to_pandas(sales_1m)


@pytest.mark.parametrize("feature_type", list(ONE_PER_TYPE))
def test_type_planned(
    benchmark, feature_type: str, sales_1m: pl.DataFrame, shipped_plan: Plan
) -> None:
    name = ONE_PER_TYPE[feature_type]
    benchmark.group = f"feature type {feature_type} 1M ({name})"
    plan = sub_plan(shipped_plan, name)
    result, _ = benchmark.pedantic(
        fit_transform, args=(sales_1m, plan), rounds=PER_TYPE_ROUNDS, warmup_rounds=1
    )
    assert name in result.columns
    remember(f"feature_type/planned/{feature_type}", benchmark)


@pytest.mark.parametrize("feature_type", list(ONE_PER_TYPE))
def test_type_pandas(
    benchmark, feature_type: str, sales_1m: pl.DataFrame, sales_1m_pandas, shipped_plan: Plan
) -> None:
    name = ONE_PER_TYPE[feature_type]
    benchmark.group = f"feature type {feature_type} 1M ({name})"
    result = benchmark.pedantic(
        pandas_feature, args=(sales_1m_pandas, name), rounds=PER_TYPE_ROUNDS, warmup_rounds=1
    )
    remember(f"feature_type/pandas/{feature_type}", benchmark)
    planned, _ = fit_transform(sales_1m, sub_plan(shipped_plan, name))
    same_values(planned, result, [name])
