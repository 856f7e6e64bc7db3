"""Feature engine: planned (parallel levels) vs sequential vs a pandas implementation.

Run: pytest benchmarks/test_features_bench.py --benchmark-only --benchmark-group-by=param:sales
"""

from __future__ import annotations

import polars as pl
import pytest
from pandas_baseline import pandas_features, to_pandas

from features_pipeline.features.engine import fit_transform
from features_pipeline.features.plan import Plan


def test_planned(benchmark, sales: pl.DataFrame, shipped_plan: Plan) -> None:
    result, _ = benchmark.pedantic(
        fit_transform, args=(sales, shipped_plan), rounds=3, warmup_rounds=1
    )
    assert result.height == sales.height


def test_sequential(benchmark, sales: pl.DataFrame, shipped_plan: Plan) -> None:
    result, _ = benchmark.pedantic(
        fit_transform, args=(sales, shipped_plan, "sequential"), rounds=3, warmup_rounds=1
    )
    assert result.height == sales.height


def test_pandas_baseline(benchmark, sales: pl.DataFrame, shipped_plan: Plan) -> None:
    frame = to_pandas(sales)
    result = benchmark.pedantic(pandas_features, args=(frame,), rounds=3, warmup_rounds=1)
    planned, _ = fit_transform(sales, shipped_plan)
    # same features, same values: the baseline is a fair comparison
    for name in shipped_plan.names:
        expected = planned.get_column(name).cast(pl.Float64).to_numpy()
        assert result[name].astype(float).to_numpy() == pytest.approx(
            expected, nan_ok=True, rel=1e-9
        ), name
