"""``train.model.name: auto``: the choice, the budget, determinism, every CV score recorded."""

from __future__ import annotations

import itertools
import json
import re
import time
from typing import Any

import polars as pl
import pytest
from model_support import feature_table, plan, train_params
from sales_columns import SALES

from features_pipeline.contracts.card import parse_card
from features_pipeline.contracts.metrics_files import TrainMetrics
from features_pipeline.errors import UserError
from features_pipeline.model.artifacts import model_bytes
from features_pipeline.model.auto import (
    Candidate,
    ModelChoice,
    fit_seconds,
    plan_candidates,
)
from features_pipeline.model.card import build_card
from features_pipeline.model.registry import MODEL_NAMES, REGISTRY, build_estimator
from features_pipeline.model.train import TrainResult, train_metrics, train_model

LINEAR_FAMILY = ("linear", "ridge", "lasso", "elastic_net")


@pytest.fixture(scope="module")
def table() -> pl.DataFrame:
    return feature_table(500, seed=8)


def auto_params(**auto: Any) -> Any:
    return train_params("auto", auto={"budget_s": 100.0, **auto})


@pytest.fixture(scope="module")
def everything(table: pl.DataFrame) -> TrainResult:
    """auto over every registered model, a budget they all fit in."""
    return train_model(table, auto_params(), plan(), dataset=SALES)


def cv_means(result: TrainResult, metric: str) -> dict[str, float]:
    assert result.auto is not None
    return {
        name: float(cv.summary()[f"{metric}_mean"])  # type: ignore[arg-type]
        for name, cv in result.auto.cv.items()
    }


# -- the choice ---------------------------------------------------------------------------------


def test_every_model_is_cross_validated_and_the_lowest_rmse_is_fitted(
    everything: TrainResult,
) -> None:
    scores = cv_means(everything, "rmse")
    assert set(scores) == set(MODEL_NAMES)
    best = min(scores, key=scores.__getitem__)
    assert everything.setup.spec.name == best
    assert type(everything.model[-1]) is REGISTRY[best].estimator
    assert everything.cv.summary() == everything.auto.cv[best].summary()  # type: ignore[union-attr]


def test_r2_picks_the_highest(table: pl.DataFrame) -> None:
    result = train_model(
        table, auto_params(metric="r2", models=list(LINEAR_FAMILY)), plan(), dataset=SALES
    )
    scores = cv_means(result, "r2")
    assert set(scores) == set(LINEAR_FAMILY)
    assert result.setup.spec.name == max(scores, key=scores.__getitem__)


def test_an_exact_linear_target_chooses_a_linear_model() -> None:
    """Total Profit = Units Sold x unit_margin: the product as an input makes linear exact."""
    frame = feature_table(400, seed=2).with_columns(
        (pl.col("Units Sold") * pl.col("unit_margin")).alias("units_x_margin")
    )
    params = train_params(
        "auto", features=["Units Sold", "units_x_margin", "Region"], auto={"budget_s": 100}
    )
    result = train_model(frame, params, plan(), dataset=SALES)
    assert result.setup.spec.name == "linear"
    assert result.cv.summary()["r2_mean"] == 1.0


def test_ties_go_to_the_cheaper_candidate() -> None:
    """Two models with the same rounded CV score: the first tried (the cheaper) is chosen."""
    from features_pipeline.model.auto import choose
    from features_pipeline.model.cv import CvResult

    metrics = {"rmse": 1.0, "mae": 1.0, "r2": 0.5, "rows": 10}
    choices = [ModelChoice(REGISTRY[n], build_estimator(n, {}, 0)) for n in ("ridge", "lasso")]
    candidates = [Candidate(choice, 0.1, 0.1) for choice in choices]
    cv = {n: CvResult(folds=[metrics], fit_seconds=[0.0]) for n in ("ridge", "lasso")}
    assert choose(candidates, cv, "rmse").name == "ridge"
    assert choose(candidates[::-1], cv, "rmse").name == "lasso"


# -- the budget ---------------------------------------------------------------------------------


def choices(*names: str) -> list[ModelChoice]:
    return [ModelChoice(REGISTRY[name], build_estimator(name, {}, 0)) for name in names]


def test_candidates_run_cheapest_first_and_the_budget_skips_the_rest() -> None:
    models = choices(*MODEL_NAMES)
    widths = dict.fromkeys(MODEL_NAMES, 30)
    shape = {"cv_rows": 100_000, "train_rows": 1_000_000, "folds": 5, "widths": widths}
    planned = plan_candidates(models, budget_s=1e9, **shape)
    estimates = [candidate.estimated_seconds for candidate in planned]
    assert estimates == sorted(estimates)
    assert all(candidate.skipped is None for candidate in planned)
    assert planned[-1].name == "random_forest"  # the dearest at this size

    # a budget between the linear models and the trees: the trees are skipped
    linear_total = sum(c.cv_seconds for c in planned if c.name in LINEAR_FAMILY)
    budget = linear_total + max(c.fit_seconds for c in planned if c.name in LINEAR_FAMILY)
    limited = plan_candidates(models, budget_s=budget, **shape)
    tried = {c.name for c in limited if c.skipped is None}
    assert tried == set(LINEAR_FAMILY)
    assert {c.skipped for c in limited if c.name not in tried} == {"budget"}
    spent = 0.0
    for candidate in limited:  # each tried one fitted: CV so far + its CV and final fit
        if candidate.skipped is None:
            assert spent + candidate.estimated_seconds <= budget or candidate is limited[0]
            spent += candidate.cv_seconds


def test_the_cheapest_candidate_runs_whatever_the_budget(table: pl.DataFrame) -> None:
    result = train_model(table, auto_params(budget_s=1e-9), plan(), dataset=SALES)
    assert result.auto is not None
    tried = [c.name for c in result.auto.candidates if c.skipped is None]
    assert tried == [result.auto.candidates[0].name] == [result.setup.spec.name]
    assert set(result.auto.cv) == set(tried)


def test_estimates_grow_with_rows_columns_and_trees() -> None:
    forest = ModelChoice(
        REGISTRY["random_forest"], build_estimator("random_forest", {"n_estimators": 50}, 0)
    )
    more_trees = ModelChoice(
        REGISTRY["random_forest"], build_estimator("random_forest", {"n_estimators": 100}, 0)
    )
    assert fit_seconds(forest, 2000, 10) == pytest.approx(2 * fit_seconds(forest, 1000, 10))
    assert fit_seconds(forest, 1000, 20) == pytest.approx(2 * fit_seconds(forest, 1000, 10))
    assert fit_seconds(more_trees, 1000, 10) == pytest.approx(2 * fit_seconds(forest, 1000, 10))


# -- determinism --------------------------------------------------------------------------------


def test_same_data_and_params_give_the_same_choice_and_bytes_whatever_the_clock(
    table: pl.DataFrame, everything: TrainResult, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A clock that runs wildly (each reading 1000x the last gap) changes nothing but timings:
    the plan, the choice, train.json and the model file are the same."""
    ticks = itertools.count()
    real = time.perf_counter
    monkeypatch.setattr(time, "perf_counter", lambda: real() + 1000.0 ** min(next(ticks), 90))
    again = train_model(table, auto_params(), plan(), dataset=SALES)
    monkeypatch.undo()
    assert again.setup.spec.name == everything.setup.spec.name
    assert train_metrics(again) == train_metrics(everything)
    assert model_bytes(again.model) == model_bytes(everything.model)


# -- what is recorded ---------------------------------------------------------------------------


def test_train_json_records_every_candidate(everything: TrainResult) -> None:
    record = train_metrics(everything).to_json()
    json.dumps(record)  # plain JSON
    assert record["model"] == everything.setup.spec.name
    auto = record["auto"]
    assert auto["metric"] == "rmse"
    assert auto["chosen"] == record["model"]
    assert list(auto["candidates"]) == [c.name for c in everything.auto.candidates]  # type: ignore[union-attr]
    for name, entry in auto["candidates"].items():
        assert entry["cv"] == everything.auto.cv[name].summary()  # type: ignore[union-attr]
        assert entry["estimated_s"] > 0
        assert "skipped" not in entry
    assert auto["candidates"][record["model"]]["cv"] == record["cv"]
    assert TrainMetrics.model_validate(record).to_json() == record  # reads back the same


def test_skipped_candidates_are_recorded_without_scores(table: pl.DataFrame) -> None:
    result = train_model(table, auto_params(budget_s=1e-9), plan(), dataset=SALES)
    entries = train_metrics(result).to_json()["auto"]["candidates"]
    assert len(entries) == len(MODEL_NAMES)
    skipped = {name for name, entry in entries.items() if entry.get("skipped") == "budget"}
    assert skipped == set(MODEL_NAMES) - {result.setup.spec.name}
    assert all("cv" not in entries[name] for name in skipped)


def test_the_model_card_records_the_choice(everything: TrainResult, table: pl.DataFrame) -> None:
    card = build_card(
        result=everything,
        schema=table.schema,
        plan=plan(),
        training_sha256="0" * 64,
        seed=1,
        cv=everything.cv.summary(),
        model_sha256="0" * 64,
    )
    payload = card.to_json()
    assert payload["model"]["name"] == everything.setup.spec.name
    assert payload["auto"] == train_metrics(everything).to_json()["auto"]
    assert parse_card(json.loads(json.dumps(payload)), "model_card.json") == card


def test_a_single_model_records_no_auto_section(table: pl.DataFrame) -> None:
    result = train_model(table, train_params("ridge"), plan(), dataset=SALES)
    record = train_metrics(result).to_json()
    assert "auto" not in record
    assert record["model"] == "ridge"


# -- mistakes -----------------------------------------------------------------------------------


def test_an_unknown_candidate_is_one_line_with_a_suggestion(table: pl.DataFrame) -> None:
    with pytest.raises(UserError) as caught:
        train_model(table, auto_params(models=["ridge", "lasoo"]), plan(), dataset=SALES)
    message = str(caught.value)
    assert message.startswith("params.yaml: train.auto.models: unknown model 'lasoo'")
    assert "did you mean 'lasso'" in message
    assert "\n" not in message


def test_an_unknown_model_name_mentions_auto(table: pl.DataFrame) -> None:
    with pytest.raises(UserError, match=re.escape("or auto)")):
        train_model(table, train_params("autoo"), plan(), dataset=SALES)


def test_bad_hyperparameters_of_any_candidate_are_refused_before_fitting(
    table: pl.DataFrame,
) -> None:
    params = train_params("auto", model={"name": "auto", "params": {"ridge": {"alpah": 1}}})
    with pytest.raises(UserError, match=re.escape("train.model.params.ridge: unknown hyper")):
        train_model(table, params, plan(), dataset=SALES)
