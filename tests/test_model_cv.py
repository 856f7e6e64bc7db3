"""Seeded K-fold cross-validation: deterministic, covering every training row once."""

from __future__ import annotations

import polars as pl
import pytest
import sales_columns as c
from model_support import DEFAULT_FEATURES, feature_table, plan, train_params
from sales_columns import SALES

from features_pipeline.contracts.split import SPLIT
from features_pipeline.engines.polars import PolarsExecutor
from features_pipeline.model.card import build_card
from features_pipeline.model.metric_registry import metric_names
from features_pipeline.model.sampling import train_rows
from features_pipeline.model.train import TrainResult, train_metrics, train_model


@pytest.fixture(scope="module")
def table() -> pl.DataFrame:
    return feature_table(400, seed=9)


@pytest.mark.parametrize("name", ["ridge", "random_forest", "hist_gradient_boosting"])
def test_same_seed_gives_identical_cv_scores(name: str, table: pl.DataFrame) -> None:
    params = train_params(name)
    first = train_model(table, params, plan(), dataset=SALES)
    second = train_model(table, params, plan(), dataset=SALES)
    assert first.cv.folds == second.cv.folds
    assert train_metrics(first) == train_metrics(second)


def test_another_seed_gives_other_folds(table: pl.DataFrame) -> None:
    params = train_params("ridge")
    first = train_model(table, params, plan(), dataset=SALES)
    other = train_model(table, train_params("ridge", seed=2), plan(), dataset=SALES)
    assert first.cv.folds != other.cv.folds


def test_folds_partition_the_training_rows(table: pl.DataFrame) -> None:
    result = train_model(table, train_params("ridge", cv_folds=4), plan(), dataset=SALES)
    train_rows = table.filter(pl.col(SPLIT) == "train").height
    folds = result.cv.fold_table()
    assert folds.height == 4
    assert folds.get_column("rows").sum() == train_rows == result.rows
    assert folds.get_column("fold").to_list() == [1, 2, 3, 4]


def test_train_metrics_hold_cv_mean_and_std_and_rows(table: pl.DataFrame) -> None:
    result = train_model(table, train_params("ridge"), plan(), dataset=SALES)
    metrics = train_metrics(result)
    assert metrics.rows == result.rows
    assert metrics.features == len(DEFAULT_FEATURES)
    cv = metrics.cv
    assert cv["folds"] == 3
    for score in metric_names(lambda metric: metric.cv):
        assert cv[f"{score}_std"] >= 0
    folds = result.cv.fold_table()
    assert cv["rmse_mean"] == pytest.approx(folds.get_column("rmse").mean(), rel=1e-5)
    assert "fit_seconds" not in metrics.to_json()  # wall-clock time is kept out of DVC-hashed files


def test_test_rows_never_reach_training(table: pl.DataFrame) -> None:
    """Changing every test row's target leaves the fitted model and CV scores unchanged."""
    params = train_params("ridge")
    base = train_model(table, params, plan(), dataset=SALES)
    shifted = table.with_columns(
        pl.when(pl.col(SPLIT) == "test")
        .then(pl.col(c.TOTAL_PROFIT) * 10)
        .otherwise(pl.col(c.TOTAL_PROFIT))
        .alias(c.TOTAL_PROFIT)
    )
    other = train_model(shifted, params, plan(), dataset=SALES)
    assert base.cv.folds == other.cv.folds
    rows = table.head(20).select(DEFAULT_FEATURES)
    assert (base.model.predict(rows) == other.model.predict(rows)).all()


def test_max_rows_fits_on_a_seeded_sample_the_card_records() -> None:
    """train.max_rows: the final fit (and CV) use a seeded sample of the train rows; the same
    params give the same sample, and the card says how many rows it came from."""
    table = feature_table(600)
    full = train_model(table, train_params("ridge"), plan(), dataset=SALES)
    local = PolarsExecutor()

    def fit_sample() -> TrainResult:
        rows, sampled_from = train_rows(
            local.from_polars(table), 200, 42, SALES.row_key, local.to_polars
        )
        params = train_params("ridge", max_rows=200)
        return train_model(rows, params, plan(), dataset=SALES, sampled_from=sampled_from)

    sampled, again = fit_sample(), fit_sample()
    assert (sampled.rows, sampled.sampled_from) == (200, full.rows)
    assert full.sampled_from is None
    assert sampled.training_frame.equals(again.training_frame)
    assert not sampled.training_frame.equals(full.training_frame.head(200))  # spread, not a head
    card = build_card(
        result=sampled, schema=table.schema, plan=plan(), training_sha256="ab" * 32, seed=42,
        cv=train_metrics(sampled).cv, model_sha256="cd" * 32,
    )  # fmt: skip
    assert card.to_json()["training"] == {
        "rows": 200, "data_sha256": "ab" * 32, "seed": 42, "sampled_from": full.rows,
    }  # fmt: skip
    plain = build_card(
        result=full, schema=table.schema, plan=plan(), training_sha256="ab" * 32, seed=42,
        cv=train_metrics(full).cv, model_sha256="cd" * 32,
    )  # fmt: skip
    assert "sampled_from" not in plain.to_json()["training"]
