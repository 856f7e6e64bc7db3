"""The model registry and the preprocessing pipeline: every model fits; bad names/params fail."""

from __future__ import annotations

import re

import numpy as np
import polars as pl
import pytest
import sales_columns as c
from model_support import DEFAULT_FEATURES, feature_table, plan, train_params
from sales_columns import SALES

from features_pipeline.contracts.split import SPLIT
from features_pipeline.errors import UserError
from features_pipeline.model.pipeline import build_pipeline, column_roles
from features_pipeline.model.registry import MODEL_NAMES, REGISTRY, build_estimator
from features_pipeline.model.train import train_model

REQUIRED = {"linear", "ridge", "lasso", "elastic_net", "random_forest", "hist_gradient_boosting"}


@pytest.fixture(scope="module")
def table() -> pl.DataFrame:
    return feature_table(300, seed=3)


def test_registry_has_the_promised_models() -> None:
    assert set(MODEL_NAMES) >= REQUIRED


@pytest.mark.parametrize("name", MODEL_NAMES)
def test_each_model_fits_and_predicts_profit(name: str, table: pl.DataFrame) -> None:
    result = train_model(table, train_params(name), plan(), dataset=SALES)
    test = table.filter(pl.col(SPLIT) == "test")
    predicted = result.model.predict(test.select(DEFAULT_FEATURES))
    assert predicted.shape == (test.height,)
    assert np.isfinite(predicted).all()
    # every model beats predicting the mean on held-out folds
    assert result.cv.summary()["r2_mean"] > 0.5


def test_unknown_model_name_lists_the_valid_ones() -> None:
    with pytest.raises(UserError) as caught:
        build_estimator("xgboost", {}, seed=0)
    message = str(caught.value)
    assert "train.model.name: unknown model 'xgboost'" in message
    for name in REQUIRED:
        assert name in message
    assert "\n" not in message


def test_misspelt_model_name_gets_a_suggestion() -> None:
    with pytest.raises(UserError, match="did you mean 'ridge'"):
        build_estimator("rigde", {}, seed=0)


def test_unknown_hyperparameter_lists_the_valid_ones() -> None:
    with pytest.raises(UserError) as caught:
        build_estimator("ridge", {"alpah": 1.0}, seed=0)
    message = str(caught.value)
    assert message.startswith(
        "params.yaml: train.model.params.ridge: unknown hyperparameter 'alpah'"
    )
    assert "did you mean 'alpha'" in message
    assert "fit_intercept" in message


def test_invalid_hyperparameter_value_is_one_line_naming_it() -> None:
    with pytest.raises(UserError) as caught:
        build_estimator("hist_gradient_boosting", {"max_depth": -1}, seed=0)
    message = str(caught.value)
    assert "train.model.params.hist_gradient_boosting" in message
    assert "max_depth" in message
    assert "\n" not in message


def test_wrongly_typed_hyperparameter_is_refused() -> None:
    with pytest.raises(UserError, match="n_estimators"):
        build_estimator("random_forest", {"n_estimators": "many"}, seed=0)


def test_random_state_comes_from_the_seed_only() -> None:
    with pytest.raises(UserError, match=re.escape("train.seed")):
        build_estimator("random_forest", {"random_state": 1}, seed=0)
    assert build_estimator("random_forest", {}, seed=7).get_params()["random_state"] == 7


def test_params_of_an_unselected_model_are_checked_too(table: pl.DataFrame) -> None:
    params = train_params(model={"name": "ridge", "params": {"lasso": {"alpah": 1.0}}})
    with pytest.raises(
        UserError, match=re.escape("train.model.params.lasso: unknown hyperparameter")
    ):
        train_model(table, params, plan(), dataset=SALES)


def test_unknown_model_in_the_params_table_is_refused(table: pl.DataFrame) -> None:
    params = train_params(model={"name": "ridge", "params": {"catboost": {}}})
    with pytest.raises(UserError, match=re.escape("train.model.params: unknown model 'catboost'")):
        train_model(table, params, plan(), dataset=SALES)


def test_column_types_come_from_the_frame(table: pl.DataFrame) -> None:
    frame = table.with_columns(pl.col(c.SALES_CHANNEL).cast(pl.Categorical), flag=pl.lit(True))
    roles = column_roles(frame.schema, [c.ITEM_TYPE, c.SALES_CHANNEL, "flag", c.UNITS_SOLD])
    assert roles.categorical == (c.ITEM_TYPE, c.SALES_CHANNEL, "flag")
    assert roles.numeric == (c.UNITS_SOLD,)


def test_date_inputs_are_refused_with_a_hint(table: pl.DataFrame) -> None:
    with pytest.raises(UserError) as caught:
        column_roles(table.schema, [c.UNITS_SOLD, c.ORDER_DATE])
    assert "'Order Date' is a Date column" in str(caught.value)
    assert "date_part" in str(caught.value)


def test_linear_models_scale_numeric_inputs_and_trees_do_not(table: pl.DataFrame) -> None:
    roles = column_roles(table.schema, [c.ITEM_TYPE, c.UNITS_SOLD])
    ridge = build_pipeline(roles, REGISTRY["ridge"], build_estimator("ridge", {}, 0))[0]
    forest_spec = REGISTRY["random_forest"]
    forest = build_pipeline(roles, forest_spec, build_estimator("random_forest", {}, 0))[0]
    assert (ridge.one_hot, ridge.impute, ridge.scale) == (True, True, True)
    assert (forest.one_hot, forest.impute, forest.scale) == (True, False, False)
    assert (ridge.categorical, ridge.numeric) == ((c.ITEM_TYPE,), (c.UNITS_SOLD,))


@pytest.mark.parametrize("name", ["ridge", "hist_gradient_boosting"])
def test_unknown_categories_and_missing_numbers_at_prediction_do_not_crash(
    name: str, table: pl.DataFrame
) -> None:
    result = train_model(table, train_params(name), plan(), dataset=SALES)
    rows = table.head(3).select(DEFAULT_FEATURES)
    odd = rows.with_columns(
        pl.lit("Spaceship Parts").alias(c.ITEM_TYPE),
        pl.lit(None, dtype=pl.Float64).alias("unit_margin"),
    )
    assert np.isfinite(result.model.predict(odd)).all()


@pytest.mark.parametrize("name", MODEL_NAMES)
def test_the_private_sklearn_api_we_rely_on_still_exists(name: str) -> None:
    """build_estimator checks hyperparameter values before any data is read through sklearn's
    private ``_validate_params`` (public only at fit time); an upgrade that drops it, or stops
    raising a ValueError/TypeError from it, must fail here rather than silently skip checks."""
    estimator = REGISTRY[name].estimator()
    assert callable(getattr(estimator, "_validate_params", None))
    estimator.set_params(**{REGISTRY[name].valid_params()[0]: object()})
    with pytest.raises((ValueError, TypeError)):
        estimator._validate_params()
