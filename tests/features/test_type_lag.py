"""lag: the value ``periods`` orders earlier in the group, by Order Date then Order ID."""

from __future__ import annotations

import polars as pl
import pytest

from features.helpers import column, compute, plan_for
from features.window_frame import WINDOW_FRAME
from features_pipeline.contracts.plan_file import Kind
from features_pipeline.errors import UserError


def lag(**how: object) -> dict:
    return {"name": "lag", "type": "lag", "column": "x", **how}


def test_previous_order_in_the_group_with_order_id_breaking_date_ties() -> None:
    out = compute(WINDOW_FRAME, lag(by="g"))
    # a: 3 -> 1 -> 5 -> 0 ; b: 4 -> 2 (the previous value of row 2 is null)
    assert column(out, "lag") == [8, 4, None, None, None, 2]
    assert out.schema["lag"] == pl.Int64


def test_more_periods() -> None:
    assert column(compute(WINDOW_FRAME, lag(by="g", periods=2)), "lag") == [
        2,
        None,
        None,
        None,
        None,
        4,
    ]


def test_without_by_the_whole_frame_is_one_history() -> None:
    # global order: rows 3, 4, 1, 2, 5, 0
    assert column(compute(WINDOW_FRAME, lag()), "lag") == [8, None, 2, None, 4, 3]


def test_multi_key_groups() -> None:
    out = compute(WINDOW_FRAME, lag(by=["g", "g2"]))
    # (a, x): rows 1, 5, 0 ; (a, y): row 3 ; (b, x): rows 4, 2
    assert column(out, "lag") == [8, None, None, None, None, 2]


def test_custom_order_and_the_output_keeps_the_input_row_order() -> None:
    out = compute(WINDOW_FRAME, lag(order_by="seq", tie_breaker="Order ID"))
    # seq descends with row order, so the "previous" order is the next row
    assert column(out, "lag") == [2, 3, 4, None, 8, None]
    assert out.select(WINDOW_FRAME.columns).equals(WINDOW_FRAME)


def test_float_columns_keep_their_dtype() -> None:
    frame = WINDOW_FRAME.with_columns(pl.col("x").cast(pl.Float64))
    assert compute(frame, lag()).schema["lag"] == pl.Float64


def test_is_a_window_feature_and_needs_the_order_column() -> None:
    assert plan_for([lag()], WINDOW_FRAME)["lag"].kind is Kind.WINDOW
    with pytest.raises(UserError) as info:
        plan_for([lag()], WINDOW_FRAME.drop("Order Date"))
    assert str(info.value) == (
        "spec.yaml: feature 'lag' (lag): key 'order_by': unknown column 'Order Date'"
        " — did you mean 'Order ID'?"
    )


def test_periods_must_be_positive() -> None:
    with pytest.raises(UserError) as info:
        plan_for([lag(periods=0)], WINDOW_FRAME)
    assert str(info.value) == (
        "spec.yaml: feature 'lag' (lag): key 'periods': "
        "Input should be greater than or equal to 1 (got 0)"
    )
