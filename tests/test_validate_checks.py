"""Validation of the feature table on in-memory frames: each kind of bad data, caught and named."""

from __future__ import annotations

import json
import math
from collections.abc import Callable
from pathlib import Path
from typing import Any

import polars as pl
import pytest
import sales_columns as c
from sales_columns import SALES, sales_plan

from features_pipeline.contracts.params import ModelInputsParams, ParamsFile
from features_pipeline.contracts.plan_file import (
    ModelInputs,
    PlanFile,
    model_inputs,
    parse_plan_file,
)
from features_pipeline.contracts.split import SPLIT, TEST, TRAIN
from features_pipeline.errors import UserError
from features_pipeline.features.engine import fit_transform
from features_pipeline.ingest.reference import SALES_CHANNELS
from features_pipeline.ingest.split import assign_split
from features_pipeline.ingest.synthetic import generate_sales
from features_pipeline.validation.cross_split import CONSTANT_IN_TRAIN, UNSEEN_CATEGORY
from features_pipeline.validation.metrics import validation_metrics
from features_pipeline.validation.params import ValidateParams
from features_pipeline.validation.schema import (
    MODEL_INPUT,
    TARGET_FINITE,
    UNIQUE,
    WINDOW_INPUT,
    parse_dtype,
)
from features_pipeline.validation.validator import (
    ValidationResult,
    validate_feature_table,
    validation_error,
    warning_lines,
)

REPO_ROOT = Path(__file__).resolve().parents[1]
ROWS = 2000
MODEL_INPUTS = ("unit_margin", "revenue_per_unit", "country_share", "prev_units", c.ITEM_TYPE)

PLAN_JSON: dict[str, Any] = {
    "target": c.TOTAL_PROFIT,
    "spec": "config/features.yaml",
    "levels": [["unit_margin", "revenue_per_unit", "profit_share", "country_share", "prev_units"]],
    "features": {
        "unit_margin": {
            "type": "arithmetic",
            "kind": "row-wise",
            "dtype": "Float64",
            "inputs": [c.UNIT_PRICE, c.UNIT_COST],
            "depends_on_target": False,
            "target_derived": False,
        },
        "revenue_per_unit": {
            "type": "ratio",
            "kind": "row-wise",
            "dtype": "Float64",
            "inputs": [c.TOTAL_REVENUE, c.UNITS_SOLD],
            "depends_on_target": False,
            "target_derived": False,
        },
        "profit_share": {
            "type": "ratio",
            "kind": "row-wise",
            "dtype": "Float64",
            "inputs": [c.TOTAL_PROFIT, c.TOTAL_REVENUE],
            "depends_on_target": True,
            "target_derived": True,
        },
        "country_share": {
            "type": "frequency",
            "kind": "fitted",
            "dtype": "Float64",
            "inputs": [c.COUNTRY],
            "depends_on_target": False,
            "target_derived": False,
        },
        "prev_units": {
            "type": "lag",
            "kind": "window",
            "dtype": "Int64",
            "inputs": [c.UNITS_SOLD, c.ORDER_DATE, c.ORDER_ID, c.REGION],
            "depends_on_target": False,
            "target_derived": False,
        },
    },
}


def feature_table(rows: int = ROWS, seed: int = 5) -> pl.DataFrame:
    """An interim table with the five features of PLAN_JSON, as the features stage writes it."""
    sales = assign_split(generate_sales(rows, seed), "random", 0.25, 42, SALES)
    train_counts = sales.filter(pl.col(SPLIT) == TRAIN).group_by(c.COUNTRY).len()
    share = train_counts.select(c.COUNTRY, (pl.col("len") / pl.col("len").sum()).alias("share"))
    return (
        sales.join(share, on=c.COUNTRY, how="left", maintain_order="left")
        .with_columns(
            unit_margin=pl.col(c.UNIT_PRICE) - pl.col(c.UNIT_COST),
            revenue_per_unit=pl.col(c.TOTAL_REVENUE) / pl.col(c.UNITS_SOLD),
            profit_share=pl.col(c.TOTAL_PROFIT) / pl.col(c.TOTAL_REVENUE),
            country_share=pl.col("share").fill_null(0.0),
            prev_units=pl.col(c.UNITS_SOLD)
            .shift(1)
            .over(c.REGION, order_by=[c.ORDER_DATE, c.ORDER_ID]),
        )
        .drop("share")
        .select(pl.exclude(SPLIT), pl.col(SPLIT))
    )


def plan() -> PlanFile:
    return parse_plan_file(PLAN_JSON, "plan.json")


def small_params(**overrides: Any) -> ValidateParams:
    return ValidateParams.model_validate({"min_rows_per_split": 10, **overrides})


def validate(
    frame: pl.DataFrame,
    inputs: tuple[str, ...] = MODEL_INPUTS,
    params: ValidateParams | None = None,
    the_plan: PlanFile | None = None,
) -> ValidationResult:
    return validate_feature_table(
        frame,
        the_plan or plan(),
        ModelInputs(c.TOTAL_PROFIT, inputs),
        params or small_params(),
        c.SALES,
    )


def at(frame: pl.DataFrame, split: str, nth: int = 0) -> int:
    """The 0-based index of the ``nth`` row of ``split``."""
    return frame.with_row_index().filter(pl.col(SPLIT) == split)["index"][nth]


def set_value(frame: pl.DataFrame, column: str, index: int, value: Any) -> pl.DataFrame:
    """``frame`` with one cell replaced (dtype kept)."""
    series = frame.get_column(column).clone()
    series[index] = value
    return frame.with_columns(series)


def failing(result: ValidationResult) -> list[tuple[str, str]]:
    """Distinct (column, check) pairs of the errors, in report order."""
    pairs = result.errors.select("column", "check").unique(maintain_order=True)
    return [(column, check) for column, check in pairs.iter_rows()]


def summary(result: ValidationResult) -> str:
    return validation_error(result, "features.parquet", "reports/failures.csv").message


@pytest.fixture(scope="module")
def clean() -> pl.DataFrame:
    return feature_table()


# --- a clean table --------------------------------------------------------------------------


def test_clean_table_passes_every_check(clean: pl.DataFrame) -> None:
    result = validate(clean)
    assert result.passed, result.cases
    assert result.cases.height == 0
    assert result.checks_failed == 0
    assert result.checks_warned == 0
    assert result.checks_run > 50
    train, test = [(clean.get_column(SPLIT) == split).sum() for split in (TRAIN, TEST)]
    assert result.rows == {TRAIN: train, TEST: test, "total": ROWS}


def test_lagged_window_input_may_be_null_in_train_rows(clean: pl.DataFrame) -> None:
    first_of_region = clean.filter(pl.col(SPLIT) == TRAIN, pl.col("prev_units").is_null())
    assert first_of_region.height > 0  # no history: the lag is null, and that is expected
    assert validate(clean).passed


def test_window_nulls_fail_when_not_allowed(clean: pl.DataFrame) -> None:
    result = validate(clean, params=small_params(allow_null_window_inputs=False))
    assert failing(result) == [("prev_units", MODEL_INPUT)]
    assert result.errors["value"].unique().to_list() == ["null"]


def test_shipped_spec_output_passes(tmp_path: Path) -> None:
    """The lead's engine and plan.json (via JSON) with the shipped spec: a clean run passes."""
    the_plan = sales_plan(REPO_ROOT / "config" / "features.yaml")
    table, _ = fit_transform(
        assign_split(generate_sales(10_000, 1), "random", 0.2, 42, SALES), the_plan
    )
    payload = json.loads(json.dumps(the_plan.to_plan_file().to_json()))
    parsed = parse_plan_file(payload, "plan.json")
    inputs = read_model_inputs({}, parsed, tmp_path / "params.yaml")
    assert set(inputs.features) == set(the_plan.names) - set(the_plan.target_derived)
    result = validate(table, inputs.features, small_params(), parsed)
    assert result.passed, result.cases
    assert result.cases.height == 0


# --- each kind of failure -----------------------------------------------------------------


def test_null_in_a_model_input_train_row(clean: pl.DataFrame) -> None:
    row = at(clean, TRAIN, 3)
    result = validate(set_value(clean, "unit_margin", row, None))
    assert not result.passed
    assert failing(result) == [("unit_margin", MODEL_INPUT)]
    assert result.errors.row(0) == ("unit_margin", MODEL_INPUT, "null", row + 1)
    assert summary(result).startswith(
        f"features.parquet: column 'unit_margin' fails check '{MODEL_INPUT}' "
        f"in 1 row(s) (row {row + 1}: 'null')"
    )


def test_null_in_a_model_input_test_row_is_only_counted(clean: pl.DataFrame) -> None:
    result = validate(set_value(clean, "unit_margin", at(clean, TEST), None))
    assert result.passed
    assert result.missing["unit_margin"] == 1


def test_nan_in_a_model_input_train_row(clean: pl.DataFrame) -> None:
    result = validate(set_value(clean, "country_share", at(clean, TRAIN), math.nan))
    assert failing(result) == [("country_share", MODEL_INPUT)]
    assert result.errors["value"].to_list() == ["NaN"]
    assert result.missing["country_share"] == 1


def test_inf_from_a_division_in_train_and_test_rows(clean: pl.DataFrame) -> None:
    train_row, test_row = at(clean, TRAIN, 1), at(clean, TEST, 1)
    units = set_value(set_value(clean, c.UNITS_SOLD, train_row, 0), c.UNITS_SOLD, test_row, 0)
    divided = units.with_columns(revenue_per_unit=pl.col(c.TOTAL_REVENUE) / pl.col(c.UNITS_SOLD))
    result = validate(divided)
    assert ("revenue_per_unit", MODEL_INPUT) in failing(result)
    assert ("Units Sold", "Units Sold > 0") in failing(result)  # the raw contract, carried over
    inf = result.errors.filter(pl.col("column") == "revenue_per_unit")
    assert inf.select("value", "row").rows() == [("inf", train_row + 1), ("inf", test_row + 1)]


def test_inf_in_a_window_input_fails_even_where_nulls_are_allowed(clean: pl.DataFrame) -> None:
    frame = clean.with_columns(pl.col("prev_units").cast(pl.Float64))
    the_plan = parse_plan_file(
        {**PLAN_JSON, "features": {**PLAN_JSON["features"], "prev_units": {
            **PLAN_JSON["features"]["prev_units"], "dtype": "Float64"}}},
        "plan.json",
    )  # fmt: skip
    result = validate(set_value(frame, "prev_units", at(frame, TRAIN), math.inf), the_plan=the_plan)
    assert failing(result) == [("prev_units", WINDOW_INPUT)]


def test_nan_in_a_window_input_train_row_fails(clean: pl.DataFrame) -> None:
    frame = clean.with_columns(pl.col("prev_units").cast(pl.Float64))
    the_plan = parse_plan_file(
        {**PLAN_JSON, "features": {**PLAN_JSON["features"], "prev_units": {
            **PLAN_JSON["features"]["prev_units"], "dtype": "Float64"}}},
        "plan.json",
    )  # fmt: skip
    assert validate(frame, the_plan=the_plan).passed  # nulls: no history yet
    result = validate(set_value(frame, "prev_units", at(frame, TRAIN), math.nan), the_plan=the_plan)
    assert failing(result) == [("prev_units", WINDOW_INPUT)]


def test_nan_in_a_model_input_test_row_is_only_counted(clean: pl.DataFrame) -> None:
    result = validate(set_value(clean, "unit_margin", at(clean, TEST), math.nan))
    assert result.passed
    assert result.missing["unit_margin"] == 1


def test_missing_feature_column(clean: pl.DataFrame) -> None:
    result = validate(clean.drop("country_share"))
    assert failing(result) == [("country_share", "column_in_dataframe")]
    assert summary(result).startswith(
        "features.parquet: missing required column(s) 'country_share' "
    )


def test_missing_model_input_that_is_not_a_feature(clean: pl.DataFrame) -> None:
    result = validate(clean, inputs=(*MODEL_INPUTS, "discount"))
    assert failing(result) == [("discount", "column_in_dataframe")]


def test_wrong_dtype(clean: pl.DataFrame) -> None:
    result = validate(clean.with_columns(pl.col("country_share").cast(pl.Float32)))
    assert failing(result) == [("country_share", "dtype('Float64')")]
    assert result.errors.row(0)[2] == "Float32"


def test_wrong_dtype_of_a_string_model_input_is_reported_not_crashed(clean: pl.DataFrame) -> None:
    result = validate(clean.with_columns(pl.col("unit_margin").cast(pl.String)))
    assert failing(result) == [("unit_margin", "dtype('Float64')")]


def test_empty_test_split(clean: pl.DataFrame) -> None:
    result = validate(clean.with_columns(pl.lit(TRAIN).alias(SPLIT)))
    assert failing(result) == [(SPLIT, "at least 10 rows per split")]
    assert result.errors["value"].to_list() == ["test: 0 rows"]
    assert result.rows[TEST] == 0
    assert summary(result).startswith(
        "features.parquet: column 'split' fails check 'at least 10 rows per split' ('test: 0 rows')"
    )


def test_too_few_rows_in_a_split(clean: pl.DataFrame) -> None:
    result = validate(clean, params=small_params(min_rows_per_split=1000))
    assert result.errors["value"].to_list() == [f"test: {result.rows[TEST]} rows"]


def test_unknown_split_value(clean: pl.DataFrame) -> None:
    result = validate(set_value(clean, SPLIT, 7, "validation"))
    assert failing(result) == [(SPLIT, "one of ['train', 'test']")]
    assert result.errors.row(0)[2:] == ("validation", 8)


def test_duplicated_order_id(clean: pl.DataFrame) -> None:
    duplicate = clean.get_column(c.ORDER_ID)[0]
    result = validate(set_value(clean, c.ORDER_ID, 9, duplicate))
    assert failing(result) == [(c.ORDER_ID, UNIQUE)]
    assert result.errors.select("value", "row").rows() == [
        (str(duplicate), 1),
        (str(duplicate), 10),
    ]


def test_raw_contract_value_checks_are_carried_over(clean: pl.DataFrame) -> None:
    result = validate(set_value(clean, c.SALES_CHANNEL, 4, "Telepathy"))
    assert failing(result) == [(c.SALES_CHANNEL, f"one of {list(SALES_CHANNELS)}")]


def test_target_must_be_present_and_finite(clean: pl.DataFrame) -> None:
    assert (c.TOTAL_PROFIT, "column_in_dataframe") in failing(validate(clean.drop(c.TOTAL_PROFIT)))
    infinite = validate(set_value(clean, c.TOTAL_PROFIT, at(clean, TEST), math.inf))
    assert (c.TOTAL_PROFIT, TARGET_FINITE) in failing(infinite)


def test_null_fraction_above_the_limit_only_warns_for_a_feature_the_model_never_reads(
    clean: pl.DataFrame,
) -> None:
    """profit_share is no model input: a sparse helper feature is reported, not fatal."""
    mostly_null = clean.with_columns(
        profit_share=pl.when(pl.int_range(pl.len()) % 4 == 0).then("profit_share")
    )
    result = validate(mostly_null, params=small_params(max_null_fraction=0.5))
    assert result.passed
    assert result.warnings.filter(pl.col("column") == "profit_share").select(
        "check", "value"
    ).rows() == [("null fraction <= 0.5", f"0.750 ({ROWS * 3 // 4} of {ROWS} rows)")]


def test_null_fraction_above_the_limit_fails_for_a_model_input(clean: pl.DataFrame) -> None:
    mostly_null = clean.with_columns(
        prev_units=pl.when(pl.int_range(pl.len()) % 4 == 0).then("prev_units")
    )
    result = validate(mostly_null, params=small_params(max_null_fraction=0.5))
    assert ("prev_units", "null fraction <= 0.5") in failing(result)


# --- cross-split checks ---------------------------------------------------------------------


def with_unseen_country(frame: pl.DataFrame) -> tuple[pl.DataFrame, int]:
    row = at(frame, TEST, 2)
    return set_value(frame, c.COUNTRY, row, "Atlantis"), row


def test_unseen_category_in_test_is_a_warning(clean: pl.DataFrame) -> None:
    frame, row = with_unseen_country(clean)
    result = validate(frame)
    assert result.passed
    assert result.checks_warned == 1
    assert result.warnings.rows() == [(c.COUNTRY, UNSEEN_CATEGORY, "Atlantis", row + 1)]
    assert warning_lines(result.warnings) == [
        f"1 test value(s) of 'Country' unseen in train ('Atlantis' (row {row + 1}))"
    ]


def test_warning_lines_name_the_problem_not_the_rule_that_passes() -> None:
    cases = pl.DataFrame(
        [("Country", UNSEEN_CATEGORY, f"Land{i}", i + 1) for i in range(7)]
        + [
            ("unit_margin", CONSTANT_IN_TRAIN, "1.5", None),
            ("prev_units", "null fraction <= 0.5", "0.800 (8 of 10 rows)", None),
            (SPLIT, "test fraction in [0.05, 0.1]", "0.200 (2 of 10)", None),
            ("x", "unique", "3", 4),
        ],
        schema=["column", "check", "value", "row"],
        orient="row",
    )
    assert warning_lines(cases) == [
        "7 test value(s) of 'Country' unseen in train ('Land0' (row 1), 'Land1' (row 2),"
        " 'Land2' (row 3), ...)",
        "'unit_margin' has one value in every train row ('1.5'): nothing to learn from",
        "'prev_units' is null/NaN in more than 0.5 of the rows ('0.800 (8 of 10 rows)')",
        "the test rows' share ('0.200 (2 of 10)') is outside [0.05, 0.1]",
        "column 'x' fails check 'unique' in 1 case(s) ('3' (row 4))",
    ]
    assert not any("no category unseen" in line for line in warning_lines(cases))


@pytest.mark.parametrize(
    "params",
    [{"severity": {"unseen_category": "error"}}, {"warnings_fail": True}],
    ids=["severity-error", "warnings-fail"],
)
def test_unseen_category_fails_when_params_say_so(
    clean: pl.DataFrame, params: dict[str, Any]
) -> None:
    frame, row = with_unseen_country(clean)
    result = validate(frame, params=small_params(**params))
    assert not result.passed
    assert result.errors.rows() == [(c.COUNTRY, UNSEEN_CATEGORY, "Atlantis", row + 1)]
    assert summary(result).startswith(
        f"features.parquet: column 'Country' fails check '{UNSEEN_CATEGORY}' in 1 row(s) "
        f"(row {row + 1}: 'Atlantis')"
    )


def test_unseen_category_check_can_be_turned_off(clean: pl.DataFrame) -> None:
    frame, _ = with_unseen_country(clean)
    on, off = (
        validate(frame),
        validate(frame, params=small_params(severity={"unseen_category": "off"})),
    )
    assert off.checks_warned == 0
    assert off.checks_run < on.checks_run


def test_a_value_seen_in_train_is_not_unseen(clean: pl.DataFrame) -> None:
    train_country = clean.filter(pl.col(SPLIT) == TRAIN)[c.COUNTRY][0]
    result = validate(set_value(clean, c.COUNTRY, at(clean, TEST), train_country))
    assert result.checks_warned == 0


def test_constant_model_input_in_train_is_a_warning(clean: pl.DataFrame) -> None:
    constant = clean.with_columns(
        unit_margin=pl.when(pl.col(SPLIT) == TRAIN).then(1.5).otherwise("unit_margin")
    )
    result = validate(constant)
    assert result.passed
    assert result.warnings.rows() == [("unit_margin", CONSTANT_IN_TRAIN, "1.5", None)]


def test_test_fraction_outside_the_range_is_a_warning(clean: pl.DataFrame) -> None:
    result = validate(clean, params=small_params(max_test_fraction=0.1))
    assert result.passed
    assert result.warnings.select("column", "check").rows() == [
        (SPLIT, "test fraction in [0.05, 0.1]")
    ]


# --- collected in one run, counted, summarised ----------------------------------------------


def test_every_failure_is_collected_in_one_run(clean: pl.DataFrame) -> None:
    frame = set_value(clean, "unit_margin", at(clean, TRAIN), None)
    frame = set_value(frame, c.ORDER_ID, 3, frame.get_column(c.ORDER_ID)[0])
    frame = frame.drop("country_share").with_columns(pl.lit(TRAIN).alias(SPLIT))
    result = validate(frame)
    assert set(failing(result)) == {
        ("country_share", "column_in_dataframe"),
        (c.ORDER_ID, UNIQUE),
        ("unit_margin", MODEL_INPUT),
        (SPLIT, "at least 10 rows per split"),
    }
    assert result.checks_failed == 4
    assert summary(result).endswith(
        "; and 3 more failing check(s) (all 5 failure case(s): reports/failures.csv)"
    )


def test_metrics_count_rows_checks_and_nulls(clean: pl.DataFrame) -> None:
    frame, _ = with_unseen_country(set_value(clean, "unit_margin", at(clean, TRAIN), None))
    result = validate(frame)
    metrics = validation_metrics(result)
    assert metrics["rows"] == result.rows
    checks = metrics["checks"]
    assert (checks["failed"], checks["warned"]) == (1, 1)
    assert checks["passed"] == checks["run"] - 2
    assert metrics["failure_cases"] == 1
    assert set(metrics["nulls"]) == set(PLAN_JSON["features"]) | {c.ITEM_TYPE}
    assert metrics["nulls"]["unit_margin"] == 1
    assert metrics["nulls"]["prev_units"] == frame["prev_units"].null_count()
    json.dumps(metrics)  # JSON-ready


def test_results_are_deterministic(clean: pl.DataFrame) -> None:
    frame, _ = with_unseen_country(set_value(clean, c.ORDER_ID, 3, clean[c.ORDER_ID][0]))
    first, second = validate(frame), validate(frame)
    assert first.cases.equals(second.cases)
    assert validation_metrics(first) == validation_metrics(second)


def test_validation_error_carries_the_failure_table(clean: pl.DataFrame) -> None:
    result = validate(set_value(clean, c.ORDER_ID, 3, clean[c.ORDER_ID][0]))
    error = validation_error(result, "features.parquet", "r.csv")
    assert isinstance(error, UserError)
    assert error.details is not None
    assert error.details.columns == ["column", "check", "value", "row"]
    assert error.details.height == 2


# --- plan, params, dtypes -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [("Float64", pl.Float64()), ("Int8", pl.Int8()), ("String", pl.String()), ("Date", pl.Date())],
)
def test_parse_simple_dtypes(text: str, expected: pl.DataType) -> None:
    assert parse_dtype(text) == expected


@pytest.mark.parametrize("text", ["Datetime(time_unit='us', time_zone=None)", "col", "Nope", ""])
def test_parameterised_or_unknown_dtypes_are_not_parsed(text: str) -> None:
    assert parse_dtype(text) is None


def test_parameterised_dtype_is_compared_as_text(clean: pl.DataFrame) -> None:
    stamp = "Datetime(time_unit='us', time_zone=None)"
    the_plan = parse_plan_file(
        {
            "target": c.TOTAL_PROFIT,
            "features": {
                **PLAN_JSON["features"],
                "ordered_at": {"dtype": stamp, "target_derived": False},
            },
        },
        "plan.json",
    )
    frame = clean.with_columns(ordered_at=pl.col(c.ORDER_DATE).cast(pl.Datetime("us")))
    assert validate(frame, the_plan=the_plan).passed
    wrong = frame.with_columns(pl.col("ordered_at").cast(pl.Datetime("ms")))
    assert failing(validate(wrong, the_plan=the_plan)) == [("ordered_at", f"dtype('{stamp}')")]


@pytest.mark.parametrize(
    ("payload", "message"),
    [
        ([], "plan.json: expected a JSON object, got list"),
        ({"target": "y"}, "plan.json: features: Field required"),
        ({"features": {}}, "plan.json: target: Field required"),
        ({"target": "y", "features": {"a": {}}}, "plan.json: features.a.dtype: Field required"),
        (
            {"target": "y", "features": {"a": {"dtype": 3}}},
            "plan.json: features.a.dtype: Input should be",
        ),
    ],
)
def test_malformed_plan_is_a_user_error(payload: Any, message: str) -> None:
    with pytest.raises(UserError) as caught:
        parse_plan_file(payload, "plan.json")
    assert caught.value.message.startswith(message)


ReadInputs = Callable[[dict[str, Any]], ModelInputs]


def read_model_inputs(raw: dict[str, Any], plan: PlanFile, path: Path) -> ModelInputs:
    """``train.features`` of a params mapping and the contract's target, as validate resolves
    them."""
    section = ParamsFile(path, raw).section("train", ModelInputsParams)
    return model_inputs(section, plan, str(path), c.SALES.target, ())


@pytest.fixture
def read_inputs() -> ReadInputs:
    return lambda raw: read_model_inputs(raw, plan(), Path("params.yaml"))


def test_model_inputs_default_to_features_not_derived_from_the_target(
    read_inputs: ReadInputs,
) -> None:
    inputs = read_inputs({"train": {"model": {"name": "ridge"}}})
    assert inputs == ModelInputs(
        c.TOTAL_PROFIT, ("unit_margin", "revenue_per_unit", "country_share", "prev_units")
    )


def test_model_inputs_from_train_features(read_inputs: ReadInputs) -> None:
    raw = {"train": {"features": ["unit_margin", c.REGION]}}
    assert read_inputs(raw).features == ("unit_margin", c.REGION)


@pytest.mark.parametrize(
    ("train", "message"),
    [
        (["unit_margin"], "params.yaml: train: expected a mapping, got list"),
        ({"features": "unit_margin"}, "params.yaml: train.features: Input should be a valid tuple"),
        ({"features": ["a", "a"]}, "params.yaml: train.features: 'a' is listed twice"),
        ({"target": "Total Revenue"}, "params.yaml: train: the target is declared in the dataset"),
    ],
)
def test_bad_train_keys_are_user_errors(read_inputs: ReadInputs, train: Any, message: str) -> None:
    with pytest.raises(UserError) as caught:
        read_inputs({"train": train})
    assert caught.value.message.startswith(message)


def test_test_fraction_range_must_be_ordered() -> None:
    with pytest.raises(ValueError, match="min_test_fraction"):
        ValidateParams(min_test_fraction=0.6, max_test_fraction=0.5)
