"""The frame encoder: Polars frame -> float64 matrix, the same at fit and at prediction, with
no per-row Python objects, and a loaded encoder's state checked before use."""

from __future__ import annotations

import json
from typing import Any

import numpy as np
import polars as pl
import pytest
from model_support import DEFAULT_FEATURES, feature_table, plan, train_params
from sales_columns import SALES
from sklearn.linear_model import LinearRegression
from sklearn.preprocessing import StandardScaler
from test_model_security import nodes_of, rewrite

from features_pipeline.errors import UserError
from features_pipeline.model.artifacts import load_model_bytes, model_bytes
from features_pipeline.model.encoding import FrameEncoder
from features_pipeline.model.train import train_model

FRAME = pl.DataFrame(
    {
        "text": ["b", "a", None, "b", "c"],
        "flag": [True, False, True, None, False],
        "kind": pl.Series(["x", "y", "x", "y", "x"], dtype=pl.Categorical),
        "count": [1, None, 3, 4, 5],
        "value": [0.5, float("nan"), 2.0, None, 8.0],
    }
)
TEXT, NUMBERS = ("text", "flag", "kind"), ("count", "value")
NEW = pl.DataFrame(
    {
        "text": ["zzz", None],
        "flag": [None, True],
        "kind": ["y", "new"],
        "count": [None, 2],
        "value": [1.0, None],
    },
    schema={**FRAME.schema, "kind": pl.String},
)


def encoder(**options: Any) -> FrameEncoder:
    return FrameEncoder(categorical=TEXT, numeric=NUMBERS, **options)


@pytest.mark.parametrize(
    "options",
    [
        {"one_hot": True, "impute": True, "scale": True},
        {"one_hot": True, "impute": True, "scale": True, "drop_first": True},
        {"one_hot": False, "impute": False, "scale": False},
        {"one_hot": True, "impute": False, "scale": False},
    ],
    ids=["linear", "linear-drop-first", "boosted-trees", "forest"],
)
def test_fit_and_prediction_give_the_same_float64_fortran_matrix(options: dict[str, bool]) -> None:
    fitted = encoder(**options)
    matrix = fitted.fit_transform(FRAME)
    assert matrix.dtype == np.float64
    assert matrix.flags.f_contiguous
    assert matrix.shape == (FRAME.height, fitted.n_output_)
    assert len(fitted.feature_names_out()) == fitted.n_output_
    again = fitted.transform(FRAME)
    assert again.tobytes() == matrix.tobytes()  # bit for bit, NaN included
    assert fitted.transform(NEW).shape == (NEW.height, fitted.n_output_)
    fitted.check_fitted()


def test_one_hot_columns_in_sorted_order_unknown_and_empty_all_zero() -> None:
    fitted = encoder(one_hot=True, impute=True, scale=False)
    fitted.fit(FRAME)
    assert fitted.categories_ == [["a", "b", "c"], ["false", "true"], ["x", "y"]]
    names = fitted.feature_names_out()
    assert names[:7] == [
        "text=a",
        "text=b",
        "text=c",
        "flag=false",
        "flag=true",
        "kind=x",
        "kind=y",
    ]
    new = fitted.transform(NEW)
    np.testing.assert_array_equal(new[0, :7], [0, 0, 0, 0, 0, 0, 1])  # zzz, empty, y
    np.testing.assert_array_equal(new[1, :7], [0, 0, 0, 0, 1, 0, 0])  # empty, true, new


def test_codes_for_trees_unknown_and_empty_are_missing() -> None:
    fitted = encoder(one_hot=False, impute=False, scale=False)
    matrix = fitted.fit_transform(FRAME)
    np.testing.assert_array_equal(matrix[:, 0], [1, 0, np.nan, 1, 2])
    np.testing.assert_array_equal(matrix[:, 3], [1, np.nan, 3, 4, 5])  # numbers as they are
    np.testing.assert_array_equal(matrix[:, 4], [0.5, np.nan, 2, np.nan, 8])
    # zzz, an empty text, an empty flag, a new kind
    assert np.isnan(fitted.transform(NEW)[:, :3]).sum() == 4


def test_numbers_imputed_with_the_median_and_scaled_like_standard_scaler() -> None:
    fitted = encoder(one_hot=True, impute=True, scale=True)
    matrix = fitted.fit_transform(FRAME)
    np.testing.assert_array_equal(fitted.medians_, [3.5, 2.0])  # empty and NaN left out
    imputed = np.array([[1, 0.5], [3.5, 2.0], [3, 2.0], [4, 2.0], [5, 8.0]])
    expected = StandardScaler().fit_transform(imputed)
    np.testing.assert_allclose(matrix[:, -2:], expected, rtol=1e-12, atol=1e-12)


def test_a_constant_column_is_centred_not_divided_by_noise() -> None:
    frame = pl.DataFrame({"x": [0.1] * 1001})
    matrix = FrameEncoder(numeric=("x",), scale=True).fit_transform(frame)
    assert np.abs(matrix).max() < 1e-12


def test_dropping_the_first_category_gives_least_squares_the_same_predictions() -> None:
    table = feature_table(300, seed=6)
    text, numbers = ("Region", "Item Type"), ("Units Sold", "unit_margin")
    y = table.get_column("Total Profit").to_numpy()
    predictions = []
    for drop in (False, True):
        matrix = FrameEncoder(text, numbers, scale=True, drop_first=drop).fit_transform(table)
        predictions.append(LinearRegression().fit(matrix, y).predict(matrix))
    np.testing.assert_allclose(predictions[0], predictions[1], rtol=1e-9, atol=1e-6)


def test_scikit_learn_never_turns_the_frame_into_an_array(monkeypatch: pytest.MonkeyPatch) -> None:
    """The encoder hands the estimator a float64 matrix: no object arrays of the text cells."""

    def refuse(*args: Any, **kwargs: Any) -> None:
        raise AssertionError("the feature frame was converted by scikit-learn")

    table = feature_table(200, seed=3)
    monkeypatch.setattr(pl.DataFrame, "__array__", refuse)
    monkeypatch.setattr(pl.DataFrame, "to_pandas", refuse)
    for name in ("ridge", "hist_gradient_boosting"):
        result = train_model(table, train_params(name), plan(), dataset=SALES)
        assert np.isfinite(result.model.predict(table.select(DEFAULT_FEATURES))).all()


@pytest.mark.parametrize(
    ("key", "value", "reason"),
    [
        ("categories_", [["b", "a"], ["false", "true"], ["x", "y"]], "categories are not sorted"),
        ("categories_", [["a"], ["a"]], "one list per column"),
        ("medians_", np.zeros(3), "medians are not 2 float64 values"),
        ("scales_", np.ones(2, dtype=np.float32), "scales are not 2 float64 values"),
        ("scale", "yes", "options are not booleans"),
        ("numeric", (1, 2), "columns are not lists of names"),
        ("n_output_", 99, "output width differs"),
    ],
)
def test_a_tampered_state_is_refused(key: str, value: Any, reason: str) -> None:
    fitted = encoder(one_hot=True, impute=True, scale=True)
    fitted.fit(FRAME)
    setattr(fitted, key, value)
    with pytest.raises(ValueError, match=reason):
        fitted.check_fitted()


def test_a_crafted_encoder_in_a_model_file_is_one_line() -> None:
    table = feature_table(200, seed=3)
    data = model_bytes(train_model(table, train_params("ridge"), plan(), dataset=SALES).model)

    def widen(schema: dict[str, Any], files: dict[str, bytes]) -> None:
        state = next(nodes_of(schema, "FrameEncoder"))["content"]["content"]
        state["n_output_"].update(content=json.dumps(99), __id__=10**6)  # a node of its own

    with pytest.raises(UserError) as caught:
        load_model_bytes(rewrite(data, widen), "model.skops")
    message = str(caught.value)
    assert message.startswith("model.skops: not a model this pipeline wrote (encoder output")
    assert "\n" not in message
    load_model_bytes(data, "model.skops")  # the real file still loads
