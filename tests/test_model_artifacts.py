"""skops artifacts: exact round trip, identical bytes, untrusted types refused; the model card."""

from __future__ import annotations

import hashlib
import io
import json
import zipfile
from pathlib import Path

import numpy as np
import polars as pl
import pytest
import skops.io as sio
from model_support import DEFAULT_FEATURES, SMALL_MODELS, feature_table, plan, train_params
from sales_columns import SALES
from sklearn.base import BaseEstimator, RegressorMixin
from sklearn.pipeline import Pipeline

from features_pipeline.contracts.card import ModelCard, parse_card
from features_pipeline.errors import UserError
from features_pipeline.model.artifacts import (
    ENCODER_TYPE,
    TRUSTED_TYPES,
    load_model,
    load_model_bytes,
    load_model_checked,
    model_bytes,
    save_model,
)
from features_pipeline.model.card import build_card, data_sha256
from features_pipeline.model.model_check import EXPECTED_NODES, PLACEMENT
from features_pipeline.model.registry import LEAST_SQUARES_TYPE, MODEL_NAMES, REGISTRY
from features_pipeline.model.train import TrainResult, train_model


@pytest.fixture(scope="module")
def table() -> pl.DataFrame:
    return feature_table(300, seed=4)


@pytest.fixture(scope="module")
def trained(table: pl.DataFrame) -> dict[str, TrainResult]:
    return {
        name: train_model(table, train_params(name), plan(), dataset=SALES) for name in MODEL_NAMES
    }


@pytest.mark.parametrize("name", MODEL_NAMES)
def test_round_trip_predicts_exactly_the_same(
    name: str, trained: dict[str, TrainResult], table: pl.DataFrame, tmp_path: Path
) -> None:
    model = trained[name].model
    path = tmp_path / "model.skops"
    save_model(model, path)
    loaded = load_model(path)
    rows = table.select(DEFAULT_FEATURES)
    np.testing.assert_array_equal(loaded.predict(rows), model.predict(rows))


@pytest.mark.parametrize("name", ["ridge", "random_forest", "hist_gradient_boosting"])
def test_same_model_gives_identical_bytes(name: str, table: pl.DataFrame) -> None:
    """skops stores object ids and timestamps; saved files are rewritten canonically."""
    params = train_params(name)
    first = model_bytes(train_model(table, params, plan(), dataset=SALES).model)
    second = model_bytes(train_model(table, params, plan(), dataset=SALES).model)
    assert first == second
    with zipfile.ZipFile(__import__("io").BytesIO(first)) as archive:
        assert {info.date_time for info in archive.infolist()} == {(1980, 1, 1, 0, 0, 0)}


class Sneaky(RegressorMixin, BaseEstimator):
    """A type no allow-list knows: loading it must be refused before anything is built."""

    def fit(self, x: object, y: object) -> Sneaky:
        return self

    def predict(self, x: object) -> np.ndarray:
        return np.zeros(1)


def test_an_untrusted_type_is_refused_by_name() -> None:
    data = sio.dumps(Pipeline([("model", Sneaky())]))
    with pytest.raises(UserError) as caught:
        load_model_bytes(data, "models/model.skops")
    message = str(caught.value)
    assert message.startswith(
        "models/model.skops: not a model this pipeline wrote (unexpected skops node "
        "ObjectNode(test_model_artifacts.Sneaky))"
    )
    assert message.endswith("; re-run the train stage")


def test_allow_list_is_exactly_what_the_registered_models_need(
    trained: dict[str, TrainResult],
) -> None:
    needed = {
        name: set(sio.get_untrusted_types(data=model_bytes(result.model)))
        for name, result in trained.items()
    }
    assert set().union(*needed.values()) == TRUSTED_TYPES  # nothing spare beyond skops' defaults
    assert needed["random_forest"] == {ENCODER_TYPE, "sklearn.tree._tree.Tree"}
    assert needed["hist_gradient_boosting"] == {
        ENCODER_TYPE,
        "sklearn.ensemble._hist_gradient_boosting.predictor.TreePredictor",
    }
    assert needed["linear"] == {ENCODER_TYPE, LEAST_SQUARES_TYPE}
    for name in ("ridge", "lasso", "elastic_net"):
        assert needed[name] == {ENCODER_TYPE}  # the rest is skops' defaults
    for name, types in needed.items():  # the registry states each model's coupling
        assert types == {ENCODER_TYPE, *REGISTRY[name].trusted_types}, name


def test_every_trusted_type_is_ours_or_validated_before_use() -> None:
    """A registry entry's trusted type is our own class or a type model_check validates (a
    tree's node arrays): a new tree model must add its check there, or loading refuses it."""
    for spec in REGISTRY.values():
        for name in spec.trusted_types:
            assert name.startswith("features_pipeline.") or name in PLACEMENT, (spec.name, name)


def test_not_a_model_file_is_one_line(tmp_path: Path) -> None:
    path = tmp_path / "model.skops"
    path.write_bytes(b"definitely not a zip")
    with pytest.raises(UserError) as caught:
        load_model(path)
    assert str(caught.value) == (
        f"{path}: not a model this pipeline wrote (not a zip archive); re-run the train stage"
    )
    with pytest.raises(UserError, match="model file not found"):
        load_model(tmp_path / "missing.skops")


def test_a_card_for_another_model_is_refused(
    trained: dict[str, TrainResult], tmp_path: Path
) -> None:
    path = tmp_path / "model.skops"
    data = save_model(trained["ridge"].model, path)
    card = card_for(trained["ridge"], hashlib.sha256(data).hexdigest())
    assert isinstance(load_model_checked(path, card, "card.json"), Pipeline)
    other = card_for(trained["ridge"], "0" * 64)
    with pytest.raises(UserError, match="does not match"):
        load_model_checked(path, other, "card.json")


def card_for(result: TrainResult, model_sha256: str) -> ModelCard:
    return build_card(
        result=result,
        schema=feature_table(20).schema,
        plan=plan(),
        training_sha256=data_sha256(result.training_frame),
        seed=1,
        cv=result.cv.summary(),
        model_sha256=model_sha256,
    )


def test_card_records_what_predict_and_people_need(trained: dict[str, TrainResult]) -> None:
    result = trained["hist_gradient_boosting"]
    model_card = card_for(result, "ab" * 32)
    card = model_card.to_json()
    assert parse_card(card, "card.json") == model_card  # the file reads back as written
    assert card["feature_spec"] == "config/features.yaml"
    assert card["target"] == "Total Profit"
    assert card["features"] == list(DEFAULT_FEATURES)
    assert card["inputs"]["Item Type"] == {"dtype": "String", "encoding": "ordinal", "kind": "raw"}
    assert card["inputs"]["unit_margin"]["kind"] == "row-wise"
    assert card["model"]["estimator"] == "sklearn.ensemble.HistGradientBoostingRegressor"
    assert card["model"]["params"]["max_iter"] == 30
    assert card["model"]["params"]["random_state"] == 1
    assert card["training"]["rows"] == result.rows
    assert len(card["training"]["data_sha256"]) == 64
    assert {"python", "scikit-learn", "skops", "polars", "numpy"} <= set(card["libraries"])
    assert card["window_features"] == []


def test_data_hash_changes_with_the_data(table: pl.DataFrame) -> None:
    frame = table.select(DEFAULT_FEATURES)
    digest = data_sha256(frame)
    assert digest == data_sha256(frame.clone())
    assert digest != data_sha256(frame.with_row_index().tail(-1).drop("index"))
    assert digest != data_sha256(frame.reverse())  # row order
    assert digest != data_sha256(frame.select(reversed(frame.columns)))  # column order
    assert digest != data_sha256(frame.rename({frame.columns[0]: "renamed"}))
    first = frame.columns[0]
    first_row = pl.int_range(pl.len()) == 0
    changed = frame.with_columns(pl.when(first_row).then(pl.lit("x")).otherwise(pl.col(first)))
    assert digest != data_sha256(changed)  # one text value


def test_data_hash_tells_values_nulls_and_types_apart() -> None:
    numbers = pl.DataFrame({"x": [1.0, 0.0, 2.5]})
    assert data_sha256(numbers) != data_sha256(pl.DataFrame({"x": [1.0, None, 2.5]}))
    assert data_sha256(numbers) != data_sha256(pl.DataFrame({"x": [1.0, -0.0, 2.5]}))
    assert data_sha256(numbers) != data_sha256(numbers.cast(pl.Float32))
    text = pl.DataFrame({"t": ["ab", "c"]})
    assert data_sha256(text) != data_sha256(pl.DataFrame({"t": ["a", "bc"]}))  # lengths count
    assert data_sha256(text) != data_sha256(pl.DataFrame({"t": ["ab", None]}))
    assert data_sha256(pl.DataFrame({"t": ["", "c"]})) != data_sha256(
        pl.DataFrame({"t": [None, "c"]})
    )
    flags = pl.DataFrame({"b": [True, None]}), pl.DataFrame({"b": [True, False]})
    assert data_sha256(flags[0]) != data_sha256(flags[1])


def schema_nodes(data: bytes) -> set[tuple[str, str]]:
    """Every (skops loader, module.class) in a saved model's schema."""
    found: set[tuple[str, str]] = set()

    def walk(node: object) -> None:
        if isinstance(node, dict):
            if "__loader__" in node:
                found.add((node["__loader__"], f"{node['__module__']}.{node['__class__']}"))
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for item in node:
                walk(item)

    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        walk(json.loads(archive.read("schema.json")))
    return found


HGB_LOSSES = ("absolute_error", "gamma", "poisson", "quantile")  # squared_error: the default


def test_node_allow_list_is_exactly_what_the_registered_models_are_saved_as(
    trained: dict[str, TrainResult], table: pl.DataFrame
) -> None:
    used = {name: schema_nodes(model_bytes(result.model)) for name, result in trained.items()}
    hgb = "hist_gradient_boosting"
    for loss in HGB_LOSSES:  # each regression loss saves its own loss and link types
        extra = {"quantile": 0.5} if loss == "quantile" else {}
        params = {**SMALL_MODELS, hgb: {**SMALL_MODELS[hgb], "loss": loss, **extra}}
        model = train_model(
            table, train_params(hgb, model={"name": hgb, "params": params}), plan(), dataset=SALES
        ).model
        used[f"{hgb}/{loss}"] = schema_nodes(model_bytes(model))
    for name, nodes in used.items():
        assert nodes <= EXPECTED_NODES, (name, nodes - EXPECTED_NODES)
    assert set().union(*used.values()) == EXPECTED_NODES  # nothing spare
