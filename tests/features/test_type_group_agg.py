"""group_agg: aggregates learned per key on train rows only, joined back to every row."""

from __future__ import annotations

import math

import polars as pl
import pytest

from features.helpers import column, compute, fit, plan_for
from features_pipeline.contracts.plan_file import Kind
from features_pipeline.errors import UserError

# rows 0-4 train, 5-7 test; the test rows carry extreme values that must not be learned
FRAME = pl.DataFrame(
    {
        "k": ["a", "a", "b", "b", None, "a", "c", "b"],
        "k2": ["x", "y", "x", "x", "x", "x", "x", "z"],
        "v": [1.0, 3.0, None, 4.0, 5.0, 100.0, 7.0, 50.0],
        "n": [1, 2, 3, 7, 4, 500, 6, 900],
        "split": ["train"] * 5 + ["test"] * 3,
    }
)


def agg(name: str, agg: str, value: str = "v", by: object = "k", **extra: object) -> dict:
    return {"name": name, "type": "group_agg", "column": value, "by": by, "agg": agg, **extra}


@pytest.mark.parametrize(
    ("how", "value", "expected", "dtype"),
    [
        # train: a -> v [1, 3], n [1, 2]; b -> v [null, 4], n [3, 7]; null key -> v 5, n 4
        ("mean", "v", [2.0, 2.0, 4.0, 4.0, None, 2.0, None, 4.0], pl.Float64),
        ("sum", "n", [3, 3, 10, 10, None, 3, None, 10], pl.Int64),
        ("sum", "v", [4.0, 4.0, 4.0, 4.0, None, 4.0, None, 4.0], pl.Float64),
        ("count", "v", [2, 2, 1, 1, None, 2, None, 1], pl.Int64),  # nulls are not counted
        ("min", "n", [1, 1, 3, 3, None, 1, None, 3], pl.Int64),
        ("max", "n", [2, 2, 7, 7, None, 2, None, 7], pl.Int64),
        ("max", "v", [3.0, 3.0, 4.0, 4.0, None, 3.0, None, 4.0], pl.Float64),
        ("median", "n", [1.5, 1.5, 5.0, 5.0, None, 1.5, None, 5.0], pl.Float64),
    ],
)
def test_each_aggregation_is_learned_on_train_rows_per_key(
    how: str, value: str, expected: list[object], dtype: type[pl.DataType]
) -> None:
    out = compute(FRAME, agg("f", how, value))
    assert column(out, "f") == expected
    assert out.schema["f"] == dtype


def test_std_of_a_group_with_one_value_is_null() -> None:
    values = column(compute(FRAME, agg("f", "std")), "f")
    assert values[0] == pytest.approx(math.sqrt(2))  # std of [1, 3] (sample, ddof=1)
    assert values[2] is None  # b has one non-null training value
    assert values[6] is None  # unseen key


def test_unseen_and_null_keys_get_null_or_the_declared_fill() -> None:
    out = compute(FRAME, agg("plain", "mean"), agg("filled", "mean", fill=-1.0))
    assert column(out, "plain")[4:7] == [None, 2.0, None]
    assert column(out, "filled") == [2.0, 2.0, 4.0, 4.0, -1.0, 2.0, -1.0, 4.0]


def test_count_with_fill_zero_stays_an_integer_column() -> None:
    out = compute(FRAME, agg("f", "count", fill=0))
    assert column(out, "f") == [2, 2, 1, 1, 0, 2, 0, 1]
    assert out.schema["f"] == pl.Int64


def test_multi_key_by_needs_the_whole_combination_seen_in_training() -> None:
    out = compute(FRAME, agg("f", "sum", "n", by=["k", "k2"]))
    # (b, z) is unseen as a pair although b and z were each seen alone
    assert column(out, "f") == [1, 2, 10, 10, None, 1, None, None]


def test_by_as_a_string_or_a_one_element_list_is_the_same() -> None:
    as_text = compute(FRAME, agg("f", "mean", by="k"))
    as_list = compute(FRAME, agg("f", "mean", by=["k"]))
    assert as_text.equals(as_list)


def test_test_rows_never_reach_the_learned_table() -> None:
    _, state = fit(FRAME, agg("f", "max", "n"))
    (table,) = state.tables
    assert table.keys == ("k",)
    assert table.table.sort("k", nulls_last=True).to_dict(as_series=False) == {
        "k": ["a", "b", None],
        "f": [2, 7, 4],
    }


def test_learned_floats_are_rounded_to_12_significant_digits() -> None:
    frame = pl.DataFrame({"k": ["a", "a", "b", "b", "b"], "v": [0.1, 0.2, 1.0, 0.0, 0.0]})
    values = column(compute(frame, agg("s", "sum"), agg("m", "mean")).unique("k"), "s")
    assert sorted(values) == [0.3, 1.0]  # 0.1 + 0.2 is 0.30000000000000004 unrounded
    means = column(compute(frame, agg("m", "mean")), "m")
    assert means[2] == 0.333333333333


def test_is_a_fitted_feature_with_the_aggregate_dtype() -> None:
    plan = plan_for([agg("f", "sum", "n")], FRAME)
    assert plan["f"].kind is Kind.FITTED
    assert plan["f"].dtype == pl.Int64


def test_a_non_numeric_column_is_refused_except_for_count() -> None:
    with pytest.raises(UserError) as info:
        plan_for([agg("f", "mean", "k2")], FRAME)
    assert str(info.value) == (
        "spec.yaml: feature 'f' (group_agg): key 'column': column 'k2' is String, not numeric"
    )
    assert plan_for([agg("f", "count", "k2")], FRAME)["f"].dtype == pl.Int64


def test_an_empty_by_is_refused() -> None:
    with pytest.raises(UserError, match=r"feature 'f' \(group_agg\): key 'by': needs at least one"):
        plan_for([agg("f", "mean", by=[])], FRAME)
