"""log: ln(1 + x) of a non-negative column; negative inputs are refused by name."""

from __future__ import annotations

import math

import polars as pl
import pytest

from features.helpers import column, compute, fit, plan_for
from features_pipeline.errors import UserError
from features_pipeline.features.engine import transform

SPEC = {"name": "lg", "type": "log", "column": "x"}


def test_values_of_log1p_with_nulls() -> None:
    frame = pl.DataFrame({"x": [0, 9, None, 1]})
    out = compute(frame, SPEC)
    values = column(out, "lg")
    assert values[0] == 0.0
    assert values[1] == pytest.approx(math.log(10))
    assert values[2] is None
    assert values[3] == pytest.approx(math.log(2))
    assert out.schema["lg"] == pl.Float64


def test_negative_inputs_are_refused_with_rows_and_values() -> None:
    frame = pl.DataFrame({"x": [1.0, -0.5, 3.0, -2.0, -1.0, -7.0]})
    with pytest.raises(UserError) as info:
        compute(frame, SPEC)
    assert str(info.value) == (
        "spec.yaml: feature 'lg' (log): column 'x' has 4 negative value(s) "
        "(row 2: -0.5, row 4: -2.0, row 5: -1.0); log(1 + x) needs x >= 0"
    )


def test_negative_test_rows_are_refused_too() -> None:
    frame = pl.DataFrame({"x": [1, 2, -3], "split": ["train", "train", "test"]})
    with pytest.raises(UserError, match=r"column 'x' has 1 negative value\(s\) \(row 3: -3\)"):
        compute(frame, SPEC)


def test_negative_new_rows_are_refused_at_transform() -> None:
    _, state = fit(pl.DataFrame({"x": [1, 2]}), SPEC)
    with pytest.raises(UserError, match=r"feature 'lg' \(log\): column 'x' has 1 negative"):
        transform(pl.DataFrame({"x": [5, -1]}), state)


def test_a_non_numeric_column_is_refused() -> None:
    with pytest.raises(UserError) as info:
        plan_for([SPEC], {"x": pl.String()})
    assert str(info.value) == (
        "spec.yaml: feature 'lg' (log): key 'column': column 'x' is String, not numeric"
    )
