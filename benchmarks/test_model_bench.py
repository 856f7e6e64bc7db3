"""Train and evaluate the default model of params.yaml on the features of 1M rows.

Train (cross-validation on ``train.cv_rows`` sampled rows, then the final fit on every train
row) runs once: it takes tens of seconds. Evaluate (every test row predicted, permutation
importance on ``evaluate.importance.rows``) runs three times.
"""

from __future__ import annotations

from pathlib import Path

import polars as pl
import pytest
from conftest import REPO
from results import remember

from features_pipeline.contracts.dataset import load_contract
from features_pipeline.contracts.params import ParamsFile, load_yaml
from features_pipeline.contracts.plan_file import PlanFile
from features_pipeline.contracts.split import TEST
from features_pipeline.features.engine import fit_transform
from features_pipeline.features.plan import Plan
from features_pipeline.model.evaluate import evaluate_model
from features_pipeline.model.params import EvaluateParams, TrainParams
from features_pipeline.model.threads import model_threads
from features_pipeline.model.train import TrainResult, split_rows, train_model

SALES = load_contract(REPO / "config" / "dataset.yaml")

PARAMS = REPO / "params.yaml"
_TRAINED: dict[str, TrainResult] = {}  # the benchmarked fit, reused by the evaluate benchmark


@pytest.fixture(scope="module")
def params() -> tuple[TrainParams, EvaluateParams]:
    raw = load_yaml(PARAMS)
    return (
        ParamsFile(Path(PARAMS), raw).section("train", TrainParams),
        ParamsFile(Path(PARAMS), raw).section("evaluate", EvaluateParams),
    )


@pytest.fixture(scope="module")
def features_1m(sales_1m: pl.DataFrame, shipped_plan: Plan) -> tuple[pl.DataFrame, PlanFile]:
    table, _ = fit_transform(sales_1m, shipped_plan)
    return table, shipped_plan.to_plan_file()


def train(table: pl.DataFrame, plan: PlanFile, params: TrainParams) -> TrainResult:
    with model_threads(params.threads):
        return train_model(table, params, plan, dataset=SALES)


def test_train_default_model(benchmark, features_1m, params) -> None:
    benchmark.group = "model 1M"
    table, plan = features_1m
    result = benchmark.pedantic(train, args=(table, plan, params[0]), rounds=1, iterations=1)
    _TRAINED["result"] = result
    assert result.rows == table.filter(pl.col("split") == "train").height
    assert result.cv.summary()["r2_mean"] > 0.99
    remember("train/1M", benchmark)
    benchmark.extra_info["fit_seconds"] = round(result.fit_seconds, 3)


def test_evaluate_default_model(benchmark, features_1m, params) -> None:
    benchmark.group = "model 1M"
    table, plan = features_1m
    train_params, evaluate_params = params
    result = _TRAINED.get("result") or train(table, plan, train_params)
    test = split_rows(table, TEST, "features")

    def evaluate():
        with model_threads(train_params.threads):
            return evaluate_model(
                result.model, test, train_params.features, SALES.target, evaluate_params
            )

    evaluation = benchmark.pedantic(evaluate, rounds=3, iterations=1, warmup_rounds=0)
    assert evaluation.metrics["rows"] == test.height
    assert evaluation.passed, evaluation.gates
    remember("evaluate/1M", benchmark)
