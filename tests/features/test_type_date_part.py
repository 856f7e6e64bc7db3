"""date_part: calendar parts of a date; weekday is 1 (Monday) .. 7 (Sunday)."""

from __future__ import annotations

import polars as pl
import pytest

from features.helpers import column, compute, day, plan_for
from features_pipeline.errors import UserError

DATES = ["2024-02-29", "2023-12-31", "2021-01-04", "2020-12-31", "2010-07-01"]
FRAME = pl.DataFrame(
    {"d": [*(day(text) for text in DATES), None], "n": [1, 2, 3, 4, 5, 6]},
    schema={"d": pl.Date, "n": pl.Int64},
)


@pytest.mark.parametrize(
    ("part", "expected"),
    [
        ("year", [2024, 2023, 2021, 2020, 2010, None]),
        ("quarter", [1, 4, 1, 4, 3, None]),
        ("month", [2, 12, 1, 12, 7, None]),
        ("day", [29, 31, 4, 31, 1, None]),
        ("weekday", [4, 7, 1, 4, 4, None]),  # Thu, Sun, Mon, Thu, Thu
        ("day_of_year", [60, 365, 4, 366, 182, None]),
    ],
)
def test_each_part(part: str, expected: list[int | None]) -> None:
    out = compute(FRAME, {"name": "p", "type": "date_part", "column": "d", "part": part})
    assert column(out, "p") == expected
    assert out.schema["p"] == pl.Int64


def test_datetime_columns_work_too() -> None:
    frame = FRAME.with_columns(pl.col("d").cast(pl.Datetime("us")))
    out = compute(frame, {"name": "p", "type": "date_part", "column": "d", "part": "month"})
    assert column(out, "p") == [2, 12, 1, 12, 7, None]


def test_an_unsupported_part_lists_the_choices() -> None:
    with pytest.raises(UserError) as info:
        plan_for([{"name": "p", "type": "date_part", "column": "d", "part": "week"}], FRAME)
    assert str(info.value) == (
        "spec.yaml: feature 'p' (date_part): key 'part': Input should be 'year', 'quarter', "
        "'month', 'day', 'weekday' or 'day_of_year' (got 'week')"
    )


def test_a_non_date_column_is_refused() -> None:
    with pytest.raises(UserError) as info:
        plan_for([{"name": "p", "type": "date_part", "column": "n", "part": "year"}], FRAME)
    assert str(info.value) == (
        "spec.yaml: feature 'p' (date_part): key 'column': column 'n' is Int64, not a date"
    )
