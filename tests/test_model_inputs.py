"""Leakage refusal: the target and features computed from it never become model inputs."""

from __future__ import annotations

import re

import pytest
import sales_columns as c
from model_support import (
    DEFAULT_FEATURES,
    ITEM_PROFIT_MEAN,
    PLAN_JSON,
    PROFIT_LAG,
    PROFIT_SHARE,
    feature_table,
    plan,
    train_params,
)
from sales_columns import SALES

from features_pipeline.contracts.params import ModelInputsParams
from features_pipeline.contracts.plan_file import model_inputs, parse_plan_file
from features_pipeline.contracts.split import SPLIT
from features_pipeline.errors import UserError
from features_pipeline.model.inputs import check_model_inputs
from features_pipeline.model.train import prepare, train_model


@pytest.fixture(scope="module")
def columns() -> list[str]:
    return feature_table(50).columns


def check(features: list[str], columns: list[str], target: str = c.TOTAL_PROFIT) -> list[str]:
    return check_model_inputs(features, target, columns, plan(), outcome=c.SALES.outcome_columns)


def test_default_inputs_pass(columns: list[str]) -> None:
    assert check(list(DEFAULT_FEATURES), columns) == []


def test_the_target_itself_is_refused(columns: list[str]) -> None:
    with pytest.raises(UserError) as caught:
        check([c.UNITS_SOLD, c.TOTAL_PROFIT], columns)
    assert str(caught.value) == (
        "params.yaml: train.features: 'Total Profit' is the target itself; "
        "remove it from the inputs"
    )


def test_a_row_wise_feature_of_the_target_is_refused_naming_it_and_why(
    columns: list[str],
) -> None:
    with pytest.raises(UserError) as caught:
        check([c.UNITS_SOLD, PROFIT_SHARE], columns)
    message = str(caught.value)
    assert f"{PROFIT_SHARE!r} is computed row by row (ratio) from the target 'Total Profit'" in (
        message
    )
    assert "would not exist at prediction time" in message


def test_a_window_feature_of_the_target_is_refused(columns: list[str]) -> None:
    with pytest.raises(UserError, match=f"{PROFIT_LAG!r} is a window feature \\(lag\\)"):
        check([PROFIT_LAG], columns)


def test_a_fitted_target_encoding_is_allowed(columns: list[str]) -> None:
    assert check([c.ITEM_TYPE, ITEM_PROFIT_MEAN], columns) == []


def test_split_and_unknown_columns_are_refused(columns: list[str]) -> None:
    with pytest.raises(UserError, match="'split' is the train/test marker"):
        check([SPLIT], columns)
    with pytest.raises(UserError, match="unknown column 'Units Sould' — did you mean 'Units Sold'"):
        check(["Units Sould"], columns)


def test_a_contract_target_other_than_the_plans_is_refused() -> None:
    """The contract's target changed after the features stage ran: re-run it, says the line."""
    params = ModelInputsParams(features=(c.UNITS_SOLD,))
    with pytest.raises(UserError, match=r"differs from the feature plan's target .* re-run"):
        model_inputs(params, plan(), "params.yaml", c.TOTAL_REVENUE, ())


def test_inputs_the_table_cannot_have_are_left_out_with_a_warning(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """An optional column the table lacks, and a feature dropped for it, leave the inputs with
    one warning line each; the rest are kept."""
    dropped = parse_plan_file({**PLAN_JSON, "dropped": {"priority_code": c.ORDER_PRIORITY}}, "p")
    params = ModelInputsParams(features=(c.UNITS_SOLD, c.ORDER_PRIORITY, "priority_code"))
    inputs = model_inputs(params, dropped, "params.yaml", c.TOTAL_PROFIT, (c.ORDER_PRIORITY,))
    assert inputs.features == (c.UNITS_SOLD,)
    warnings = [r.getMessage() for r in caplog.records if r.levelname == "WARNING"]
    assert warnings == [
        "train.features: 'Order Priority' left out: this table does not have that column "
        "(optional in the dataset contract)",
        "train.features: 'priority_code' left out: it needs column 'Order Priority', which "
        "this table does not have",
    ]


def test_omitted_features_mean_the_same_inputs_for_validate_and_train() -> None:
    """One answer for "train.features omitted": every feature not derived from the target."""
    table = feature_table(200)
    params = train_params().model_copy(update={"features": None})
    expected = plan().safe_inputs
    assert model_inputs(params, plan(), "params.yaml", c.TOTAL_PROFIT, ()).features == expected
    assert set(expected) & {PROFIT_SHARE, PROFIT_LAG} == set()
    assert prepare(table.schema, params, plan(), SALES).inputs.features == expected


def test_outcome_columns_recorded_with_the_target_are_a_warning(columns: list[str]) -> None:
    notes = check([c.UNITS_SOLD, c.TOTAL_REVENUE, c.TOTAL_COST], columns)
    assert len(notes) == 1
    assert "'Total Revenue', 'Total Cost'" in notes[0]


def test_training_refuses_before_fitting_anything() -> None:
    table = feature_table(100)
    params = train_params(features=[*DEFAULT_FEATURES, PROFIT_SHARE])
    with pytest.raises(UserError, match=PROFIT_SHARE):
        train_model(table, params, plan(), dataset=SALES)


def test_a_malformed_plan_is_a_user_error() -> None:
    with pytest.raises(UserError, match=re.escape("plan.json: expected a JSON object, got list")):
        parse_plan_file([], "plan.json")
    # a plan that does not say whether a feature is target-derived is never taken as safe
    broken = {**PLAN_JSON, "features": {"x": {"type": "ratio", "dtype": "Float64"}}}
    with pytest.raises(UserError, match=re.escape("features.x.target_derived: Field required")):
        parse_plan_file(broken, "plan.json")


def test_duplicate_features_in_params_are_refused() -> None:
    from pydantic import ValidationError

    with pytest.raises(ValidationError, match="listed twice"):
        train_params(features=[c.UNITS_SOLD, c.UNITS_SOLD])


def test_window_features_are_listed_for_predict() -> None:
    assert plan().window_features([c.UNITS_SOLD, PROFIT_LAG]) == [PROFIT_LAG]
