"""The planner: dependency levels, cycles, output dtypes and target dependence, before any data."""

from __future__ import annotations

import polars as pl
import pytest

from features.helpers import plan_for
from features_pipeline.contracts.plan_file import Kind
from features_pipeline.errors import UserError


def log(name: str, column: str) -> dict:
    return {"name": name, "type": "log", "column": column}


def add(name: str, left: str, right: str) -> dict:
    return {"name": name, "type": "arithmetic", "op": "add", "left": left, "right": right}


def mean_by(name: str, column: str, by: str | list[str]) -> dict:
    return {"name": name, "type": "group_agg", "column": column, "by": by, "agg": "mean"}


# declared out of dependency order on purpose
LAYERED = [
    add("c", "a", "b"),
    log("a", "Units Sold"),
    {"name": "b", "type": "arithmetic", "op": "multiply", "left": "a", "constant": 2},
    mean_by("d", "c", "Country"),
    {"name": "e", "type": "date_part", "column": "Order Date", "part": "year"},
    add("f", "e", "a"),
]


def test_levels_follow_dependencies_and_keep_spec_order_within_a_level() -> None:
    plan = plan_for(LAYERED)
    assert [[p.name for p in level] for level in plan.levels] == [
        ["a", "e"],
        ["b", "f"],
        ["c"],
        ["d"],
    ]
    assert plan.names == ["a", "e", "b", "f", "c", "d"]
    assert {p.name: p.level for p in plan.features} == {
        "a": 0,
        "e": 0,
        "b": 1,
        "f": 1,
        "c": 2,
        "d": 3,
    }


def test_output_dtypes_flow_through_levels() -> None:
    plan = plan_for(LAYERED)
    assert {p.name: p.dtype for p in plan.features} == {
        "a": pl.Float64,
        "e": pl.Int64,
        "b": pl.Float64,
        "f": pl.Float64,  # Int64 + Float64
        "c": pl.Float64,
        "d": pl.Float64,
    }
    assert plan.output_schema["d"] == pl.Float64
    assert plan.output_schema["Units Sold"] == pl.Int64


def test_a_diamond_is_not_a_cycle() -> None:
    plan = plan_for([log("a", "Units Sold"), log("b", "a"), log("c", "a"), add("d", "b", "c")])
    assert [[p.name for p in level] for level in plan.levels] == [["a"], ["b", "c"], ["d"]]


def test_a_three_cycle_names_the_first_feature_its_key_and_the_path() -> None:
    specs = [
        log("x", "Units Sold"),
        log("a", "b"),
        {"name": "b", "type": "ratio", "numerator": "Units Sold", "denominator": "c"},
        mean_by("c", "Units Sold", ["Country", "a"]),
    ]
    with pytest.raises(UserError) as info:
        plan_for(specs)
    assert str(info.value) == "spec.yaml: feature 'a' (log): key 'column': dependency cycle " + (
        "a -> b -> c -> a"
    )


def test_a_cycle_entered_through_a_by_key() -> None:
    specs = [mean_by("c", "Units Sold", ["Country", "a"]), log("a", "b"), log("b", "c")]
    with pytest.raises(UserError) as info:
        plan_for(specs)
    assert str(info.value) == (
        "spec.yaml: feature 'c' (group_agg): key 'by': dependency cycle c -> a -> b -> c"
    )


def test_a_feature_reading_itself_is_a_cycle() -> None:
    with pytest.raises(UserError) as info:
        plan_for([log("a", "a")])
    assert str(info.value) == "spec.yaml: feature 'a' (log): key 'column': dependency cycle a -> a"


TARGET_SPECS = [
    log("units", "Units Sold"),
    {
        "name": "margin",
        "type": "ratio",
        "numerator": "Total Profit",
        "denominator": "Total Revenue",
    },
    {"name": "band", "type": "bucket", "column": "margin", "edges": [0.1, 0.3]},
    log("log_band", "band"),
    mean_by("profit_by_item", "Total Profit", "Item Type"),
    {
        "name": "expected",
        "type": "arithmetic",
        "op": "multiply",
        "left": "Units Sold",
        "right": "profit_by_item",
    },
    mean_by("margin_by_item", "margin", "Item Type"),
    mean_by("units_by_band", "Units Sold", ["Country", "band"]),
    {"name": "profit_share", "type": "frequency", "column": "Total Profit"},
    {"name": "profit_quartile", "type": "bucket", "column": "Total Profit", "quantiles": 4},
    {"name": "prev_profit", "type": "lag", "column": "Total Profit", "by": "Country"},
]

# name -> (depends_on_target, target_derived)
TARGET_MARKS = {
    "units": (False, False),
    "margin": (True, True),  # row-wise from the target
    "band": (True, True),  # transitively
    "log_band": (True, True),  # two steps away
    "profit_by_item": (True, False),  # learned from train targets: fine as a model input
    "expected": (True, False),  # row-wise from a fitted target feature
    "margin_by_item": (True, False),  # fitted on a target-derived column: learned only
    "units_by_band": (True, True),  # joined on a target-derived key: needs the row's target
    "profit_share": (True, True),  # looked up by the row's own target value
    "profit_quartile": (True, True),  # bins the row's own target value
    "prev_profit": (True, True),  # window features are computed, not learned
}


@pytest.mark.parametrize(("name", "marks"), TARGET_MARKS.items())
def test_target_dependence_marks(name: str, marks: tuple[bool, bool]) -> None:
    planned = plan_for(TARGET_SPECS)[name]
    assert (planned.depends_on_target, planned.target_derived) == marks


def test_target_derived_lists_the_columns_that_must_never_be_model_inputs() -> None:
    plan = plan_for(TARGET_SPECS)
    expected = [name for name, (_, derived) in TARGET_MARKS.items() if derived]
    assert sorted(plan.target_derived) == sorted(expected)


def test_the_target_is_a_parameter() -> None:
    plan = plan_for(TARGET_SPECS, target="Units Sold")
    assert plan["units"].target_derived
    assert not plan["margin"].depends_on_target
    assert plan["expected"].target_derived  # Units Sold is read row-wise


def test_kinds_and_window_features() -> None:
    plan = plan_for(TARGET_SPECS)
    assert plan.window_features == ["prev_profit"]
    assert plan.names_of(Kind.FITTED) == [
        "profit_by_item",
        "profit_share",
        "profit_quartile",
        "margin_by_item",
        "units_by_band",
    ]


def test_to_dict_is_the_plan_json_contract() -> None:
    specs = [
        mean_by("avg", "units_log", "Country"),
        log("units_log", "Units Sold"),
        {
            "name": "margin",
            "type": "ratio",
            "numerator": "Total Profit",
            "denominator": "Total Revenue",
        },
    ]
    assert plan_for(specs).to_plan_file().to_json() == {
        "target": "Total Profit",
        "spec": "spec.yaml",
        "levels": [["units_log", "margin"], ["avg"]],
        "features": {
            "units_log": {
                "type": "log",
                "kind": "row-wise",
                "dtype": "Float64",
                "inputs": ["Units Sold"],
                "level": 0,
                "depends_on_target": False,
                "target_derived": False,
            },
            "margin": {
                "type": "ratio",
                "kind": "row-wise",
                "dtype": "Float64",
                "inputs": ["Total Profit", "Total Revenue"],
                "level": 0,
                "depends_on_target": True,
                "target_derived": True,
            },
            "avg": {
                "type": "group_agg",
                "kind": "fitted",
                "dtype": "Float64",
                "inputs": ["units_log", "Country"],
                "level": 1,
                "depends_on_target": False,
                "target_derived": False,
            },
        },
    }
