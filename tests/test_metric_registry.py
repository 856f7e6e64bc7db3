"""One metric registry: every metric has a formula for every evaluation path an engine uses, and
every list of metric names (params, CV, report, compare, metrics files) reads from it."""

from __future__ import annotations

import math

import numpy as np
import pytest

from features_pipeline.compare.comparison import lower_is_better
from features_pipeline.engines.registry import capabilities, engine_names
from features_pipeline.model import metric_registry
from features_pipeline.model.cluster import batch_partials, combine_partials
from features_pipeline.model.cv import SCORES
from features_pipeline.model.metric_registry import (
    DISTRIBUTED,
    IN_MEMORY,
    METRICS,
    Metric,
    Sums,
    metric_names,
    missing_formulas,
)
from features_pipeline.model.metrics import regression_metrics
from features_pipeline.model.params import AutoParams, EvaluateParams
from features_pipeline.report.content import CV_LABELS, METRIC_LABELS


def evaluation_path(engine: str) -> str:
    """How stages/evaluate.py scores on ``engine``: where its tables live."""
    return DISTRIBUTED if capabilities(engine).warehouse_tables else IN_MEMORY


ENGINE_PATHS = sorted({evaluation_path(engine) for engine in engine_names()})


@pytest.mark.parametrize("engine", engine_names())
def test_every_metric_has_a_formula_for_every_engine(engine: str) -> None:
    assert missing_formulas([evaluation_path(engine)]) == []


def test_both_paths_are_used() -> None:
    assert ENGINE_PATHS == [DISTRIBUTED, IN_MEMORY]


def test_names_are_unique_and_directions_declared() -> None:
    names = metric_names()
    assert len(set(names)) == len(names)
    assert {metric.direction for metric in METRICS} <= {"lower", "higher"}


def test_every_list_reads_the_registry() -> None:
    names = metric_names()
    record = regression_metrics([1.0, 2.0, 4.0], [1.5, 2.0, 3.0])
    assert list(record) == [*names, "mape_rows", "rows"]
    assert metric_names(lambda metric: metric.cv) == SCORES
    assert set(METRIC_LABELS) == {*names, "mape_rows", "rows"}
    assert set(CV_LABELS) == {"folds"} | {f"{n}_{s}" for n in SCORES for s in ("mean", "std")}
    for metric in METRICS:
        assert lower_is_better(metric.name) is (metric.direction == "lower"), metric.name
    gates = {name: {"max": 1.0} for name in metric_names(lambda metric: metric.gate)}
    assert list(EvaluateParams.model_validate({"gates": gates}).gates) == list(gates)
    for name in SCORES:
        assert AutoParams.model_validate({"metric": name}).metric == name


def test_the_distributed_path_gives_the_in_memory_values() -> None:
    rng = np.random.default_rng(7)
    actual = rng.normal(100.0, 30.0, 500)
    predicted = actual + rng.normal(0.0, 5.0, 500)
    in_memory = regression_metrics(actual, predicted)
    partials = batch_partials(actual[:200], predicted[:200]) + batch_partials(
        actual[200:], predicted[200:]
    )
    distributed = combine_partials(partials)
    assert distributed.keys() == in_memory.keys()
    for name in metric_names():
        assert math.isclose(distributed[name] or 0.0, in_memory[name] or 0.0, rel_tol=1e-5)


# ---- a new metric is one entry: the worked example of CONTRIBUTING.md ------------------------


def median_absolute_error(sums: Sums) -> float | None:
    """Needs every row's error: only the in-memory path has them (a median is not a sum)."""
    return None if sums.errors is None else float(np.median(np.abs(sums.errors)))


MEDIAN_AE = Metric(
    "median_ae", "Median AE", "lower", {IN_MEMORY: median_absolute_error}, detail="robust"
)


@pytest.fixture
def with_median_ae(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(metric_registry, "METRICS", (*METRICS, MEDIAN_AE))
    import features_pipeline.model.metrics as metrics_module

    monkeypatch.setattr(metrics_module, "METRICS", (*METRICS, MEDIAN_AE))


@pytest.mark.usefixtures("with_median_ae")
def test_a_new_metric_is_one_registry_entry() -> None:
    record = regression_metrics([1.0, 2.0, 4.0, 8.0], [1.5, 2.0, 3.0, 8.0])
    assert record["median_ae"] == 0.25
    gates = EvaluateParams.model_validate({"gates": {"median_ae": {"max": 1.0}}}).gates
    assert list(gates) == ["median_ae"]
    # ... and the registry test names the engine path it lacks, before anyone runs on Spark
    assert missing_formulas(ENGINE_PATHS, metric_registry.METRICS) == ["median_ae: distributed"]
