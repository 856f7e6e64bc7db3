"""The engine: planned == sequential, train-only fitting, transform == fit, state, determinism."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import polars as pl
import pytest
import sales_columns as c
from sales_columns import SALES, sales_plan
from support import Project, default_params, load_stage_module

from features.helpers import parquet_hash
from features_pipeline.contracts.plan_file import Kind
from features_pipeline.contracts.split import SPLIT
from features_pipeline.errors import UserError
from features_pipeline.features.engine import fit_transform, transform
from features_pipeline.features.plan import Plan
from features_pipeline.features.state import FittedState, load_state, save_state
from features_pipeline.ingest.split import assign_split
from features_pipeline.ingest.synthetic import generate_sales
from features_pipeline.runner import run_stage


@pytest.fixture(scope="module")
def plan(shipped_spec: Path, interim: pl.DataFrame) -> Plan:
    return sales_plan(shipped_spec, dict(interim.schema))


@pytest.fixture(scope="module")
def fitted(interim: pl.DataFrame, plan: Plan) -> tuple[pl.DataFrame, FittedState]:
    return fit_transform(interim, plan)


def fitted_names(plan: Plan) -> list[str]:
    return plan.names_of(Kind.FITTED)


def non_window(plan: Plan) -> list[str]:
    return [name for name in plan.names if name not in plan.window_features]


def tables_equal(left: FittedState, right: FittedState) -> bool:
    return len(left.tables) == len(right.tables) and all(
        a.keys == b.keys and a.features == b.features and a.table.equals(b.table)
        for a, b in zip(left.tables, right.tables, strict=True)
    )


def edit_rows(frame: pl.DataFrame, split: str, **changes: pl.Expr) -> pl.DataFrame:
    """``frame`` with ``changes`` applied to the rows of ``split`` only."""
    chosen = pl.col(SPLIT) == split
    return frame.with_columns(
        pl.when(chosen).then(expression).otherwise(pl.col(name)).alias(name)
        for name, expression in changes.items()
    )


# ---- shape of the output --------------------------------------------------------------------


def test_output_is_inputs_then_features_then_split_in_row_order(
    interim: pl.DataFrame, plan: Plan, fitted: tuple[pl.DataFrame, FittedState]
) -> None:
    out, _ = fitted
    inputs = [name for name in interim.columns if name != SPLIT]
    assert out.columns == [*inputs, *plan.names, SPLIT]
    assert out.select(interim.columns).equals(interim)  # inputs untouched, same row order
    assert dict(out.schema) == {**interim.schema, **{p.name: p.dtype for p in plan.features}}


def test_planned_and_sequential_modes_give_the_same_bytes(
    interim: pl.DataFrame, plan: Plan, fitted: tuple[pl.DataFrame, FittedState]
) -> None:
    sequential, _ = fit_transform(interim, plan, mode="sequential")
    assert sequential.equals(fitted[0])
    assert parquet_hash(sequential) == parquet_hash(fitted[0])


def test_ten_runs_give_one_hash(interim: pl.DataFrame, plan: Plan) -> None:
    hashes = {parquet_hash(fit_transform(interim, plan)[0]) for _ in range(10)}
    assert len(hashes) == 1


def test_a_frame_without_split_is_refused(interim: pl.DataFrame, plan: Plan) -> None:
    with pytest.raises(UserError) as info:
        fit_transform(interim.drop(SPLIT), plan)
    assert str(info.value) == "input has no 'split' column: fitted features need train rows"


def test_log_refuses_negative_inputs_by_feature_and_column(
    interim_small: pl.DataFrame, shipped_spec: Path
) -> None:
    plan = sales_plan(shipped_spec, dict(interim_small.schema))
    bad = interim_small.with_columns(
        pl.when(pl.int_range(pl.len()) == 4)
        .then(-3)
        .otherwise(pl.col(c.UNITS_SOLD))
        .alias(c.UNITS_SOLD)
    )
    with pytest.raises(UserError) as info:
        fit_transform(bad, plan)
    assert str(info.value) == (
        f"{shipped_spec}: feature 'log_units' (log): column 'Units Sold' has 1 negative value(s)"
        " (row 5: -3); log(1 + x) needs x >= 0"
    )


# ---- fitted features learn from train rows only ---------------------------------------------


def test_changing_test_row_values_changes_no_fitted_feature(
    interim_small: pl.DataFrame, shipped_spec: Path
) -> None:
    plan = sales_plan(shipped_spec, dict(interim_small.schema))
    before, state = fit_transform(interim_small, plan)
    edited = edit_rows(
        interim_small,
        "test",
        **{
            c.TOTAL_PROFIT: pl.col(c.TOTAL_PROFIT) * 3 + 1000,
            c.TOTAL_REVENUE: pl.col(c.TOTAL_REVENUE) + 5000,
            c.UNIT_PRICE: pl.col(c.UNIT_PRICE) * 2,
        },
    )
    after, edited_state = fit_transform(edited, plan)
    assert tables_equal(state, edited_state)
    assert after.select(fitted_names(plan)).equals(before.select(fitted_names(plan)))
    # the edit is real: row-wise features of the test rows did change
    assert not after["unit_margin"].equals(before["unit_margin"])


def test_changing_test_row_units_moves_no_learned_edge_or_mean(
    interim_small: pl.DataFrame, shipped_spec: Path
) -> None:
    plan = sales_plan(shipped_spec, dict(interim_small.schema))
    before, state = fit_transform(interim_small, plan)
    edited = edit_rows(interim_small, "test", **{c.UNITS_SOLD: pl.col(c.UNITS_SOLD) * 50})
    after, edited_state = fit_transform(edited, plan)
    assert tables_equal(state, edited_state)
    # units_quartile bins each row's own units: only the edited test rows may move
    keyed = [name for name in fitted_names(plan) if name != "units_quartile"]
    assert after.select(keyed).equals(before.select(keyed))
    train = pl.col(SPLIT) == "train"
    assert after.filter(train)["units_quartile"].equals(before.filter(train)["units_quartile"])


def test_test_rows_with_unseen_keys_get_null_or_fill(
    interim_small: pl.DataFrame, shipped_spec: Path
) -> None:
    plan = sales_plan(shipped_spec, dict(interim_small.schema))
    before, state = fit_transform(interim_small, plan)
    edited = edit_rows(interim_small, "test", **{c.COUNTRY: pl.lit("Atlantis")})
    after, edited_state = fit_transform(edited, plan)
    assert tables_equal(state, edited_state)
    test_rows = after.filter(pl.col(SPLIT) == "test")
    assert test_rows["avg_units_by_country"].null_count() == test_rows.height
    assert test_rows["total_revenue_by_country_item"].null_count() == test_rows.height
    assert test_rows["country_share"].to_list() == [0.0] * test_rows.height  # fill: 0.0
    unaffected = ["total_profit_by_item", "item_margin_per_unit", "units_quartile"]
    assert after.select(unaffected).equals(before.select(unaffected))


def test_changing_a_train_row_does_change_fitted_features(
    interim_small: pl.DataFrame, shipped_spec: Path
) -> None:
    plan = sales_plan(shipped_spec, dict(interim_small.schema))
    before, state = fit_transform(interim_small, plan)
    first_train = interim_small.with_row_index("i").filter(pl.col(SPLIT) == "train").row(0)
    index, item = first_train[0], interim_small[c.ITEM_TYPE][first_train[0]]
    edited = interim_small.with_columns(
        interim_small[c.TOTAL_PROFIT].scatter(index, 10**7).alias(c.TOTAL_PROFIT)
    )
    after, edited_state = fit_transform(edited, plan)
    assert not tables_equal(state, edited_state)
    same_item = pl.col(c.ITEM_TYPE) == item
    delta = (
        after.filter(same_item)["total_profit_by_item"]
        - before.filter(same_item)["total_profit_by_item"]
    )
    old_profit = interim_small[c.TOTAL_PROFIT][index]
    assert delta.to_list() == pytest.approx([10**7 - old_profit] * delta.len())
    other = after.filter(~same_item)["total_profit_by_item"]
    assert other.equals(before.filter(~same_item)["total_profit_by_item"])


# ---- state and transform of new rows --------------------------------------------------------


def test_state_round_trips_through_parquet_and_json(
    tmp_path: Path, interim: pl.DataFrame, plan: Plan, fitted: tuple[pl.DataFrame, FittedState]
) -> None:
    out, state = fitted
    save_state(state, tmp_path / "state")
    loaded = load_state(tmp_path / "state")
    assert loaded.plan.to_plan_file().to_json() == plan.to_plan_file().to_json()
    assert tables_equal(loaded, state)
    assert sorted(p.suffix for p in (tmp_path / "state").iterdir()) == [".json"] + [
        ".parquet"
    ] * len(state.tables)
    assert transform(interim.drop(SPLIT), loaded).equals(out.drop(SPLIT))


def test_saving_again_replaces_the_state_whole(
    tmp_path: Path, fitted: tuple[pl.DataFrame, FittedState]
) -> None:
    directory = tmp_path / "state"
    directory.mkdir()
    (directory / "stale.parquet").write_bytes(b"old")
    save_state(fitted[1], directory)
    assert not (directory / "stale.parquet").exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["state"]  # no temp dirs left


def test_loading_a_missing_or_foreign_state_is_a_user_error(
    tmp_path: Path, fitted: tuple[pl.DataFrame, FittedState]
) -> None:
    with pytest.raises(UserError) as info:
        load_state(tmp_path / "nothing")
    missing = tmp_path / "nothing"
    assert str(info.value) == f"{missing}: no fitted feature state (state.json missing)"
    save_state(fitted[1], tmp_path / "state")
    manifest = tmp_path / "state" / "state.json"
    manifest.write_text(json.dumps({**json.loads(manifest.read_text()), "version": 99}))
    with pytest.raises(UserError, match=r"state\.json: unsupported state version 99"):
        load_state(tmp_path / "state")


def test_transform_reuses_training_tables_for_new_rows(
    interim: pl.DataFrame, plan: Plan, fitted: tuple[pl.DataFrame, FittedState]
) -> None:
    out, state = fitted
    rows = interim.filter(pl.col(SPLIT) == "test").head(25)
    new = transform(rows.drop(SPLIT), state)
    expected = out.join(rows.select(c.ORDER_ID), on=c.ORDER_ID, how="semi", maintain_order="left")
    assert new.columns == [*rows.drop(SPLIT).columns, *plan.names]
    assert new.select(non_window(plan)).equals(expected.select(non_window(plan)))


def test_transform_of_unseen_keys_uses_null_or_fill(
    interim: pl.DataFrame, fitted: tuple[pl.DataFrame, FittedState]
) -> None:
    rows = interim.head(3).drop(SPLIT).with_columns(pl.lit("Atlantis").alias(c.COUNTRY))
    new = transform(rows, fitted[1])
    assert new["avg_units_by_country"].to_list() == [None] * 3
    assert new["country_share"].to_list() == [0.0] * 3
    assert new["total_profit_by_item"].null_count() == 0


def test_stage_output_equals_transform_of_the_same_rows(
    project: Project, capsys: pytest.CaptureFixture[str], shipped_spec: Path
) -> None:
    interim_path = project.root / "data" / "interim" / "sales.parquet"
    interim_path.parent.mkdir(parents=True)
    frame = assign_split(generate_sales(300, seed=9), "random", 0.2, 42, SALES)
    frame.write_parquet(interim_path)
    (project.root / "config").mkdir(exist_ok=True)
    shutil.copy(shipped_spec, project.root / "config" / "features.yaml")
    project.write_params(default_params(features={"spec": "config/features.yaml"}))
    stage = load_stage_module("features")

    code = run_stage("features", stage.run, stage.__doc__ or "", argv=["--params", "params.yaml"])

    assert code == 0, capsys.readouterr().err
    written = pl.read_parquet(project.root / "data" / "features" / "features.parquet")
    plan = sales_plan(Path("config/features.yaml"), dict(frame.schema))
    assert written.equals(fit_transform(frame, plan)[0])
    plan_json = json.loads((project.root / "data" / "features" / "plan.json").read_text())
    assert plan_json == plan.to_plan_file().to_json()
    assert plan_json["features"]["profit_margin"]["target_derived"] is True

    state = load_state(project.root / "data" / "features" / "state")
    # every feature, window ones included, when transform sees the same full history
    assert transform(frame.drop(SPLIT), state).equals(written.drop(SPLIT))
    # new rows on their own: every non-window feature matches the stage output
    test_rows = frame.filter(pl.col(SPLIT) == "test")
    alone = transform(test_rows.drop(SPLIT), state)
    expected = written.filter(pl.col(SPLIT) == "test")
    assert alone.select(non_window(plan)).equals(expected.select(non_window(plan)))


# ---- the shipped spec (it need not use every type: test_catalog runs every type's example) ---


def _find(plan: Plan, **definition: object) -> str:
    """The name of the one feature of ``plan`` whose spec holds ``definition``."""
    matches = [
        p.name
        for p in plan.features
        if all(getattr(p.feature, key, None) == value for key, value in definition.items())
    ]
    assert len(matches) == 1, f"{definition}: {matches}"
    return matches[0]


def test_shipped_spec_declares_the_seed_features(plan: Plan) -> None:
    _find(plan, type="group_agg", column=c.UNITS_SOLD, by=(c.COUNTRY,), agg="mean")
    _find(plan, type="group_agg", column=c.TOTAL_PROFIT, by=(c.ITEM_TYPE,), agg="sum")
    _find(plan, type="group_agg", column=c.TOTAL_REVENUE, by=(c.COUNTRY, c.ITEM_TYPE), agg="sum")
    margin = _find(plan, type="ratio", numerator=c.TOTAL_PROFIT, denominator=c.TOTAL_REVENUE)
    assert plan[margin].target_derived
    fitted_profit = _find(plan, type="group_agg", column=c.TOTAL_PROFIT, by=(c.ITEM_TYPE,))
    assert plan[fitted_profit].depends_on_target
    assert not plan[fitted_profit].target_derived


def test_shipped_spec_plans_without_the_optional_order_priority(
    shipped_spec: Path, interim: pl.DataFrame, plan: Plan
) -> None:
    schema = {k: v for k, v in interim.schema.items() if k != c.ORDER_PRIORITY}
    assert sales_plan(shipped_spec, schema).names == plan.names
