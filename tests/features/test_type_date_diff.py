"""date_diff: whole days from start to end (negative when end is earlier)."""

from __future__ import annotations

import polars as pl
import pytest

from features.helpers import column, compute, day, plan_for
from features_pipeline.errors import UserError

FRAME = pl.DataFrame(
    {
        "start": [day("2024-02-28"), day("2020-01-10"), day("2020-03-01"), None, day("2019-12-31")],
        "end": [day("2024-03-01"), day("2020-01-03"), day("2020-03-01"), day("2020-01-01"), None],
        "n": [1, 2, 3, 4, 5],
    }
)
SPEC = {"name": "days", "type": "date_diff", "start": "start", "end": "end"}


def test_days_between_including_leap_days_negative_zero_and_nulls() -> None:
    out = compute(FRAME, SPEC)
    assert column(out, "days") == [2, -7, 0, None, None]
    assert out.schema["days"] == pl.Int64


def test_a_non_date_column_is_refused_by_key() -> None:
    with pytest.raises(UserError) as info:
        plan_for([{**SPEC, "end": "n"}], FRAME)
    assert str(info.value) == (
        "spec.yaml: feature 'days' (date_diff): key 'end': column 'n' is Int64, not a date"
    )


def test_a_missing_end_is_named() -> None:
    with pytest.raises(UserError) as info:
        plan_for([{"name": "days", "type": "date_diff", "start": "start"}], FRAME)
    assert str(info.value) == "spec.yaml: feature 'days' (date_diff): key 'end': missing"
