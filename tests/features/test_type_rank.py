"""rank: rank within by-groups with tie methods, descending order and percentiles."""

from __future__ import annotations

import polars as pl
import pytest

from features.helpers import column, compute, plan_for
from features_pipeline.contracts.plan_file import Kind
from features_pipeline.errors import UserError

FRAME = pl.DataFrame(
    {
        "g": ["a", "a", "a", "a", "a", "b", "b"],
        "x": [30, 20, 10, 20, None, 7, 7],
        "id": [1, 5, 2, 3, 4, 6, 7],
    }
)


def rank(**how: object) -> dict:
    return {"name": "r", "type": "rank", "column": "x", **how}


@pytest.mark.parametrize(
    ("method", "expected", "dtype"),
    [
        ("average", [4.0, 2.5, 1.0, 2.5, None], pl.Float64),
        ("min", [4, 2, 1, 2, None], pl.Int64),
        ("max", [4, 3, 1, 3, None], pl.Int64),
        ("dense", [3, 2, 1, 2, None], pl.Int64),
        ("ordinal", [4, 3, 1, 2, None], pl.Int64),  # ties in tie_breaker order (id 5 after 3)
    ],
)
def test_tie_methods(method: str, expected: list[object], dtype: type[pl.DataType]) -> None:
    out = compute(FRAME.head(5), rank(method=method, tie_breaker="id"))
    assert column(out, "r") == expected
    assert out.schema["r"] == dtype


def test_ordinal_descending_breaks_ties_by_the_tie_breaker_ascending() -> None:
    out = compute(FRAME.head(5), rank(method="ordinal", descending=True, tie_breaker="id"))
    assert column(out, "r") == [1, 3, 4, 2, None]


def test_default_method_is_average_and_descending_flips_the_order() -> None:
    out = compute(FRAME.head(5), rank(descending=True))
    assert column(out, "r") == [1.0, 2.5, 4.0, 2.5, None]


def test_percentile_is_rank_over_the_non_null_count() -> None:
    out = compute(FRAME.head(5), rank(percentile=True))
    assert column(out, "r") == [1.0, 0.625, 0.25, 0.625, None]
    assert out.schema["r"] == pl.Float64


def test_ranks_restart_in_each_by_group() -> None:
    out = compute(FRAME, rank(by="g", method="min"), {**rank(by=["g"]), "name": "avg"})
    assert column(out, "r") == [4, 2, 1, 2, None, 1, 1]
    assert column(out, "avg") == [4.0, 2.5, 1.0, 2.5, None, 1.5, 1.5]


def test_percentile_within_groups() -> None:
    out = compute(FRAME, rank(by="g", percentile=True, method="max"))
    assert column(out, "r") == [1.0, 0.75, 0.25, 0.75, None, 1.0, 1.0]


def test_is_a_window_feature_and_refuses_an_unknown_method() -> None:
    assert plan_for([rank()], FRAME)["r"].kind is Kind.WINDOW
    with pytest.raises(UserError) as info:
        plan_for([rank(method="first")], FRAME)
    assert str(info.value) == (
        "spec.yaml: feature 'r' (rank): key 'method': Input should be 'average', 'min', 'max',"
        " 'dense' or 'ordinal' (got 'first')"
    )
