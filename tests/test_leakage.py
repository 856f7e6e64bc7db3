"""Leakage found in the data: inputs equal to (or exact linear functions of) the target, and
target encodings keyed on (nearly) unique columns, are refused with the evidence."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import polars as pl
import pytest
import sales_columns as c
import yaml
from sales_columns import SALES
from support import REPO_ROOT

from features_pipeline.contracts.plan_file import PlanFile
from features_pipeline.contracts.split import SPLIT, TRAIN
from features_pipeline.errors import UserError
from features_pipeline.features.engine import fit_transform
from features_pipeline.features.plan import build_plan
from features_pipeline.features.spec import parse_features
from features_pipeline.ingest.split import assign_split
from features_pipeline.ingest.synthetic import generate_sales
from features_pipeline.model.leakage import (
    check_leakage,
    encoding_leaks,
    leakage_columns,
    linear_leaks,
)

TARGET = c.TOTAL_PROFIT


def entry(kind: str, inputs: list[str], depends: bool, type_: str = "group_agg") -> dict[str, Any]:
    return {"type": type_, "kind": kind, "dtype": "Float64", "inputs": inputs,
            "depends_on_target": depends, "target_derived": False}  # fmt: skip


PLAN = PlanFile.model_validate(
    {
        "target": TARGET,
        "features": {
            "profit_by_order": entry("fitted", [TARGET, c.ORDER_ID], True),
            "profit_by_item": entry("fitted", [TARGET, c.ITEM_TYPE], True),
            "units_by_order": entry("fitted", [c.UNITS_SOLD, c.ORDER_ID], False),
            # row-wise features computed from outcome columns or the target itself
            "revenue_minus_cost": entry(
                "row-wise", [c.TOTAL_REVENUE, c.TOTAL_COST], False, "arithmetic"
            ),
            "twice_plus_three": entry("row-wise", [TARGET], True, "arithmetic"),
            "negated": entry("row-wise", [TARGET], True, "arithmetic"),
        },
    }
)


@pytest.fixture(scope="module")
def table() -> pl.DataFrame:
    """A hand-made feature table of 200 orders (profit not linear in any single raw column)."""
    rng = np.random.default_rng(7)
    n = 200
    units = rng.integers(1, 1000, n).astype(np.float64)
    price = rng.uniform(10, 100, n)
    cost = price * rng.uniform(0.3, 0.9, n)
    revenue, total_cost = units * price, units * cost
    profit = revenue - total_cost
    items = rng.choice(["Fruits", "Meat", "Snacks"], n)
    by_item = pl.DataFrame({"i": items, "p": profit}).group_by("i").agg(pl.col("p").mean())
    mean_profit = dict(by_item.iter_rows())
    return pl.DataFrame(
        {
            c.ORDER_ID: np.arange(n, dtype=np.int64) + 100_000_000,
            c.ITEM_TYPE: items,
            c.UNITS_SOLD: units,
            c.TOTAL_REVENUE: revenue,
            c.TOTAL_COST: total_cost,
            TARGET: profit,
            "revenue_minus_cost": revenue - total_cost,
            "twice_plus_three": 2 * profit + 3,
            "negated": -profit / 7.5,
            "noisy": profit + rng.normal(0, 1, n),
            "profit_by_order": profit,
            "profit_by_item": [mean_profit[i] for i in items],
            "units_by_order": units,
        }
    )


@pytest.mark.parametrize(
    ("feature", "slope", "intercept"),
    [("revenue_minus_cost", "a=1,", "b=0"), ("twice_plus_three", "a=0.5,", "b=-1.5")],
)
def test_an_exact_linear_function_of_the_target_is_refused(
    table: pl.DataFrame, feature: str, slope: str, intercept: str
) -> None:
    with pytest.raises(UserError) as caught:
        check_leakage(table, [c.UNITS_SOLD, feature], TARGET, PLAN, outcome=c.SALES.outcome_columns)
    message = caught.value.message
    assert message.startswith(f"params.yaml: train.features: {feature!r} is an exact linear ")
    assert f"target {TARGET!r} on the 200 train rows" in message
    assert slope in message
    assert intercept in message
    assert "remove it from train.features" in message
    assert "\n" not in message


def test_a_decreasing_linear_function_and_the_target_copy_are_found(table: pl.DataFrame) -> None:
    leaks = linear_leaks(table, ["negated", "profit_by_order", "noisy", c.UNITS_SOLD], TARGET)
    assert [leak.feature for leak in leaks] == ["negated", "profit_by_order"]
    assert leaks[0].slope == pytest.approx(-7.5)


def test_close_but_inexact_and_ordinary_inputs_pass(table: pl.DataFrame) -> None:
    check_leakage(
        table,
        [c.ITEM_TYPE, c.UNITS_SOLD, c.TOTAL_REVENUE, "noisy"],
        TARGET,
        PLAN,
        outcome=c.SALES.outcome_columns,
    )


def test_too_few_rows_and_constant_inputs_prove_nothing(table: pl.DataFrame) -> None:
    assert not linear_leaks(table.head(5), ["twice_plus_three"], TARGET)
    constant = table.with_columns(pl.lit(4.0).alias("constant"))
    assert not linear_leaks(constant, ["constant"], TARGET)


def test_a_target_encoding_keyed_on_the_order_id_is_refused(table: pl.DataFrame) -> None:
    rows = table.drop("profit_by_order").with_columns(
        pl.col(TARGET).rank().alias("profit_by_order")  # not linear: only the keys give it away
    )
    with pytest.raises(UserError) as caught:
        check_leakage(rows, ["profit_by_order"], TARGET, PLAN, outcome=c.SALES.outcome_columns)
    message = caught.value.message
    assert "'profit_by_order' is learned from the target" in message
    assert f"by {c.ORDER_ID!r}" in message
    assert "100% of its groups (200 of 200)" in message


def test_coarse_encodings_and_encodings_not_of_the_target_pass(table: pl.DataFrame) -> None:
    check_leakage(
        table, ["profit_by_item", "units_by_order"], TARGET, PLAN, outcome=c.SALES.outcome_columns
    )
    assert not encoding_leaks(table, ["profit_by_item", "units_by_order"], TARGET, PLAN)


def test_leakage_columns_include_the_encoding_keys() -> None:
    columns = leakage_columns(["profit_by_order", c.UNITS_SOLD], TARGET, PLAN)
    assert columns == ["profit_by_order", c.UNITS_SOLD, TARGET, c.ORDER_ID]


def shipped_train_rows(rows: int = 10_000) -> tuple[pl.DataFrame, PlanFile, list[str]]:
    """The shipped feature spec and train.features on the shipped synthetic sample."""
    params = yaml.safe_load((REPO_ROOT / "params.yaml").read_text(encoding="utf-8"))
    spec = yaml.safe_load(Path(REPO_ROOT / params["features"]["spec"]).read_text("utf-8"))
    interim = assign_split(
        generate_sales(rows, seed=params["ingest"]["seed"]), "random", 0.2, 42, SALES
    )
    plan = build_plan(
        parse_features(spec["features"], "spec"),
        interim.schema,
        TARGET,
        "spec",
        order=c.SALES_ORDER,
    )
    table, _ = fit_transform(interim, plan)
    return table.filter(pl.col(SPLIT) == TRAIN), plan.to_plan_file(), params["train"]["features"]


def test_the_shipped_inputs_are_accepted_with_a_note_on_the_exact_predictor() -> None:
    """Synthetic orders have one unit margin per Item Type, so expected_profit (Units Sold x
    median unit margin per item) IS Total Profit exactly: found, but computed from what is
    known before the sale (no target, no outcome column), so a note, not a refusal."""
    rows, plan, features = shipped_train_rows()
    leaks = linear_leaks(rows, features, TARGET)
    assert [leak.feature for leak in leaks] == ["expected_profit"]
    notes = check_leakage(rows, features, TARGET, plan, outcome=c.SALES.outcome_columns)
    assert len(notes) == 1
    assert "'expected_profit' predicts 'Total Profit' exactly" in notes[0]
