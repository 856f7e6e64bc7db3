"""The validate stage in-process: exit codes, the one-line error, the failure report, metrics."""

from __future__ import annotations

import json
import math
from collections.abc import Callable
from pathlib import Path
from types import ModuleType
from typing import Any

import polars as pl
import pytest
import sales_columns as c
from support import Project, default_params, error_line, load_stage_module
from test_validate_checks import PLAN_JSON, at, feature_table, set_value

from features_pipeline.contracts.split import SPLIT, TEST, TRAIN
from features_pipeline.io import write_json_atomic, write_parquet_atomic
from features_pipeline.runner import run_stage

FEATURES = Path("data/features/features.parquet")
PLAN = Path("data/features/plan.json")
METRICS = Path("metrics/validation.json")
FAILURES = Path("reports/validation_failures.csv")
VALIDATE = {"min_rows_per_split": 10}
TRAIN_SECTION = {
    "features": ["unit_margin", "revenue_per_unit", "country_share", "prev_units", c.ITEM_TYPE],
    "model": {"name": "ridge"},  # the train stage's keys: ignored by validate
}


@pytest.fixture(scope="module")
def validate_stage() -> ModuleType:
    return load_stage_module("validate")


@pytest.fixture(scope="module")
def clean() -> pl.DataFrame:
    return feature_table()


RunValidate = Callable[..., tuple[int, str]]


@pytest.fixture
def run_validate(
    validate_stage: ModuleType, project: Project, capsys: pytest.CaptureFixture[str]
) -> RunValidate:
    """Write the feature table, plan and params into the project; run validate -> (code, err)."""

    def run(frame: pl.DataFrame, validate: dict[str, Any] | None = None) -> tuple[int, str]:
        write_parquet_atomic(frame, project.root / FEATURES)
        write_json_atomic(PLAN_JSON, project.root / PLAN)
        project.write_params(
            default_params(validate={**VALIDATE, **(validate or {})}, train=TRAIN_SECTION)
        )
        capsys.readouterr()
        argv = ["--params", project.params.name]
        code = run_stage("validate", validate_stage.run, validate_stage.__doc__ or "", argv=argv)
        return code, capsys.readouterr().err

    return run


def metrics() -> dict[str, Any]:
    return json.loads(METRICS.read_text(encoding="utf-8"))


def report() -> pl.DataFrame:
    return pl.read_csv(FAILURES, schema_overrides={"value": pl.String, "row": pl.Int64})


def test_clean_table_passes_and_writes_metrics(run_validate: RunValidate, clean) -> None:
    code, stderr = run_validate(clean)
    assert code == 0, stderr
    assert "error" not in stderr
    written = metrics()
    train = clean.filter(pl.col(SPLIT) == TRAIN).height
    assert written["rows"] == {"train": train, "test": clean.height - train, "total": clean.height}
    assert written["checks"]["failed"] == written["checks"]["warned"] == 0
    assert written["checks"]["passed"] == written["checks"]["run"] > 50
    assert written["failure_cases"] == 0
    by_column = {entry["column"]: entry["nulls"] for entry in written["nulls"]["by_column"]}
    assert by_column["prev_units"] == clean["prev_units"].null_count() > 0
    assert by_column["unit_margin"] == 0
    assert written["nulls"]["total"] == sum(by_column.values())
    assert written["nulls"]["columns"] == sum(1 for count in by_column.values() if count) > 0
    assert FAILURES.read_text(encoding="utf-8") == "column,check,value,row,severity\n"


def test_two_runs_write_identical_outputs(run_validate: RunValidate, clean) -> None:
    assert run_validate(clean)[0] == 0
    first = METRICS.read_bytes(), FAILURES.read_bytes()
    assert run_validate(clean)[0] == 0
    assert (METRICS.read_bytes(), FAILURES.read_bytes()) == first
    written = sorted(p.name for p in METRICS.parent.iterdir() if p.is_file())
    assert written == ["validation.json"]  # no temp files (timing/ holds the stage's time)


def null_in_model_input(frame: pl.DataFrame) -> pl.DataFrame:
    return set_value(frame, "unit_margin", at(frame, TRAIN, 2), None)


def inf_from_division(frame: pl.DataFrame) -> pl.DataFrame:
    """A ratio feature divided by zero in one train row (as if its denominator were 0)."""
    zero = pl.int_range(pl.len()) == at(frame, TRAIN, 2)
    return frame.with_columns(
        revenue_per_unit=pl.col(c.TOTAL_REVENUE) / pl.when(zero).then(0).otherwise(c.UNITS_SOLD)
    )


def duplicated_order_id(frame: pl.DataFrame) -> pl.DataFrame:
    return set_value(frame, c.ORDER_ID, at(frame, TRAIN, 2), frame[c.ORDER_ID][0])


def unseen_category(frame: pl.DataFrame) -> pl.DataFrame:
    return set_value(frame, c.ITEM_TYPE, at(frame, TEST, 2), "Hoverboards")


CORRUPTIONS: dict[str, tuple[Callable[[pl.DataFrame], pl.DataFrame], dict[str, Any], str]] = {
    "null-in-model-input": (
        null_in_model_input,
        {},
        "column 'unit_margin' fails check 'model input: no inf; no null or NaN in train rows' "
        "in 1 row(s) (row {row}: 'null')",
    ),
    "inf-from-division": (
        inf_from_division,
        {},
        "column 'revenue_per_unit' fails check 'model input: no inf; no null or NaN in train rows' "
        "in 1 row(s) (row {row}: 'inf')",
    ),
    "missing-feature-column": (
        lambda frame: frame.drop("country_share"),
        {},
        "missing required column(s) 'country_share'",
    ),
    "wrong-dtype": (
        lambda frame: frame.with_columns(pl.col("prev_units").cast(pl.Float64)),
        {},
        "column 'prev_units' fails check \"dtype('Int64')\" ('Float64')",
    ),
    "empty-test-split": (
        lambda frame: frame.with_columns(pl.lit(TRAIN).alias(SPLIT)),
        {},
        "column 'split' fails check 'at least 10 rows per split' ('test: 0 rows')",
    ),
    "duplicated-order-id": (
        duplicated_order_id,
        {},
        "column 'Order ID' fails check 'unique' in 2 row(s) (row 1: ",
    ),
    "unseen-category-as-error": (
        unseen_category,
        {"severity": {"unseen_category": "error"}},
        "column 'Item Type' fails check 'no category unseen in train' in 1 row(s) "
        "(row {row}: 'Hoverboards')",
    ),
}


@pytest.mark.parametrize("kind", list(CORRUPTIONS))
def test_each_kind_of_bad_data_fails_with_a_clear_line_and_a_report(
    run_validate: RunValidate, clean: pl.DataFrame, kind: str
) -> None:
    corrupt, params, expected = CORRUPTIONS[kind]
    code, stderr = run_validate(corrupt(clean), params)
    line = error_line(code, stderr)
    row = at(clean, TEST if kind.startswith("unseen") else TRAIN, 2) + 1
    assert line.startswith(f"error: {FEATURES}: {expected.format(row=row)}"), line
    assert line.endswith(f"failure case(s): {FAILURES})")
    failures = report().filter(pl.col("severity") == "error")
    assert failures.height > 0
    assert metrics()["checks"]["failed"] == failures.select("column", "check").n_unique()
    assert metrics()["failure_cases"] == failures.height


def test_several_failures_show_a_table_of_the_first_cases(
    run_validate: RunValidate, clean: pl.DataFrame
) -> None:
    code, stderr = run_validate(duplicated_order_id(null_in_model_input(clean)))
    error_line(code, stderr)
    assert "first 3 of 3 failure cases" in stderr
    for text in ("column", "check", "value", "row", "Order ID", "unit_margin", "unique"):
        assert text in stderr
    assert report().select("column", "severity").rows() == [
        (c.ORDER_ID, "error"),
        (c.ORDER_ID, "error"),
        ("unit_margin", "error"),
    ]


def test_warnings_are_reported_but_pass(run_validate: RunValidate, clean: pl.DataFrame) -> None:
    code, stderr = run_validate(unseen_category(clean))
    assert code == 0, stderr
    assert "Hoverboards" in stderr
    assert metrics()["checks"]["warned"] == 1
    assert report().rows() == [
        (
            c.ITEM_TYPE,
            "no category unseen in train",
            "Hoverboards",
            at(clean, TEST, 2) + 1,
            "warning",
        )
    ]


def test_warnings_fail_the_stage_when_params_say_so(
    run_validate: RunValidate, clean: pl.DataFrame
) -> None:
    code, stderr = run_validate(unseen_category(clean), {"warnings_fail": True})
    assert "'no category unseen in train'" in error_line(code, stderr)


def test_nan_target_fails(run_validate: RunValidate, clean: pl.DataFrame) -> None:
    code, stderr = run_validate(set_value(clean, c.TOTAL_PROFIT, 5, math.nan))
    assert "column 'Total Profit' fails check 'not_nullable'" in error_line(code, stderr)


@pytest.mark.parametrize(
    ("validate", "message"),
    [
        ({"max_null_fraction": 2}, "params.yaml: validate.max_null_fraction: Input should be"),
        ({"severity": {"unseen_category": "loud"}}, "params.yaml: validate.severity"),
        ({"min_rows": 3}, "params.yaml: validate.min_rows: unknown key"),
    ],
)
def test_bad_params_are_one_line(
    run_validate: RunValidate, clean: pl.DataFrame, validate: dict[str, Any], message: str
) -> None:
    code, stderr = run_validate(clean, validate)
    assert error_line(code, stderr).startswith(f"error: {message}")
    assert not METRICS.exists()


def test_missing_inputs_are_one_line(
    validate_stage: ModuleType, project: Project, capsys: pytest.CaptureFixture[str]
) -> None:
    code = run_stage("validate", validate_stage.run, "", argv=["--params", project.params.name])
    line = error_line(code, capsys.readouterr().err)
    assert line == f"error: {PLAN}: file not found; run `dvc repro features` first"
