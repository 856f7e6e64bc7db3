"""bucket: bin index by fixed edges (row-wise) or by quantile edges learned on train rows."""

from __future__ import annotations

import polars as pl
import pytest

from features.helpers import column, compute, fit, plan_for
from features_pipeline.contracts.plan_file import Kind
from features_pipeline.errors import UserError


def bucket(**how: object) -> dict:
    return {"name": "b", "type": "bucket", "column": "x", **how}


def test_fixed_edges_are_left_closed_bins() -> None:
    frame = pl.DataFrame({"x": [0.5, 1.0, 2.9, 3.0, 10.0, None, -4.0]})
    out = compute(frame, bucket(edges=[1, 3]))
    # below 1 -> 0, [1, 3) -> 1, 3 and above -> 2; null stays null
    assert column(out, "b") == [0, 1, 1, 2, 2, None, 0]
    assert out.schema["b"] == pl.Int64


def test_fixed_edges_on_an_integer_column() -> None:
    out = compute(pl.DataFrame({"x": [999, 1000, 4999, 5000]}), bucket(edges=[1000, 5000]))
    assert column(out, "b") == [0, 1, 1, 2]


def test_fixed_edges_are_row_wise_and_quantiles_are_fitted() -> None:
    schema = {"x": pl.Float64()}
    assert plan_for([bucket(edges=[1.0])], schema)["b"].kind is Kind.ROW
    assert plan_for([bucket(quantiles=4)], schema)["b"].kind is Kind.FITTED


# train values 1..8 (linear quartiles 2.75, 4.5, 6.25); test values are extreme on purpose
QUANTILE_FRAME = pl.DataFrame(
    {
        "x": [1, 2, 3, 4, 5, 6, 7, 8, 1000, -50, 4, None],
        "split": ["train"] * 8 + ["test"] * 4,
    }
)


def test_quantile_edges_are_learned_on_train_rows_only() -> None:
    out, state = fit(QUANTILE_FRAME, bucket(quantiles=4))
    (table,) = state.tables
    assert table.keys == ()
    assert table.table.row(0, named=True) == {
        "b__edge_1": 2.75,
        "b__edge_2": 4.5,
        "b__edge_3": 6.25,
    }
    assert column(out, "b") == [0, 0, 1, 1, 2, 2, 3, 3, 3, 0, 1, None]
    assert [name for name in out.columns if "__edge" in name] == []  # helpers are dropped


def test_changing_test_values_does_not_move_the_edges() -> None:
    _, state = fit(QUANTILE_FRAME, bucket(quantiles=4))
    changed = QUANTILE_FRAME.with_columns(
        pl.when(pl.col("split") == "test").then(pl.lit(-(10**6))).otherwise("x").alias("x")
    )
    _, changed_state = fit(changed, bucket(quantiles=4))
    assert changed_state.tables[0].table.equals(state.tables[0].table)


@pytest.mark.parametrize(
    ("how", "problem"),
    [
        ({"edges": [3, 1]}, "key 'edges': edges must be a non-empty, strictly increasing list"),
        ({"edges": []}, "key 'edges': edges must be a non-empty, strictly increasing list"),
        ({"edges": [1], "quantiles": 4}, "give exactly one of 'edges' (fixed) or 'quantiles'"),
        ({}, "give exactly one of 'edges' (fixed) or 'quantiles' (learned)"),
        ({"quantiles": 1}, "key 'quantiles': Input should be greater than or equal to 2 (got 1)"),
        ({"quantiles": 101}, "key 'quantiles': Input should be less than or equal to 100"),
        ({"edges": ["low"]}, "key 'edges.0': Input should be a valid number"),
    ],
)
def test_bad_edges_or_quantiles_are_named(how: dict, problem: str) -> None:
    with pytest.raises(UserError) as info:
        plan_for([bucket(**how)], {"x": pl.Float64()})
    assert str(info.value).startswith(f"spec.yaml: feature 'b' (bucket): {problem}")
