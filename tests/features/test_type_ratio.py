"""ratio: float division with a declared policy for zero denominators; nulls stay null."""

from __future__ import annotations

import math

import polars as pl
import pytest

from features.helpers import column, compute, plan_for
from features_pipeline.contracts.plan_file import Kind
from features_pipeline.errors import UserError

FRAME = pl.DataFrame(
    {
        "num": [6, 1, -2, 0, None, 5, None],
        "den": [4, 0, 0, 0, 2, None, 0],
        "text": ["a"] * 7,
    }
)


def ratio(on_zero: str | None = None) -> dict:
    spec = {"name": "r", "type": "ratio", "numerator": "num", "denominator": "den"}
    return spec if on_zero is None else {**spec, "on_zero": on_zero}


def test_integer_columns_divide_as_floats() -> None:
    out = compute(FRAME, ratio())
    assert column(out, "r")[0] == 1.5
    assert out.schema["r"] == pl.Float64


@pytest.mark.parametrize(
    ("on_zero", "expected"),
    [
        (None, [1.5, None, None, None, None, None, None]),  # default: null
        ("null", [1.5, None, None, None, None, None, None]),
        ("zero", [1.5, 0.0, 0.0, 0.0, None, None, None]),
    ],
)
def test_zero_denominator_policy(on_zero: str | None, expected: list[float | None]) -> None:
    assert column(compute(FRAME, ratio(on_zero)), "r") == expected


def test_inf_policy_keeps_ieee_results() -> None:
    values = column(compute(FRAME, ratio("inf")), "r")
    assert values[:3] == [1.5, math.inf, -math.inf]
    assert math.isnan(values[3])  # 0 / 0
    assert values[4:] == [None, None, None]


def test_a_null_numerator_over_zero_stays_null_under_every_policy() -> None:
    for policy in ("null", "zero", "inf"):
        assert column(compute(FRAME, ratio(policy)), "r")[6] is None, policy


def test_is_row_wise_and_refuses_non_numeric_columns() -> None:
    assert plan_for([ratio()], FRAME)["r"].kind is Kind.ROW
    spec = {"name": "r", "type": "ratio", "numerator": "num", "denominator": "text"}
    with pytest.raises(UserError) as info:
        plan_for([spec], FRAME)
    assert str(info.value) == (
        "spec.yaml: feature 'r' (ratio): key 'denominator': column 'text' is String, not numeric"
    )


def test_an_unknown_policy_lists_the_allowed_ones() -> None:
    with pytest.raises(UserError) as info:
        plan_for([ratio("nan")], FRAME)
    assert str(info.value) == (
        "spec.yaml: feature 'r' (ratio): key 'on_zero': Input should be 'null', 'zero' or 'inf'"
        " (got 'nan')"
    )
