"""Validation where the table lives: ``validate_lazy`` on Polars lazy, DuckDB and Spark gives the
counts, checks and cases of the Polars validator, bringing back only a bounded sample of cases."""

from __future__ import annotations

import json
import math
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import narwhals.stable.v2 as nw
import polars as pl
import pytest
import sales_columns as c
from support import Project, default_params, load_stage_module
from test_validate_checks import (
    MODEL_INPUTS,
    PLAN_JSON,
    at,
    feature_table,
    plan,
    set_value,
    small_params,
)

from features_pipeline.contracts.plan_file import ModelInputs
from features_pipeline.contracts.split import SPLIT, TEST, TRAIN
from features_pipeline.engines.base import ROW, Executor
from features_pipeline.engines.duckdb import DuckDbExecutor
from features_pipeline.io import write_json_atomic, write_parquet_atomic
from features_pipeline.runner import run_stage
from features_pipeline.validation.metrics import validation_metrics
from features_pipeline.validation.on_engine import validate_lazy
from features_pipeline.validation.params import ValidateParams
from features_pipeline.validation.schema import MODEL_INPUT, UNIQUE
from features_pipeline.validation.validator import (
    ERROR,
    ValidationResult,
    validate_feature_table,
    validation_error,
)

ENGINES = [
    "polars_lazy",
    pytest.param("duckdb", marks=pytest.mark.duckdb),
    pytest.param("spark", marks=pytest.mark.spark),
]
INPUTS = ModelInputs(c.TOTAL_PROFIT, MODEL_INPUTS)


def planted(clean: pl.DataFrame) -> pl.DataFrame:
    """``clean`` with one of each problem: a null model input in a train row, an inf, a NaN, a
    duplicate key, an unseen test category, rule failures, a wrong dtype, a bad and a null split,
    a null in a non-nullable column, an infinite target."""
    frame = set_value(clean, "unit_margin", at(clean, TRAIN, 3), None)
    frame = set_value(frame, "country_share", at(frame, TRAIN, 4), math.inf)
    frame = set_value(frame, "country_share", at(frame, TRAIN, 5), math.nan)
    frame = set_value(frame, c.ORDER_ID, 9, frame[c.ORDER_ID][0])
    frame = set_value(frame, c.COUNTRY, at(frame, TEST, 2), "Atlantis")
    frame = set_value(frame, c.SALES_CHANNEL, 4, "Telepathy")
    frame = set_value(frame, c.UNITS_SOLD, 12, -3)
    frame = set_value(frame, c.SHIP_DATE, 14, frame[c.ORDER_DATE][14].replace(year=1999))
    frame = set_value(frame, SPLIT, 7, "validation")
    frame = set_value(frame, SPLIT, 8, None)
    frame = set_value(frame, c.REGION, 8, None)
    frame = set_value(frame, c.TOTAL_PROFIT, 20, math.inf)
    return frame.with_columns(pl.col("revenue_per_unit").cast(pl.Float32))


@pytest.fixture(scope="module")
def clean() -> pl.DataFrame:
    return feature_table()


@pytest.fixture(scope="module")
def duckdb_executor() -> Iterator[DuckDbExecutor]:
    with DuckDbExecutor() as executor:
        yield executor  # type: ignore[misc]


def on_engine(engine: str, frame: pl.DataFrame, request: pytest.FixtureRequest) -> Any:
    """``frame`` with ROW as a narwhals lazy frame of ``engine``."""
    if engine == "polars_lazy":
        indexed = frame.with_row_index(ROW).with_columns(pl.col(ROW).cast(pl.Int64))
        return nw.from_native(indexed.lazy())
    executor: Executor = request.getfixturevalue(f"{engine}_executor")
    return executor.from_polars(frame)


def assert_same(lazy: ValidationResult, polars: ValidationResult) -> None:
    assert lazy.rows == polars.rows
    assert (lazy.checks_run, lazy.checks_failed, lazy.checks_warned) == (
        polars.checks_run,
        polars.checks_failed,
        polars.checks_warned,
    )
    assert lazy.missing == polars.missing
    assert lazy.cases.rows() == polars.cases.rows()  # the same cases in the same order
    assert lazy.error_total == polars.errors.height
    assert validation_metrics(lazy) == validation_metrics(polars)


@pytest.mark.parametrize(
    "params",
    [small_params(), small_params(warnings_fail=True, max_test_fraction=0.1)],
    ids=["default", "warnings-fail"],
)
@pytest.mark.parametrize("engine", ENGINES)
def test_a_clean_table_gives_what_polars_gives(
    engine: str, params: ValidateParams, clean: pl.DataFrame, request: pytest.FixtureRequest
) -> None:
    polars = validate_feature_table(clean, plan(), INPUTS, params, c.SALES)
    lazy = validate_lazy(on_engine(engine, clean, request), plan(), INPUTS, params, c.SALES)
    assert_same(lazy, polars)
    assert lazy.checks_run > 50


@pytest.mark.parametrize("engine", ENGINES)
def test_planted_problems_give_the_polars_cases(
    engine: str, clean: pl.DataFrame, request: pytest.FixtureRequest
) -> None:
    frame = planted(clean)
    polars = validate_feature_table(frame, plan(), INPUTS, small_params(), c.SALES)
    assert polars.checks_failed >= 10  # every problem is found
    assert polars.checks_warned == 1
    lazy = validate_lazy(on_engine(engine, frame, request), plan(), INPUTS, small_params(), c.SALES)
    assert_same(lazy, polars)


@pytest.mark.parametrize("engine", ENGINES)
def test_missing_columns_and_no_split(
    engine: str, clean: pl.DataFrame, request: pytest.FixtureRequest
) -> None:
    frame = clean.drop("country_share", SPLIT)
    params = small_params(severity={"unseen_category": "error"})
    polars = validate_feature_table(frame, plan(), INPUTS, params, c.SALES)
    lazy = validate_lazy(on_engine(engine, frame, request), plan(), INPUTS, params, c.SALES)
    assert_same(lazy, polars)


@pytest.mark.parametrize("engine", ENGINES)
def test_sample_cases_bounds_the_cases_not_the_total(
    engine: str, clean: pl.DataFrame, request: pytest.FixtureRequest
) -> None:
    frame = clean.with_columns(
        unit_margin=pl.when(pl.int_range(pl.len()) % 100 == 0).then(None).otherwise("unit_margin"),
        **{c.ORDER_ID: pl.when(pl.int_range(pl.len()) < 5).then(7).otherwise(c.ORDER_ID)},
    )
    polars = validate_feature_table(frame, plan(), INPUTS, small_params(), c.SALES)
    table = on_engine(engine, frame, request)
    lazy = validate_lazy(table, plan(), INPUTS, small_params(), c.SALES, sample_cases=2)
    nulls = polars.errors.filter(pl.col("column") == "unit_margin").height
    assert nulls > 2
    assert lazy.checks_failed == polars.checks_failed == 2
    assert lazy.errors.group_by("column", "check").len().sort("column").rows() == [
        (c.ORDER_ID, UNIQUE, 2),
        ("unit_margin", MODEL_INPUT, 2),
    ]
    # the sample is the first failing rows, as the Polars validator lists them
    first = polars.errors.group_by("column", "check", maintain_order=True).head(2)
    assert lazy.errors.sort(pl.all()).rows() == first.sort(pl.all()).rows()
    assert lazy.error_total == polars.errors.height == nulls + 5
    assert validation_metrics(lazy)["failure_cases"] == nulls + 5
    assert (
        f"(all {nulls + 5} failure case(s): r.csv)" in validation_error(lazy, "t", "r.csv").message
    )
    assert set(lazy.cases.get_column("severity")) == {ERROR}


@pytest.mark.parametrize("engine", ENGINES)
def test_a_check_on_a_column_of_the_wrong_dtype_that_cannot_run_fails(
    engine: str, clean: pl.DataFrame, request: pytest.FixtureRequest
) -> None:
    """Units Sold as text: pandera reports each rule that cannot compare it as a failure whose
    case is the error; on an engine the same checks fail, each with the engine's own error.
    Spark casts the numeric text implicitly instead: its rules run, only the dtype fails."""
    frame = clean.with_columns(pl.col(c.UNITS_SOLD).cast(pl.String))
    polars = validate_feature_table(frame, plan(), INPUTS, small_params(), c.SALES)
    lazy = validate_lazy(on_engine(engine, frame, request), plan(), INPUTS, small_params(), c.SALES)
    assert lazy.checks_run == polars.checks_run
    if engine == "spark":
        assert lazy.errors.rows() == [(c.UNITS_SOLD, "dtype('Int64')", "String", None)]
        return
    assert lazy.checks_failed == polars.checks_failed
    assert polars.checks_failed == 4  # the dtype, Units Sold > 0 and the two products
    failing = pl.col("column", "check", "row")
    assert lazy.errors.select(failing).sort(pl.all()).rows() == (
        polars.errors.select(failing).sort(pl.all()).rows()
    )
    assert lazy.warnings.sort(pl.all()).rows() == polars.warnings.sort(pl.all()).rows()


@pytest.mark.duckdb
def test_the_validate_stage_on_duckdb_writes_what_polars_writes(
    project: Project, clean: pl.DataFrame, capsys: pytest.CaptureFixture[str]
) -> None:
    """engine.name: duckdb validates where DuckDB reads the table: the same metrics and the
    same failure report (every case: each check has fewer than 1000)."""
    write_parquet_atomic(planted(clean), project.root / "data/features/features.parquet")
    write_json_atomic(PLAN_JSON, project.root / "data/features/plan.json")
    stage = load_stage_module("validate")
    written = []
    for engine in ({"name": "polars"}, {"name": "duckdb", "memory_limit": "512MB"}):
        train = {"features": list(MODEL_INPUTS)}
        validate = {"min_rows_per_split": 10}
        project.write_params(default_params(engine=engine, validate=validate, train=train))
        argv = ["--params", project.params.name]
        assert run_stage("validate", stage.run, stage.__doc__ or "", argv=argv) == 1
        assert "fails check" in capsys.readouterr().err
        cases = pl.read_csv(Path("reports/validation_failures.csv"), infer_schema=False)
        metrics = json.loads(Path("metrics/validation.json").read_text(encoding="utf-8"))
        written.append((metrics, cases.rows()))  # the same rows in the same order
    assert written[0] == written[1]
    assert written[0][0]["failure_cases"] == 16
