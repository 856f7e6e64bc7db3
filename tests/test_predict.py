"""Predict: new orders from a CSV get exactly evaluate's predictions; bad rows never do."""

from __future__ import annotations

import importlib
import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl
import pytest
import sales_columns as c
import yaml
from sales_columns import SALES
from support import Dialect, csv_text, install_contract, load_stage_module, write_sales_csv

from features_pipeline.contracts.split import SPLIT
from features_pipeline.errors import UserError
from features_pipeline.features.engine import fit_transform
from features_pipeline.features.plan import build_plan
from features_pipeline.features.spec import parse_features
from features_pipeline.features.state import load_state, save_state
from features_pipeline.ingest.split import assign_split
from features_pipeline.ingest.synthetic import generate_sales
from features_pipeline.io import write_json_atomic, write_parquet_atomic
from features_pipeline.predict.inputs import UNSEEN, needed_raw_columns, prediction_column
from features_pipeline.predict.new_rows import read_new_rows
from features_pipeline.predict.run import predict_csv
from features_pipeline.runner import run_stage

SPEC: list[dict[str, Any]] = [
    {"name": "unit_margin", "type": "arithmetic", "op": "subtract",
     "left": c.UNIT_PRICE, "right": c.UNIT_COST},
    {"name": "item_margin", "type": "group_agg", "column": "unit_margin",
     "by": [c.ITEM_TYPE], "agg": "median"},
    {"name": "expected_profit", "type": "arithmetic", "op": "multiply",
     "left": c.UNITS_SOLD, "right": "item_margin"},
    {"name": "profit_margin", "type": "ratio", "numerator": c.TOTAL_PROFIT,
     "denominator": c.TOTAL_REVENUE},
    {"name": "order_month", "type": "date_part", "column": c.ORDER_DATE, "part": "month"},
    {"name": "country_share", "type": "frequency", "column": c.COUNTRY, "fill": 0.0},
    {"name": "prev_units", "type": "lag", "column": c.UNITS_SOLD, "by": [c.REGION]},
]  # fmt: skip
PLAIN = [c.ITEM_TYPE, c.SALES_CHANNEL, c.UNITS_SOLD, "expected_profit", "order_month",
         "country_share"]  # fmt: skip
WINDOW = [*PLAIN, "prev_units"]
PREDICTED = prediction_column(c.TOTAL_PROFIT)
MODEL = Path("models/model.skops")
STATE = Path("data/features/state")
EVALUATED = Path("data/predictions/test.parquet")


@dataclass(frozen=True)
class Project:
    root: Path
    interim: pl.DataFrame

    @property
    def test_rows(self) -> pl.DataFrame:
        return self.interim.filter(pl.col(SPLIT) == "test").drop(SPLIT)

    def evaluated(self) -> pl.DataFrame:
        return pl.read_parquet(self.root / EVALUATED)


def build_project(root: Path, features: list[str]) -> Project:
    """Features computed by the real engine, then the real train and evaluate stages."""
    interim = assign_split(generate_sales(500, seed=21), "random", 0.2, 42, SALES)
    plan = build_plan(
        parse_features(SPEC, "spec"),
        interim.schema,
        c.TOTAL_PROFIT,
        "spec.yaml",
        order=c.SALES_ORDER,
    )
    table, state = fit_transform(interim, plan)
    write_parquet_atomic(interim, root / "data/interim/sales.parquet")
    write_parquet_atomic(table, root / "data/features/features.parquet")
    write_json_atomic(plan.to_plan_file().to_json(), root / "data/features/plan.json")
    save_state(state, root / STATE)
    params = {
        "train": {
            "features": features,
            "model": {
                "name": "hist_gradient_boosting",
                "params": {"hist_gradient_boosting": {"max_iter": 40}},
            },
            "cv_folds": 3,
        },
        "evaluate": {"gates": {}, "importance": {"rows": 50, "repeats": 1}},
    }  # fmt: skip
    (root / "params.yaml").write_text(yaml.safe_dump(params), encoding="utf-8")
    install_contract(root)
    for name in ("train", "evaluate"):
        module = load_stage_module(name)
        code = run_stage(name, module.run, "", argv=["--params", "params.yaml", "-q"])
        assert code == 0, name
    return Project(root, interim)


@pytest.fixture(scope="module")
def plain(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Project]:
    root = tmp_path_factory.mktemp("plain")
    with pytest.MonkeyPatch.context() as patch:
        patch.chdir(root)
        yield build_project(root, PLAIN)


@pytest.fixture(scope="module")
def windowed(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Project]:
    root = tmp_path_factory.mktemp("windowed")
    with pytest.MonkeyPatch.context() as patch:
        patch.chdir(root)
        yield build_project(root, WINDOW)


def predict(project: Project, csv: Path, **options: Any) -> pl.DataFrame:
    output = project.root / "predictions.csv"
    predict_csv(project.root / MODEL, csv, output, state_path=project.root / STATE, **options)
    return pl.read_csv(output)


def test_predicting_the_test_split_from_its_raw_csv_reproduces_evaluate(
    plain: Project, tmp_path: Path
) -> None:
    csv = write_sales_csv(tmp_path / "new.csv", plain.test_rows, Dialect(money="trimmed"))
    predicted = predict(plain, csv)
    evaluated = plain.evaluated()
    assert predicted.columns == [c.ORDER_ID, PREDICTED, UNSEEN]
    assert not predicted.get_column(UNSEEN).any()
    assert predicted.get_column(c.ORDER_ID).to_list() == evaluated.get_column(c.ORDER_ID).to_list()
    np.testing.assert_array_equal(
        predicted.get_column(PREDICTED).to_numpy(), evaluated.get_column("predicted").to_numpy()
    )


def test_new_orders_need_not_carry_the_target(plain: Project, tmp_path: Path) -> None:
    rows = plain.test_rows.drop(c.TOTAL_PROFIT, c.TOTAL_REVENUE, c.TOTAL_COST, c.ORDER_PRIORITY)
    predicted = predict(plain, write_sales_csv(tmp_path / "new.csv", rows))
    np.testing.assert_array_equal(
        predicted.get_column(PREDICTED).to_numpy(),
        plain.evaluated().get_column("predicted").to_numpy(),
    )


def test_only_the_columns_the_model_needs_are_required(plain: Project) -> None:
    state = load_state(plain.root / STATE)
    # fitted features need only their join keys (Item Type, Country), not what they learned
    # from: item_margin was learned from unit_margin (prices), yet new rows need no prices
    assert needed_raw_columns(state.plan, PLAIN, SALES) == [
        c.COUNTRY, c.ITEM_TYPE, c.SALES_CHANNEL, c.ORDER_DATE, c.ORDER_ID, c.UNITS_SOLD,
    ]  # fmt: skip
    assert needed_raw_columns(state.plan, WINDOW, SALES)[-2:] == [c.ORDER_ID, c.UNITS_SOLD]
    assert c.REGION in needed_raw_columns(state.plan, WINDOW, SALES)  # the lag's group


def test_a_missing_needed_column_is_one_line(plain: Project, tmp_path: Path) -> None:
    csv = write_sales_csv(tmp_path / "new.csv", plain.test_rows.drop(c.UNITS_SOLD))
    with pytest.raises(UserError, match=r"missing column\(s\) 'Units Sold' needed by the model"):
        predict(plain, csv)


def broken_rows(rows: pl.DataFrame) -> str:
    """CSV text with a negative Units Sold on line 3 and an unparsable one on line 5."""
    lines = csv_text(rows).splitlines()
    header = lines[0].split(",")
    units = header.index(c.UNITS_SOLD)
    for line, value in ((3, "-3"), (5, "lots")):
        cells = lines[line - 1].split(",")
        cells[units] = value
        lines[line - 1] = ",".join(cells)
    return "\n".join(lines) + "\n"


def test_invalid_rows_are_reported_and_skipped_never_predicted(
    plain: Project, tmp_path: Path
) -> None:
    rows = plain.test_rows.head(8)
    csv = tmp_path / "new.csv"
    csv.write_text(broken_rows(rows), encoding="utf-8")
    rejected_file = tmp_path / "rejected.csv"
    predicted = predict(plain, csv, rejected_path=rejected_file)
    skipped = rows.get_column(c.ORDER_ID).gather([1, 3]).to_list()  # lines 3 and 5
    assert predicted.height == 6
    assert not set(skipped) & set(predicted.get_column(c.ORDER_ID).to_list())
    # the rejected rows themselves, as read, with what is wrong with them
    rejected = pl.read_csv(rejected_file, infer_schema=False)
    assert rejected.get_column("line").to_list() == ["3", "5"]
    assert rejected.get_column(c.UNITS_SOLD).to_list() == ["-3", "lots"]
    assert rejected.get_column(c.ORDER_ID).to_list() == [str(order) for order in skipped]
    assert set(rejected.columns) >= {*c.RAW_COLUMNS, "problems"}
    problems = rejected.get_column("problems").to_list()
    assert problems[0].startswith("'Units Sold' fails ")
    assert "'-3'" in problems[0]
    assert "'Units Sold' fails 'parse' ('lots')" in problems[1]
    # the valid rows get the same predictions as in the full run
    expected = plain.evaluated().filter(
        pl.col(c.ORDER_ID).is_in(predicted.get_column(c.ORDER_ID).implode())
    )
    np.testing.assert_array_equal(
        predicted.get_column(PREDICTED).to_numpy(), expected.get_column("predicted").to_numpy()
    )


def test_invalid_rows_fail_the_run_when_asked(plain: Project, tmp_path: Path) -> None:
    csv = tmp_path / "new.csv"
    csv.write_text(broken_rows(plain.test_rows.head(8)), encoding="utf-8")
    with pytest.raises(UserError) as caught:
        predict(plain, csv, on_invalid="fail")
    assert "column 'Units Sold'" in str(caught.value)
    assert "line 5: 'lots'" in str(caught.value)


def test_contract_failures_are_reported_with_file_lines(tmp_path: Path) -> None:
    rows = generate_sales(6, seed=3)
    csv = tmp_path / "new.csv"
    csv.write_text(broken_rows(rows).replace("lots", "7"), encoding="utf-8")
    new = read_new_rows(csv, [c.ORDER_ID, c.UNITS_SOLD], SALES)
    assert new.rows_read == 6
    assert new.frame.height == 4
    # line 3: units <= 0 and the totals no longer match; line 5: the totals no longer match
    assert new.rejected.select("line", "column").rows() == [
        (3, c.UNITS_SOLD),
        (3, c.TOTAL_REVENUE),
        (3, c.TOTAL_COST),
        (5, c.TOTAL_REVENUE),
        (5, c.TOTAL_COST),
    ]
    kept = set(new.frame.get_column(c.ORDER_ID).to_list())
    assert kept == set(rows.get_column(c.ORDER_ID).gather([0, 2, 4, 5]).to_list())


def test_a_window_model_is_refused_without_history(windowed: Project, tmp_path: Path) -> None:
    csv = write_sales_csv(tmp_path / "new.csv", windowed.test_rows)
    with pytest.raises(UserError) as caught:
        predict(windowed, csv)
    message = str(caught.value)
    assert "window feature(s) 'prev_units'" in message
    assert "--history" in message


def test_a_window_model_with_history_reproduces_evaluate(windowed: Project, tmp_path: Path) -> None:
    csv = write_sales_csv(tmp_path / "new.csv", windowed.test_rows)
    history = windowed.root / "data/interim/sales.parquet"  # holds the test rows too: replaced
    predicted = predict(windowed, csv, history_path=history)
    np.testing.assert_array_equal(
        predicted.get_column(PREDICTED).to_numpy(),
        windowed.evaluated().get_column("predicted").to_numpy(),
    )


def test_a_card_that_does_not_match_the_feature_state_is_refused(
    plain: Project, tmp_path: Path
) -> None:
    card = json.loads((plain.root / "models/model_card.json").read_text(encoding="utf-8"))
    card["inputs"]["expected_profit"]["dtype"] = "Int64"
    bad_card = tmp_path / "model_card.json"
    bad_card.write_text(json.dumps(card), encoding="utf-8")
    csv = write_sales_csv(tmp_path / "new.csv", plain.test_rows.head(3))
    with pytest.raises(UserError, match=re.escape("'expected_profit' was Int64 in training")):
        predict(plain, csv, card_path=bad_card)


def test_unseen_categories_are_flagged_and_counted_in_one_warning(
    plain: Project, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    new_items = ["Gadgets", "Gizmos", "Gadgets", "Widgets", "Doohickeys"]  # 4 unseen values
    items = [*new_items, plain.test_rows.get_column(c.ITEM_TYPE)[5]]
    rows = plain.test_rows.head(6).with_columns(pl.Series(c.ITEM_TYPE, items))
    with caplog.at_level("WARNING", logger="features_pipeline"):
        predicted = predict(plain, write_sales_csv(tmp_path / "new.csv", rows))
    assert predicted.get_column(UNSEEN).to_list() == [True] * 5 + [False]
    warnings = [r.getMessage() for r in caplog.records if "unseen in training" in r.getMessage()]
    assert len(warnings) == 1
    assert "5 row(s) hold a category unseen in training in 'Item Type' (" in warnings[0]
    assert "'Item Type': 'Gadgets' (2), " in warnings[0]  # most frequent first, at most 3 shown
    assert warnings[0].count("'Item Type': ") == 3
    assert ", ...)" in warnings[0]


def test_a_run_without_rejected_rows_writes_an_empty_rejected_file(
    plain: Project, tmp_path: Path
) -> None:
    rejected_file = tmp_path / "rejected.csv"
    rejected_file.write_text("stale\n", encoding="utf-8")
    predict(plain, write_sales_csv(tmp_path / "new.csv", plain.test_rows.head(3)),
            rejected_path=rejected_file)  # fmt: skip
    assert rejected_file.read_text(encoding="utf-8").splitlines() == ["line,problems"]


def test_batched_scoring_writes_the_in_memory_files(
    plain: Project,
    tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """engine.memory_limit's path, 7 rows at a time: the same predictions, rejected rows and
    warnings as the whole file in memory, byte for byte."""
    from features_pipeline.predict import batched

    checked: list[int] = []
    check_new_rows = batched.check_new_rows

    def counting(path: Path, strings: pl.DataFrame, *args: Any) -> Any:
        checked.append(strings.height)
        return check_new_rows(path, strings, *args)

    monkeypatch.setattr(batched, "check_new_rows", counting)
    rows = plain.test_rows.with_columns(
        pl.when(pl.int_range(pl.len()) % 9 == 4)
        .then(pl.lit("Gadgets"))
        .otherwise(pl.col(c.ITEM_TYPE))
        .alias(c.ITEM_TYPE)
    )
    csv = tmp_path / "new.csv"
    csv.write_text(broken_rows(rows), encoding="utf-8")
    files, messages = [], []
    for batch_rows in (None, 7):
        output, rejected = tmp_path / f"out{batch_rows}.csv", tmp_path / f"rej{batch_rows}.csv"
        caplog.clear()
        with caplog.at_level("WARNING", logger="features_pipeline"):
            result = predict_csv(
                plain.root / MODEL,
                csv,
                output,
                state_path=plain.root / STATE,
                rejected_path=rejected,
                batch_rows=batch_rows,
            )
        files.append((output.read_bytes(), rejected.read_bytes(), result.rows_read))
        messages.append([record.getMessage() for record in caplog.records])
        assert result.rejected.get_column("line").unique().to_list() == [3, 5]
    assert checked == [7] * (rows.height // 7) + [rows.height % 7]  # never more than a batch
    assert files[1] == files[0]
    assert messages[1] == messages[0]
    assert any("unseen in training" in message for message in messages[0])
    assert pl.read_csv(tmp_path / "outNone.csv").height == rows.height - 2
    assert not list(tmp_path.glob(".*.tmp"))


def test_batched_scoring_fails_whole_and_writes_nothing(plain: Project, tmp_path: Path) -> None:
    """A bad row in a later batch with --on-invalid fail: the in-memory path's one line, and
    neither the output nor its temp file is left behind."""
    rows = plain.test_rows.head(30)
    lines = csv_text(rows).splitlines()
    units = lines[0].split(",").index(c.UNITS_SOLD)
    cells = lines[24].split(",")  # line 25: the fourth batch of 7
    cells[units] = "-3"
    lines[24] = ",".join(cells)
    csv = tmp_path / "new.csv"
    csv.write_text("\n".join(lines) + "\n", encoding="utf-8")
    errors = []
    for batch_rows in (None, 7):
        output = tmp_path / "out.csv"
        with pytest.raises(UserError) as raised:
            predict_csv(
                plain.root / MODEL,
                csv,
                output,
                state_path=plain.root / STATE,
                on_invalid="fail",
                batch_rows=batch_rows,
            )
        errors.append(raised.value.message)
        assert not output.exists()
    assert errors[1] == errors[0]
    assert "line 25" in errors[0], errors[0]
    assert not list(tmp_path.glob(".*.tmp"))


def test_the_memory_limit_sizes_the_scoring_batches(plain: Project) -> None:
    from features_pipeline.engines.params import EngineParams
    from features_pipeline.predict.batched import batch_rows, batchable

    assert batch_rows(EngineParams(), 6) is None
    assert batch_rows(EngineParams(memory_limit="3GB"), 6) == (3 * 10**9 - 500_000_000) // 288
    assert batch_rows(EngineParams(memory_limit="100MB"), 6) == 1_000  # the floor
    state = load_state(plain.root / STATE)
    assert batchable(state, PLAIN)
    assert not batchable(state, WINDOW)  # a lag looks at other rows: scored in memory


def test_a_memory_limit_in_params_scores_in_batches(
    plain: Project, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    run_module = importlib.import_module("features_pipeline.predict.run")  # the package shadows it

    scored: list[int] = []

    def score_batches(*args: Any, rows: int, **options: Any) -> Any:
        scored.append(rows)
        raise UserError("scored in batches")

    monkeypatch.setattr(run_module, "score_batches", score_batches)
    params = yaml.safe_load((plain.root / "params.yaml").read_text(encoding="utf-8"))
    params["engine"] = {"memory_limit": "100MB"}
    limited = tmp_path / "params.yaml"
    limited.write_text(yaml.safe_dump(params), encoding="utf-8")
    csv = write_sales_csv(tmp_path / "new.csv", plain.test_rows.head(3))
    assert predict(plain, csv, params_path=plain.root / "params.yaml").height == 3  # in memory
    assert scored == []
    with pytest.raises(UserError, match="scored in batches"):
        predict(plain, csv, params_path=limited)
    assert scored == [1_000]  # 100MB is below a batch's floor of rows


def test_a_window_model_over_budget_is_refused_in_one_line(
    windowed: Project, tmp_path: Path
) -> None:
    """Window features are computed in memory over the history and the input: within
    engine.memory_limit they are, above it predict stops before reading either, naming both."""
    csv = write_sales_csv(tmp_path / "new.csv", windowed.test_rows)
    history = windowed.root / "data/interim/sales.parquet"
    params = yaml.safe_load((windowed.root / "params.yaml").read_text(encoding="utf-8"))
    rows = pl.scan_parquet(history).select(pl.len()).collect().item() + windowed.test_rows.height
    for limit in ("100MB", "1GB"):
        params["engine"] = {"memory_limit": limit}
        (tmp_path / f"{limit}.yaml").write_text(yaml.safe_dump(params), encoding="utf-8")
    output = tmp_path / "predictions.csv"
    with pytest.raises(UserError) as caught:
        predict_csv(
            windowed.root / MODEL,
            csv,
            output,
            state_path=windowed.root / STATE,
            history_path=history,
            params_path=tmp_path / "100MB.yaml",
        )
    message = str(caught.value)
    assert message.startswith(
        f"predict: engine.memory_limit: 100MB is not enough for a model with window features, "
        f"computed in memory over the {rows:,} rows of {history} and {csv} (about 0.2 GB needed)"
    ), message
    assert not output.exists()
    within = predict(
        windowed, csv, history_path=history, params_path=tmp_path / "1GB.yaml"
    )  # the in-memory path's predictions
    np.testing.assert_array_equal(
        within.get_column(PREDICTED).to_numpy(),
        windowed.evaluated().get_column("predicted").to_numpy(),
    )
