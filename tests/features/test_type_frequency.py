"""frequency: the share of training rows having this row's value; unseen values get fill."""

from __future__ import annotations

import polars as pl
import pytest

from features.helpers import column, compute, fit, plan_for
from features_pipeline.contracts.plan_file import Kind
from features_pipeline.errors import UserError

# train: a a a b <null>  -> a 3/5, b 1/5; the test rows (many b, one c) must not count
FRAME = pl.DataFrame(
    {
        "k": ["a", "b", "a", None, "a", "b", "b", "b", "c"],
        "split": ["train"] * 5 + ["test"] * 4,
    }
)


def freq(name: str = "f", **extra: object) -> dict:
    return {"name": name, "type": "frequency", "column": "k", **extra}


def test_share_of_training_rows_with_the_value() -> None:
    out = compute(FRAME, freq())
    assert column(out, "f") == [0.6, 0.2, 0.6, None, 0.6, 0.2, 0.2, 0.2, None]
    assert out.schema["f"] == pl.Float64


def test_unseen_values_get_the_fill() -> None:
    assert column(compute(FRAME, freq(fill=0.0)), "f")[-1] == 0.0


def test_learned_table_holds_train_shares_only() -> None:
    _, state = fit(FRAME, freq())
    (table,) = state.tables
    shares = dict(table.table.iter_rows())
    assert shares == {"a": 0.6, "b": 0.2, None: 0.2}
    assert "c" not in shares


def test_numeric_and_string_columns_are_both_accepted() -> None:
    frame = pl.DataFrame({"k": [1, 1, 2, 2, 2, 3, 3, 3]})
    out = compute(frame, freq())
    assert column(out, "f") == [0.25, 0.25, 0.375, 0.375, 0.375, 0.375, 0.375, 0.375]


def test_is_fitted_and_names_an_unknown_column() -> None:
    assert plan_for([freq()], FRAME)["f"].kind is Kind.FITTED
    with pytest.raises(UserError) as info:
        plan_for([{"name": "f", "type": "frequency", "column": "kk"}], FRAME)
    assert str(info.value) == (
        "spec.yaml: feature 'f' (frequency): key 'column': unknown column 'kk' — did you mean 'k'?"
    )
