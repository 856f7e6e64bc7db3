"""rolling: mean/sum over the previous ``window`` orders of the group (current row excluded)."""

from __future__ import annotations

import polars as pl
import pytest

from features.helpers import column, compute, plan_for
from features.window_frame import WINDOW_FRAME, one_group
from features_pipeline.contracts.plan_file import Kind
from features_pipeline.errors import UserError


def rolling(window: int = 2, **how: object) -> dict:
    return {"name": "roll", "type": "rolling", "column": "x", "window": window, **how}


@pytest.mark.parametrize(
    ("how", "expected"),
    [
        # group a in order: x 4 (row 3), 2 (row 1), 8 (row 5), 1 (row 0); b: null, 3
        ({"by": "g"}, [5.0, 4.0, None, None, None, 3.0]),
        ({"by": "g", "agg": "sum"}, [10.0, 4.0, None, None, None, 6.0]),
        ({"by": "g", "min_periods": 2}, [5.0, None, None, None, None, 3.0]),
        ({"by": "g", "window": 3}, [14 / 3, 4.0, None, None, None, 3.0]),
        ({"by": "g", "window": 1}, [8.0, 4.0, None, None, None, 2.0]),
    ],
)
def test_previous_orders_only(how: dict, expected: list[float | None]) -> None:
    out = compute(WINDOW_FRAME, rolling(**how))
    assert column(out, "roll") == pytest.approx(expected)
    assert out.schema["roll"] == pl.Float64


def test_nulls_in_the_history_are_skipped() -> None:
    frame = one_group([1.0, None, 4.0, 8.0])
    assert column(compute(frame, rolling()), "roll") == [None, 1.0, 1.0, 4.0]
    assert column(compute(frame, rolling(agg="sum")), "roll") == [None, 1.0, 1.0, 4.0]


def test_without_by_the_whole_frame_is_one_history() -> None:
    # global order: rows 3 (4), 4 (null), 1 (2), 2 (3), 5 (8), 0 (1)
    out = compute(WINDOW_FRAME, rolling(agg="sum"))
    assert column(out, "roll") == [11.0, 4.0, 2.0, None, 4.0, 5.0]


def test_is_a_window_feature_with_validated_window() -> None:
    assert plan_for([rolling()], WINDOW_FRAME)["roll"].kind is Kind.WINDOW
    with pytest.raises(UserError) as info:
        plan_for([rolling(window="five")], WINDOW_FRAME)
    assert str(info.value) == (
        "spec.yaml: feature 'roll' (rolling): key 'window': Input should be a valid integer,"
        " unable to parse string as an integer (got 'five')"
    )
    with pytest.raises(UserError, match=r"key 'agg': Input should be 'mean' or 'sum'"):
        plan_for([rolling(agg="max")], WINDOW_FRAME)
