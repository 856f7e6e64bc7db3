"""arithmetic: two columns or a column and a constant; integer results stay integers."""

from __future__ import annotations

import polars as pl
import pytest

from features.helpers import column, compute, plan_for
from features_pipeline.errors import UserError

FRAME = pl.DataFrame(
    {
        "a": [6, 0, -3, None],
        "b": [3, 0, 2, 1],
        "x": [1.5, 0.0, 2.0, 4.0],
    }
)


def arith(op: str, left: str = "a", **operand: object) -> dict:
    return {"name": "f", "type": "arithmetic", "op": op, "left": left, **operand}


@pytest.mark.parametrize(
    ("spec", "expected", "dtype"),
    [
        (arith("add", right="b"), [9, 0, -1, None], pl.Int64),
        (arith("subtract", right="b"), [3, 0, -5, None], pl.Int64),
        (arith("multiply", right="b"), [18, 0, -6, None], pl.Int64),
        (arith("subtract", right="x"), [4.5, 0.0, -5.0, None], pl.Float64),
        (arith("add", "x", right="a"), [7.5, 0.0, -1.0, None], pl.Float64),
        (arith("multiply", constant=2), [12, 0, -6, None], pl.Int64),
        (arith("multiply", constant=0.5), [3.0, 0.0, -1.5, None], pl.Float64),
        (arith("subtract", constant=1), [5, -1, -4, None], pl.Int64),
        (arith("divide", right="b"), [2.0, None, -1.5, None], pl.Float64),
        (arith("divide", right="b", on_zero="zero"), [2.0, 0.0, -1.5, None], pl.Float64),
        (arith("divide", constant=4), [1.5, 0.0, -0.75, None], pl.Float64),
        (arith("divide", constant=0), [None, None, None, None], pl.Float64),
        (arith("divide", constant=0, on_zero="zero"), [0.0, 0.0, 0.0, None], pl.Float64),
    ],
)
def test_values_and_dtype(spec: dict, expected: list[object], dtype: type[pl.DataType]) -> None:
    out = compute(FRAME, spec)
    assert column(out, "f") == expected
    assert out.schema["f"] == dtype


def test_a_feature_can_be_an_operand() -> None:
    doubled = arith("multiply", constant=2)
    plus_b = {"name": "g", "type": "arithmetic", "op": "add", "left": "f", "right": "b"}
    assert column(compute(FRAME, plus_b, doubled), "g") == [15, 0, -4, None]


@pytest.mark.parametrize("operands", [{}, {"right": "b", "constant": 1}])
def test_exactly_one_right_operand(operands: dict) -> None:
    with pytest.raises(UserError) as info:
        plan_for([arith("add", **operands)], FRAME)
    assert str(info.value) == (
        "spec.yaml: feature 'f' (arithmetic): "
        "give exactly one of 'right' (a column) or 'constant' (a number)"
    )


def test_an_unsupported_op_names_the_key_and_the_choices() -> None:
    with pytest.raises(UserError) as info:
        plan_for([arith("power", right="b")], FRAME)
    assert str(info.value) == (
        "spec.yaml: feature 'f' (arithmetic): key 'op': "
        "Input should be 'add', 'subtract', 'multiply' or 'divide' (got 'power')"
    )
