"""The maintainer tasks of CONTRIBUTING.md, done for real: each is one file's worth of code.

A feature type and a model are added here the way their one file would add them (a class that
registers itself; one registry entry); the metric and the engine are in
``tests/test_metric_registry.py`` (``MEDIAN_AE``) and ``tests/engines/test_engine_registry.py``
(``EagerExecutor``). Here, not in tests/: the feature type's conformance run reads the engines'
edge-case table.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Literal

import narwhals.stable.v2 as nw
import polars as pl
import pytest
from edge_table import ZONED, conformance_spec, edge_table
from model_support import feature_table, plan, train_params
from sales_columns import SALES

from features_pipeline.engines.duckdb import DuckDbExecutor
from features_pipeline.features.catalog import catalog_markdown, example_spec
from features_pipeline.features.engine import fit_transform
from features_pipeline.features.plan import build_plan
from features_pipeline.features.spec import parse_features
from features_pipeline.features.types import FEATURE_TYPES, Feature
from features_pipeline.features.types.base import Schema, require_numeric
from features_pipeline.model.artifacts import TRUSTED_TYPES
from features_pipeline.model.registry import REGISTRY, ModelSpec, build_estimator
from features_pipeline.model.train import train_model

# ---- a feature type: one module in features/types/ (this class, as it would be written there)


@pytest.fixture
def clip_type() -> Iterator[type[Feature]]:
    """``clip`` defined (it registers itself, as importing its module would) and removed after."""
    before = dict(FEATURE_TYPES)

    class Clip(Feature):
        """A numeric column limited to ``[lower, upper]``.

        ```yaml
        - name: units_clipped
          type: clip
          column: Units Sold
          lower: 1
          upper: 5000
        ```
        """

        type: Literal["clip"]
        column: str
        lower: float
        upper: float
        conformance_cases = (
            {"name": "clip__n", "column": "n", "lower": -1.0, "upper": 3.0},
            {"name": "clip__x", "column": "x", "lower": 0.0, "upper": 0.5},
        )

        def column_keys(self) -> dict[str, tuple[str, ...]]:
            return {"column": (self.column,)}

        def check_types(self, schema: Schema) -> None:
            require_numeric(schema, "column", self.column)

        def output_dtype(self, schema: Schema) -> pl.DataType:
            return pl.Float64()

        def expression(self) -> nw.Expr:
            # NaN stays NaN: DuckDB orders NaN above every number, so a bare clip gives it the upper
            # bound there (the conformance run caught it)
            value = nw.col(self.column).cast(nw.Float64)
            return nw.when(value.is_nan()).then(value).otherwise(value.clip(self.lower, self.upper))

    yield Clip
    FEATURE_TYPES.clear()
    FEATURE_TYPES.update(before)


@pytest.mark.duckdb  # its conformance run includes DuckDB
def test_a_feature_type_is_one_class(clip_type: type[Feature]) -> None:
    assert "| `clip` |" in catalog_markdown()  # the catalog reads the class's docstring
    assert {"name": "units_clipped", "type": "clip", "column": "Units Sold", "lower": 1,
            "upper": 5000} in example_spec()  # fmt: skip
    cases = [case for case in conformance_spec() if case["type"] == "clip"]
    assert [case["name"] for case in cases] == ["clip__n", "clip__x"]
    frame = edge_table().with_columns(pl.lit("train").alias("split")).drop(ZONED)
    features = parse_features(cases, "conformance")
    planned = build_plan(features, dict(frame.schema), "n", "conformance")
    expected, _ = fit_transform(frame, planned)
    on_duckdb_plan = build_plan(features, dict(frame.schema), "n", "conformance", "duckdb")
    with DuckDbExecutor() as duckdb:  # the conformance run: another engine, the same values
        on_duckdb, _ = fit_transform(frame, on_duckdb_plan, executor=duckdb)
    assert on_duckdb.select("clip__n", "clip__x").equals(expected.select("clip__n", "clip__x"))


# ---- a model: one ModelSpec in model/registry.py ----------------------------------------------

HUBER = ModelSpec(
    name="huber",
    estimator_path="sklearn.linear_model.HuberRegressor",
    scale_numeric=True,
    handles_missing=False,
    cost=0.05,
    defaults={"max_iter": 500},
)  # a tree model would also list trusted_types (its tree's class), checked by model_check


@pytest.fixture
def huber(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(REGISTRY, HUBER.name, HUBER)


@pytest.mark.usefixtures("huber")
def test_a_model_is_one_registry_entry() -> None:
    assert type(build_estimator("huber", {"epsilon": 1.5}, seed=1)).__name__ == "HuberRegressor"
    result = train_model(feature_table(200, seed=3), train_params("huber"), plan(), dataset=SALES)
    assert result.setup.model_name == "huber"
    assert not HUBER.trusted_types  # skops' defaults cover it: the allow-list is unchanged
    assert {*TRUSTED_TYPES} >= {t for spec in REGISTRY.values() for t in spec.trusted_types
                                if spec.name != "huber"}  # fmt: skip
