"""Validation overhead: checking the feature table vs computing the features for the same rows.

Run: pytest benchmarks/test_validate_bench.py --benchmark-only
The validation test records ``features_s`` and ``ratio`` (validation / features, best of 3) in
its extra info and fails when validating costs as much as computing the features.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from typing import Any

import polars as pl
import pytest
from conftest import SALES, size_label
from results import RESULTS, remember

from features_pipeline.contracts.plan_file import ModelInputs, PlanFile, parse_plan_file
from features_pipeline.features.engine import fit_transform
from features_pipeline.features.plan import Plan
from features_pipeline.validation.params import ValidateParams
from features_pipeline.validation.validator import ValidationResult, validate_feature_table

ROUNDS = 3


def best_of(rounds: int, run: Callable[[], Any]) -> float:
    """The fastest of ``rounds`` timed calls (after one warm-up), in seconds."""
    run()
    timings = []
    for _ in range(rounds):
        start = time.perf_counter()
        run()
        timings.append(time.perf_counter() - start)
    return min(timings)


def validation_inputs(plan: Plan) -> tuple[PlanFile, ModelInputs]:
    """The plan as the validate stage reads it (through plan.json) and the default inputs."""
    parsed = parse_plan_file(json.loads(json.dumps(plan.to_plan_file().to_json())), "plan.json")
    return parsed, ModelInputs(parsed.target, parsed.safe_inputs)


def test_validation_vs_features(benchmark, sales: pl.DataFrame, shipped_plan: Plan) -> None:
    label = size_label(sales.height)
    benchmark.group = f"validate {label}"
    features_s = best_of(ROUNDS, lambda: fit_transform(sales, shipped_plan))
    table, _ = fit_transform(sales, shipped_plan)
    plan, inputs = validation_inputs(shipped_plan)
    params = ValidateParams()
    result: ValidationResult = benchmark.pedantic(
        validate_feature_table,
        args=(table, plan, inputs, params, SALES),
        rounds=ROUNDS,
        warmup_rounds=1,
    )
    assert result.passed, result.errors
    validation_s = remember(f"validate/{label}", benchmark) or benchmark.stats.stats.min
    RESULTS[f"validate/features/{label}"] = features_s
    ratio = validation_s / features_s
    benchmark.extra_info.update(features_s=round(features_s, 4), ratio=round(ratio, 3))
    print(
        f"\n{sales.height} rows: validation {validation_s:.3f} s, "
        f"features {features_s:.3f} s, ratio {ratio:.2f}"
    )
    if sales.height >= 1_000_000:  # small inputs are dominated by fixed per-check overhead
        assert ratio < 1, f"validation ({validation_s:.3f} s) >= features ({features_s:.3f} s)"


@pytest.mark.parametrize("failing_rows", [1, 10_000])
def test_validation_with_failures(benchmark, sales_1m: pl.DataFrame, failing_rows: int) -> None:
    """Collecting and reporting many failure cases stays cheap (lazy=True keeps them all)."""
    benchmark.group = "validate 1M: failure collection"
    table = sales_1m.with_columns(
        pl.when(pl.int_range(pl.len()) < failing_rows).then(-1).otherwise("Units Sold")
        .alias("Units Sold")
    )  # fmt: skip
    plan = PlanFile(target="Total Profit", features={})
    inputs = ModelInputs("Total Profit", ("Units Sold",))
    result = benchmark.pedantic(
        validate_feature_table,
        args=(table, plan, inputs, ValidateParams(), SALES),
        rounds=ROUNDS,
        warmup_rounds=1,
    )
    assert result.errors.filter(pl.col("check") == "Units Sold > 0").height == failing_rows
