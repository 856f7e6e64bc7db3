"""Linear-family fits at scale, side by side with a bare ``LinearRegression``.

On the default inputs of ``BENCH_MODEL_ROWS`` synthetic orders (default 5M: 4M train rows),
each linear-family model of the registry is fitted the way the train stage fits it (the Polars
frame -> ``FrameEncoder`` -> estimator, one BLAS thread as ``train.threads: 1``) and, round by
round in the same process, a bare scikit-learn ``LinearRegression()`` is fitted on the same
numeric matrix (that model's encoder output, built beforehand: the baseline pays no encoding).
Reported: median CPU and wall seconds of each, and their ratios (CPU first: the machine is
shared), with the 1-minute load average. No absolute time is asserted.

    pytest benchmarks/test_model_linear_bench.py --benchmark-only -s
    BENCH_MODEL_ROWS=1000000 pytest benchmarks/test_model_linear_bench.py --benchmark-only -s
"""

from __future__ import annotations

import os
import statistics
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl
import pytest
from conftest import REPO, SALES, sales_with_split
from results import EXTRA, load_average
from sklearn.base import clone
from sklearn.linear_model import LinearRegression
from threadpoolctl import threadpool_limits

from features_pipeline.contracts.params import ParamsFile, load_yaml
from features_pipeline.contracts.split import SPLIT, TRAIN
from features_pipeline.features.engine import fit_transform
from features_pipeline.features.plan import Plan
from features_pipeline.model.metrics import regression_metrics
from features_pipeline.model.params import TrainParams
from features_pipeline.model.pipeline import build_pipeline
from features_pipeline.model.registry import REGISTRY, build_estimator
from features_pipeline.model.train import prepare

ROWS = int(os.environ.get("BENCH_MODEL_ROWS", "5000000"))
ROUNDS = 3
LINEAR_FAMILY = ("linear", "ridge", "lasso", "elastic_net")


@pytest.fixture(scope="module")
def train_rows(shipped_plan: Plan) -> tuple[pl.DataFrame, np.ndarray, Any, TrainParams]:
    """The default model inputs and target of the train rows, and the prepared setup."""
    params = ParamsFile(Path("params.yaml"), load_yaml(REPO / "params.yaml")).section(
        "train", TrainParams
    )
    params = params.model_copy(update={"model": params.model.model_copy(update={"name": "auto"})})
    table, _ = fit_transform(sales_with_split(ROWS), shipped_plan)
    setup = prepare(table.schema, params, shipped_plan.to_plan_file(), SALES)
    rows = table.filter(pl.col(SPLIT) == TRAIN)
    features = rows.select(setup.inputs.features)
    target = rows.get_column(setup.inputs.target).cast(pl.Float64).to_numpy()
    return features, target, setup, params


def timed(run: Callable[[], Any]) -> tuple[float, float, Any]:
    """CPU seconds (this process, every thread), wall seconds, result."""
    cpu, wall = time.process_time(), time.perf_counter()
    result = run()
    return time.process_time() - cpu, time.perf_counter() - wall, result


@pytest.mark.parametrize("name", LINEAR_FAMILY)
def test_linear_family_fit_vs_bare_linear_regression(
    benchmark: Any, name: str, train_rows: tuple[pl.DataFrame, np.ndarray, Any, TrainParams]
) -> None:
    features, target, setup, params = train_rows
    spec = REGISTRY[name]
    estimator = build_estimator(spec, params.model.params.get(name, {}), params.seed)
    pipeline = build_pipeline(setup.roles, spec, estimator)
    before = load_average()
    ours: list[tuple[float, float]] = []
    bare: list[tuple[float, float]] = []
    with threadpool_limits(1):
        matrix = clone(pipeline[0]).fit_transform(features)
        for _ in range(ROUNDS):  # interleaved: bare, ours, bare, ours, ...
            cpu, wall, baseline = timed(lambda: LinearRegression().fit(matrix, target))
            bare.append((cpu, wall))
            cpu, wall, fitted = timed(lambda: clone(pipeline).fit(features, target))
            ours.append((cpu, wall))
        fitted = benchmark.pedantic(lambda: clone(pipeline).fit(features, target), rounds=1)
    load = max(before, load_average())
    ours_cpu, ours_wall = (statistics.median(t[i] for t in ours) for i in (0, 1))
    bare_cpu, bare_wall = (statistics.median(t[i] for t in bare) for i in (0, 1))
    label = f"model {features.height / 1e6:.1f}M train rows, {name}"
    EXTRA[f"{label}: fit CPU s (ours)"] = ours_cpu
    EXTRA[f"{label}: fit CPU s (bare LinearRegression, {matrix.shape[1]} columns)"] = bare_cpu
    EXTRA[f"{label}: ours/bare CPU x100"] = 100 * ours_cpu / bare_cpu
    EXTRA[f"{label}: ours/bare wall x100"] = 100 * ours_wall / bare_wall
    EXTRA[f"{label}: load average 1 min"] = load
    benchmark.extra_info.update(
        rows=features.height,
        columns=int(matrix.shape[1]),
        ours_cpu_s=round(ours_cpu, 3),
        ours_wall_s=round(ours_wall, 3),
        bare_cpu_s=round(bare_cpu, 3),
        bare_wall_s=round(bare_wall, 3),
        load_average=load,
    )
    print(
        f"\n{label}: ours {ours_cpu:.2f} CPU-s / {ours_wall:.2f} s, bare LinearRegression on "
        f"the same {matrix.shape} matrix {bare_cpu:.2f} CPU-s / {bare_wall:.2f} s, "
        f"ratio CPU {ours_cpu / bare_cpu:.2f}, wall {ours_wall / bare_wall:.2f} [load {load}]"
    )
    predicted = fitted.predict(features.head(100_000))
    assert regression_metrics(target[:100_000], predicted)["r2"] > 0.99
    if name == "linear":  # the same least squares on the same matrix
        np.testing.assert_allclose(
            predicted, baseline.predict(matrix[:100_000]), rtol=1e-6, atol=1e-3
        )
