"""cumulative: orders (count) or column total (sum) of the group before this order."""

from __future__ import annotations

import polars as pl
import pytest

from features.helpers import column, compute, plan_for
from features.window_frame import WINDOW_FRAME, one_group
from features_pipeline.contracts.plan_file import Kind
from features_pipeline.errors import UserError


def cumulative(agg: str, **how: object) -> dict:
    return {"name": "cum", "type": "cumulative", "agg": agg, **how}


def test_count_of_earlier_orders_in_the_group() -> None:
    out = compute(WINDOW_FRAME, cumulative("count", by="g"))
    # a: rows 3, 1, 5, 0 -> 0, 1, 2, 3 ; b: rows 4, 2 -> 0, 1
    assert column(out, "cum") == [3, 1, 1, 0, 0, 2]
    assert out.schema["cum"] == pl.Int64


def test_count_without_by() -> None:
    # global order: rows 3, 4, 1, 2, 5, 0
    assert column(compute(WINDOW_FRAME, cumulative("count")), "cum") == [5, 2, 3, 0, 1, 4]


def test_sum_of_earlier_orders_excludes_the_current_one() -> None:
    out = compute(WINDOW_FRAME, cumulative("sum", column="x", by=["g"]))
    assert column(out, "cum") == [14, 4, 0, 0, 0, 6]
    assert out.schema["cum"] == pl.Int64


def test_a_null_value_adds_nothing_and_does_not_blank_later_totals() -> None:
    out = compute(one_group([1.0, None, 2.0, 5.0]), cumulative("sum", column="x"))
    assert column(out, "cum") == [0.0, 1.0, 1.0, 3.0]
    assert out.schema["cum"] == pl.Float64


def test_sum_needs_a_column() -> None:
    assert plan_for([cumulative("count")], WINDOW_FRAME)["cum"].kind is Kind.WINDOW
    with pytest.raises(UserError) as info:
        plan_for([cumulative("sum", by="g")], WINDOW_FRAME)
    assert str(info.value) == (
        "spec.yaml: feature 'cum' (cumulative): key 'column': missing (agg 'sum' needs a column)"
    )


def test_an_unsupported_agg_is_named() -> None:
    with pytest.raises(UserError) as info:
        plan_for([cumulative("mean", column="x")], WINDOW_FRAME)
    assert str(info.value) == (
        "spec.yaml: feature 'cum' (cumulative): key 'agg': Input should be 'count' or 'sum'"
        " (got 'mean')"
    )
