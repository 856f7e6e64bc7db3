"""The dataset contract: loading and its mistakes, dates never silently wrong, optional columns,
text keys, and the draft `features-pipeline dataset infer` prints."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import polars as pl
import pytest
import sales_columns as c
import yaml
from support import csv_text

from features_pipeline import cli
from features_pipeline.contracts.dataset import DatasetContract, load_contract, parse_contract
from features_pipeline.contracts.plan_file import PlanFile
from features_pipeline.errors import UserError
from features_pipeline.features.plan import build_plan
from features_pipeline.features.spec import parse_features
from features_pipeline.ingest.contract import check_raw_contract
from features_pipeline.ingest.csv_reader import read_csv_table
from features_pipeline.ingest.infer import draft_contract, read_sample
from features_pipeline.ingest.split import assign_split
from features_pipeline.ingest.synthetic import generate_sales
from features_pipeline.predict.new_rows import read_new_rows

REPO = Path(__file__).resolve().parents[1]
EXAMPLE = REPO / "examples" / "superstore"
SOURCE = "config/dataset.yaml"


def shipped() -> dict[str, Any]:
    return yaml.safe_load(c.CONTRACT_PATH.read_text(encoding="utf-8"))


def error_of(raw: dict[str, Any]) -> str:
    with pytest.raises(UserError) as caught:
        parse_contract(raw, SOURCE)
    return caught.value.message


def test_the_shipped_contract_describes_the_generated_sample() -> None:
    assert c.SALES.dtypes == {name: dtype() for name, dtype in c.SALES_SCHEMA.items()}
    assert c.SALES.target == c.TOTAL_PROFIT
    assert c.SALES.outcome_columns == (c.TOTAL_REVENUE, c.TOTAL_COST, c.TOTAL_PROFIT)
    sample = generate_sales(200, seed=3)
    assert check_raw_contract(sample, "sample", c.SALES).equals(sample)


@pytest.mark.parametrize(
    ("edit", "message"),
    [
        (
            lambda r: r["columns"]["Units Sold"].update(type="integr"),
            "config/dataset.yaml: columns.Units Sold.type: unknown type 'integr' — did you mean "
            "'integer'? (known: text, category, integer, float, money, date, datetime, boolean)",
        ),
        (
            lambda r: r["columns"]["Units Sold"].update(colour="red"),
            "config/dataset.yaml: columns.Units Sold.colour: unknown key",
        ),
        (
            lambda r: r["columns"]["Region"].update(formats=["%Y"]),
            "config/dataset.yaml: columns.Region: 'formats' applies to date and datetime "
            "columns only",
        ),
        (
            lambda r: r["rules"].append({"type": "compare", "left": "Ship Dat", "op": ">=",
                                         "right": "Order Date"}),
            "config/dataset.yaml: rules[4] (compare): 'Ship Dat' is not a declared column — did "
            "you mean 'Ship Date'?",
        ),
        (
            lambda r: r.update(target="Region"),
            "config/dataset.yaml: target: 'Region' is a category column; the target must be "
            "integer, float or money",
        ),
        (
            lambda r: r.update(key=["Order Id"]),
            "config/dataset.yaml: key: 'Order Id' is not a declared column — did you mean "
            "'Order ID'?",
        ),
        (
            lambda r: r["columns"]["Order ID"].update(nullable=True),
            "config/dataset.yaml: key: 'Order ID' must be required and not nullable",
        ),
        (
            lambda r: r.pop("target"),
            "config/dataset.yaml: target: Field required",
        ),
    ],
    ids=["unknown-type", "unknown-key", "formats-on-text", "rule-column", "text-target",
         "key-column", "nullable-key", "no-target"],
)  # fmt: skip
def test_contract_mistakes_are_one_line_naming_file_and_key(edit: Any, message: str) -> None:
    raw = shipped()
    edit(raw)
    assert error_of(raw).startswith(message)


def test_a_contract_that_is_not_a_mapping_per_column_is_refused() -> None:
    raw = shipped()
    raw["columns"]["Region"] = "category"
    assert error_of(raw) == (
        "config/dataset.yaml: columns.Region: expected a mapping like {type: integer}"
    )


def two_digit_year_csv(tmp_path: Path) -> Path:
    """Three generated orders, the first written with a two-digit Order Date year."""
    header, first, *rest = csv_text(generate_sales(3, seed=1)).splitlines()
    first = re.sub(r"^((?:[^,]*,){5})(\d+)/(\d+)/20(\d\d),", r"\1\2/\3/\4,", first)
    path = tmp_path / "orders.csv"
    path.write_text("\n".join([header, first, *rest]) + "\n", encoding="utf-8")
    return path


def test_a_two_digit_year_stops_ingest_with_line_column_and_value(tmp_path: Path) -> None:
    path = two_digit_year_csv(tmp_path)
    value = path.read_text(encoding="utf-8").splitlines()[1].split(",")[5]
    assert re.fullmatch(r"\d+/\d+/\d\d", value)
    with pytest.raises(UserError) as caught:
        read_csv_table(path, c.SALES, SOURCE)
    assert caught.value.message == (
        f"{path}: column 'Order Date': 1 value(s) have a year outside 1900-2100; a two-digit "
        "year? declare a format with %y and a two_digit_year_pivot for column 'Order Date' in "
        f"config/dataset.yaml (line 2: '{value}')"
    )


def test_a_two_digit_year_is_refused_by_predict_too(tmp_path: Path) -> None:
    path = two_digit_year_csv(tmp_path)
    with pytest.raises(UserError, match=r"column 'Order Date': 1 value\(s\) have a year outside"):
        read_new_rows(path, [c.ORDER_ID, c.ORDER_DATE], c.SALES, on_invalid="fail")


def test_a_declared_pivot_reads_two_digit_years_in_the_right_century(tmp_path: Path) -> None:
    raw = shipped()
    raw["columns"]["Order Date"].update(formats=["%m/%d/%y", "%m/%d/%Y"], two_digit_year_pivot=50)
    dataset = parse_contract(raw, SOURCE)
    path = tmp_path / "o.csv"
    text = two_digit_year_csv(tmp_path).read_text(encoding="utf-8")
    path.write_text(text.replace("/12,", "/49,", 1), encoding="utf-8")
    frame = read_csv_table(path, dataset)
    assert frame.get_column("Order Date").dt.year().to_list()[0] == 2049
    path.write_text(text.replace("/12,", "/50,", 1), encoding="utf-8")
    assert read_csv_table(path, dataset).get_column("Order Date").dt.year()[0] == 1950


def test_features_needing_an_absent_optional_column_are_dropped_with_one_warning(
    caplog: pytest.LogCaptureFixture,
) -> None:
    specs = [
        {"name": "priority_code", "type": "frequency", "column": c.ORDER_PRIORITY},
        {"name": "twice", "type": "arithmetic", "op": "multiply", "left": "priority_code",
         "constant": 2},
        {"name": "margin", "type": "arithmetic", "op": "subtract", "left": c.UNIT_PRICE,
         "right": c.UNIT_COST},
    ]  # fmt: skip
    schema = {k: v for k, v in c.sales_input_schema().items() if k != c.ORDER_PRIORITY}
    plan = build_plan(
        parse_features(specs, "spec.yaml"), schema, c.TOTAL_PROFIT, "spec.yaml",
        order=c.SALES_ORDER, absent=(c.ORDER_PRIORITY,),
    )  # fmt: skip
    assert plan.names == ["margin"]
    assert dict(plan.dropped) == {"priority_code": c.ORDER_PRIORITY, "twice": c.ORDER_PRIORITY}
    warnings = [r.getMessage() for r in caplog.records if r.levelname == "WARNING"]
    assert warnings == [
        f"spec.yaml: feature {name!r} dropped: it needs column 'Order Priority', which this "
        "table does not have (optional in the dataset contract)"
        for name in ("priority_code", "twice")
    ]
    written = plan.to_plan_file().to_json()
    assert written["dropped"] == {"priority_code": "Order Priority", "twice": "Order Priority"}
    assert "dropped" not in build_plan([], schema, c.TOTAL_PROFIT).to_plan_file().to_json()
    assert isinstance(PlanFile.model_validate(written), PlanFile)


def superstore() -> DatasetContract:
    return load_contract(EXAMPLE / "dataset.yaml")


def test_a_text_key_with_several_rows_per_order_splits_whole_orders() -> None:
    table = read_csv_table(EXAMPLE / "superstore.csv", superstore())
    split = assign_split(table, "random", 0.2, 42, superstore())
    per_order = split.group_by("Order ID").agg(pl.col("split").n_unique())
    assert per_order.get_column("split").max() == 1
    share = (split.get_column("split") == "test").mean()
    assert 0.15 < float(share or 0) < 0.25
    again = assign_split(table.reverse(), "random", 0.2, 42, superstore()).reverse()
    assert again.get_column("split").equals(split.get_column("split"))  # by key, not position


def test_a_key_that_is_not_unique_in_the_data_is_one_line() -> None:
    sample = generate_sales(20, seed=2)
    twice = sample.with_columns(pl.col(c.ORDER_ID).gather([0, 0, *range(2, 20)]))
    with pytest.raises(
        UserError, match=r"^x\.csv: column 'Order ID' fails check 'field_uniqueness' in 2 row"
    ):
        check_raw_contract(twice, "x.csv", c.SALES)


def test_a_table_without_a_key_gets_a_stable_row_number(tmp_path: Path) -> None:
    raw = shipped()
    raw["key"] = []
    dataset = parse_contract(raw, SOURCE)
    assert dataset.row_key == ("row_number",)
    assert dataset.tie_breaker == "row_number"
    assert "row_number" in dataset.dtypes


def test_the_drafted_contract_of_the_example_loads_and_reads_its_csv(tmp_path: Path) -> None:
    sample = read_sample(EXAMPLE / "superstore.csv")
    text = draft_contract(sample, "superstore", target="Profit")
    draft_path = tmp_path / "draft.yaml"
    draft_path.write_text(text, encoding="utf-8")
    draft = load_contract(draft_path)
    assert draft.target == "Profit"
    assert draft.key == ("Row ID",)
    assert draft.split_by == ("Order ID",)
    assert draft.order_by == "Order Date"
    assert draft.columns["Order Date"].formats == ("%d/%m/%y",)  # not %Y: year 18 is no year
    assert draft.columns["Order ID"].type == "text"
    assert draft.columns["Sales"].type == "money"
    assert draft.columns["Discount"].type == "float"
    frame = read_csv_table(EXAMPLE / "superstore.csv", draft)
    assert frame.height == 3000


def test_dataset_infer_prints_the_draft_and_names_a_wrong_target(
    capsys: pytest.CaptureFixture[str],
) -> None:
    csv = str(EXAMPLE / "superstore.csv")
    assert cli.main(["dataset", "infer", csv, "--target", "Profit", "--rows", "500"]) == 0
    printed = capsys.readouterr().out
    assert printed.startswith("# A draft contract inferred from 500 sampled row(s)")
    assert '"Order Date": {type: date, formats: ["%d/%m/%y"], two_digit_year_pivot: 70}' in printed
    assert cli.main(["dataset", "infer", csv, "--target", "Proft"]) == 1
    assert capsys.readouterr().err == (
        f"error: {csv}: --target: no column 'Proft' — did you mean 'Profit'?\n"
    )


def test_dataset_infer_marks_its_doubtful_guesses_with_the_evidence(tmp_path: Path) -> None:
    rows = 2000
    table = pl.DataFrame(
        {
            "Order ID": [f"O-{i}" for i in range(rows)],
            "Discount": [f"{(i % 5) * 0.2:.2f}" for i in range(rows)],  # 0.00-0.80: not money
            "Product": [f"P{i % 800:04d}" for i in range(rows)],  # 800 values: an identifier?
            "Segment": [("Consumer", "Corporate")[i % 2] for i in range(rows)],
            "Sales": [f"{10 + i % 97}.50" for i in range(rows)],
        }
    )
    csv = tmp_path / "orders.csv"
    table.write_csv(csv)
    draft = draft_contract(read_sample(csv), "orders", "Sales")
    lines = {line.split(":")[0].strip().strip('"'): line for line in draft.splitlines()}
    assert lines["Discount"] == (
        '  "Discount": {type: float}  # check: range 0 to 0.8 (a share or rate, not money?)'
    )
    assert lines["Product"] == (
        '  "Product": {type: category}  # check: 800 distinct values in 2,000 rows '
        "(e.g. 'P0000', 'P0001', 'P0002'): an identifier? (type: text)"
    )
    assert "# check" not in lines["Segment"] + lines["Sales"] + lines["Order ID"]
    assert lines["Sales"] == '  "Sales": {type: money}'
