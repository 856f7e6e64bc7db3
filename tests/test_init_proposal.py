"""`features-pipeline init`'s proposal logic, fast and without DVC: roles, candidates,
screening, gates, the in-place params edit, and the command's user errors."""

from __future__ import annotations

import datetime as dt
import shutil
from pathlib import Path

import numpy as np
import polars as pl
import pytest
import yaml
from init_tables import insurance, write_csv
from support import REPO_ROOT

from features_pipeline import cli
from features_pipeline.contracts.dataset import parse_contract
from features_pipeline.errors import UserError
from features_pipeline.model.cv import CvResult
from features_pipeline.model.metrics import METRIC_MEANINGS, mape_caveat
from features_pipeline.proposal.candidates import propose
from features_pipeline.proposal.gates import propose_gates
from features_pipeline.proposal.params_edit import Edit, edit_yaml
from features_pipeline.proposal.roles import outcome_columns, table_roles
from features_pipeline.proposal.screen import compute, plan_candidates, screen

ROWS = 400


def orders(rows: int = ROWS, seed: int = 3) -> tuple[pl.DataFrame, object]:
    """A typed little orders table with its contract: key, dates, categories, numbers, an
    identifier, an outcome (Revenue - Cost = Profit) and the target."""
    rng = np.random.default_rng(seed)
    price = np.round(rng.uniform(5, 50, rows), 2)
    units = rng.integers(1, 20, rows)
    discount = rng.choice([0.0, 0.1, 0.2, 0.5], rows)
    revenue = np.round(price * units * (1 - discount), 2)
    profit = np.round(revenue * 0.3 - price * units * discount + rng.normal(0, 1, rows), 2)
    start = dt.date(2024, 1, 1)
    ordered = [start + dt.timedelta(days=int(d)) for d in rng.integers(0, 300, rows)]
    frame = pl.DataFrame(
        {
            "Row ID": np.arange(rows),
            "Order ID": [f"O-{i // 2}" for i in range(rows)],
            "Order Date": ordered,
            "Ship Date": [
                d + dt.timedelta(days=int(k)) for d, k in zip(ordered, units % 5, strict=True)
            ],
            "Segment": rng.choice(["a", "b", "c"], rows),
            "Customer": [f"C{int(i)}" for i in rng.integers(0, 120, rows)],
            "Price": price,
            "Units": units,
            "Discount": discount,
            "Revenue": revenue,
            "Cost": np.round(revenue - profit, 2),
            "Profit": profit,
            "split": np.where(np.arange(rows) % 5 == 0, "test", "train"),
        }
    )
    contract = parse_contract(
        {
            "name": "orders",
            "columns": {
                "Row ID": {"type": "integer"},
                "Order ID": {"type": "text"},
                "Order Date": {"type": "date"},
                "Ship Date": {"type": "date"},
                "Segment": {"type": "category"},
                "Customer": {"type": "category"},
                "Price": {"type": "money"},
                "Units": {"type": "integer"},
                "Discount": {"type": "float"},
                "Revenue": {"type": "money", "outcome": True},
                "Cost": {"type": "money", "outcome": True},
                "Profit": {"type": "money"},
            },
            "key": ["Row ID"],
            "order_by": "Order Date",
            "target": "Profit",
        },
        "orders.yaml",
    )
    return frame, contract


def test_roles_keep_the_target_outcomes_and_key_out_and_identifiers_apart() -> None:
    frame, dataset = orders()
    roles = table_roles(frame, dataset)
    assert roles.numeric == ("Price", "Units", "Discount")
    assert roles.categories == ("Segment",)
    assert roles.identifiers == ("Order ID", "Customer")  # 120 customers: frequency only
    assert roles.dates == ("Order Date", "Ship Date")
    assert set(roles.left_out) == {"Row ID", "Revenue", "Cost", "Profit"}


def test_outcome_columns_are_found_from_the_values() -> None:
    frame, _ = orders()
    found = outcome_columns(frame, "Profit", ["Price", "Units", "Revenue", "Cost", "Profit"])
    assert set(found) == {"Revenue", "Cost"}
    assert "'Profit' = 'Revenue' - 'Cost' on all 400 rows" in found["Revenue"]


def test_candidates_never_read_the_target_or_an_outcome() -> None:
    frame, dataset = orders()
    candidates = propose(frame, table_roles(frame, dataset))
    specs = [spec for c in candidates for spec in (c.spec, *c.helpers)]
    read = {
        str(value)
        for spec in specs
        for key, value in spec.items()
        if key not in ("name", "type", "op", "part", "agg", "by")
    } | {column for spec in specs for column in spec.get("by", [])}
    assert not read & {"Profit", "Revenue", "Cost", "Row ID"}
    names = {c.name for c in candidates}
    assert {"order_date_weekday", "days_order_date_to_ship_date", "price_x_discount"} <= names
    assert "customer_share" in names  # an identifier: only its frequency
    assert "discount_per_price" in names
    assert "price_per_discount" not in names


def test_screening_keeps_what_helps_and_says_why() -> None:
    frame, dataset = orders()
    roles = table_roles(frame, dataset)
    candidates = propose(frame, roles)
    table = compute(frame, plan_candidates(candidates, frame.schema, dataset, "spec.yaml"))
    result = screen(table, roles.raw_inputs, candidates, "Profit", folds=5, seed=1)
    kept = {candidate.name for candidate in result.kept}
    assert "price_x_discount" in kept or "units_x_discount" in kept  # profit needs the product
    assert "customer_share" not in kept  # random: adds nothing
    for verdict in result.verdicts:
        kept_why = ("CV RMSE", "random_forest CV RMSE")
        assert verdict.why.startswith(kept_why if verdict.kept else ("no CV gain", "a single"))
    assert result.baseline is not None
    assert np.mean([f["rmse"] for f in result.final.folds]) < np.mean(
        [f["rmse"] for f in result.baseline.folds]
    )


def test_a_candidate_equal_to_the_target_is_dropped_as_a_leak() -> None:
    frame, dataset = orders()
    roles = table_roles(frame, dataset)
    candidates = [c for c in propose(frame, roles) if c.name == "price_x_units"]
    table = compute(frame, plan_candidates(candidates, frame.schema, dataset, "spec.yaml"))
    table = table.with_columns((pl.col("Profit") * 2 + 1).alias("price_x_units"))  # a leak
    result = screen(table, ["Price"], candidates, "Profit", folds=5, seed=1)
    assert result.verdicts[0].kept is False
    assert "exact linear function of 'Profit'" in result.verdicts[0].why


def cv(r2: list[float], rmse: list[float], mape: list[float]) -> CvResult:
    folds = [
        {"r2": a, "rmse": b, "mae": b, "mape": c, "rows": 10}
        for a, b, c in zip(r2, rmse, mape, strict=True)
    ]
    return CvResult(folds=folds, fit_seconds=[0.0] * len(folds))  # type: ignore[arg-type]


def test_gates_sit_below_the_cross_validated_baseline() -> None:
    result = cv([0.9, 0.92, 0.91], [10.0, 11.0, 12.0], [0.05, 0.06, 0.07])
    gates = {g.metric: g for g in propose_gates(result, np.array([5.0, 8.0, 12.0]), "ridge")}
    assert gates["r2"].bound == "min"
    assert gates["r2"].value == 0.86
    assert gates["rmse"].bound == "max"
    assert gates["rmse"].value == 13.8
    assert gates["mape"].value == 0.0845  # 0.06 x (1 + 3 x 0.00816 / 0.06): folds vary
    assert "R² 0.910 ± 0.008" in gates["r2"].why


def test_no_mape_gate_when_the_target_crosses_or_sits_near_zero() -> None:
    result = cv([0.9] * 3, [10.0] * 3, [5.0] * 3)
    crossing = propose_gates(result, np.array([-3.0, 2.0, 50.0]), "ridge")
    assert [g.metric for g in crossing] == ["r2", "rmse"]
    near = np.array([100.0] * 95 + [0.5] * 5)
    assert "5 of 100 target values sit near zero" in str(mape_caveat(near))
    assert "crosses zero (-3 to 50)" in str(mape_caveat([-3.0, 2.0, 50.0]))
    assert mape_caveat([100.0, 120.0, 90.0]) is None
    assert set(METRIC_MEANINGS) >= {"rmse", "mae", "r2", "mape"}


def test_no_r2_gate_when_the_baseline_explains_nothing() -> None:
    gates = propose_gates(cv([0.02, 0.03], [5.0, 5.0], [0.1, 0.1]), np.array([1.0, 2.0]), "x")
    assert "r2" not in [g.metric for g in gates]


PARAMS = """\
dataset:
  contract: config/dataset.yaml  # the contract
                                 # (continued)
ingest:
  source: synthetic        # "synthetic", or a CSV
  rows: 10000              # synthetic rows
train:
  features:                  # model inputs
                             # the target is refused
    - Region
    - Units Sold            # units
  model:
    name: linear             # linear | ridge
    params:
      ridge: {alpha: 1.0}
  seed: 42
evaluate:
  gates:                     # thresholds
    r2: {min: 0.99}
    mape: {max: 0.1}         # as a fraction
  fail_on_gate: true
"""


def test_params_edit_changes_only_its_keys_and_keeps_comments() -> None:
    edits = [
        Edit(("dataset", "contract"), "config/x.yaml", "config/x.yaml"),
        Edit(("ingest", "source"), "data/raw/x.csv", "data/raw/x.csv"),
        Edit(("train", "features"), ["a", "b c"], block=("- a  # raw", "- b c  # why")),
        Edit(("train", "model", "name"), "auto", "auto"),
        Edit(("evaluate", "gates"), {"r2": {"min": 0.5}}, block=("r2: {min: 0.5}  # cv",)),
        Edit(("features", "spec"), "config/x_features.yaml", "config/x_features.yaml"),
    ]
    text = edit_yaml(PARAMS, edits, "params.yaml")
    data = yaml.safe_load(text)
    assert data["ingest"] == {"source": "data/raw/x.csv", "rows": 10000}
    assert data["train"]["model"] == {"name": "auto", "params": {"ridge": {"alpha": 1.0}}}
    assert data["train"]["seed"] == 42
    assert data["evaluate"]["fail_on_gate"] is True
    assert data["features"] == {"spec": "config/x_features.yaml"}  # added: it was missing
    for kept in (
        "  contract: config/x.yaml  # the contract\n                                 # (continued)",
        '  source: data/raw/x.csv        # "synthetic", or a CSV',
        "  features:                  # model inputs\n                             # the target",
        "    - b c  # why\n  model:\n    name: auto             # linear | ridge",
        "  gates:                     # thresholds\n    r2: {min: 0.5}  # cv\n  fail_on_gate",
    ):
        assert kept in text


def test_params_edit_refuses_what_it_cannot_write_back() -> None:
    with pytest.raises(
        UserError, match=r"^params\.yaml: train\.model\.name: cannot add a key to a flow value"
    ):
        edit_yaml(
            "train: {model: {name: linear}}\n",
            [Edit(("train", "model", "name"), "auto", "auto")],
            "params.yaml",
        )


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A project folder as init needs it: dvc.yaml, params.yaml, data/raw/ with a small table."""
    for name in ("dvc.yaml", "params.yaml"):
        shutil.copy2(REPO_ROOT / name, tmp_path / name)
    write_csv(insurance(rows=600), tmp_path / "data" / "raw" / "insurance.csv")
    monkeypatch.chdir(tmp_path)
    return tmp_path


def test_init_writes_the_contract_the_spec_and_params(
    project: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    before = (project / "params.yaml").read_text(encoding="utf-8")
    assert cli.main(["init", "data/raw/insurance.csv", "--target", "charges"]) == 0
    printed = capsys.readouterr().out
    assert "wrote config/insurance_features.yaml" in printed
    params = yaml.safe_load((project / "params.yaml").read_text(encoding="utf-8"))
    assert params["ingest"]["source"] == "data/raw/insurance.csv"
    assert params["dataset"]["contract"] == "config/insurance_dataset.yaml"
    assert params["features"]["spec"] == "config/insurance_features.yaml"
    assert params["train"]["model"]["name"] == "auto"
    assert params["train"]["features"][:6] == ["sex", "smoker", "region", "age", "bmi", "children"]
    assert {"r2", "rmse", "mape"} == set(params["evaluate"]["gates"])
    assert params["split"] == yaml.safe_load(before)["split"]  # the user's other settings
    assert "# the declarative feature spec" in (project / "params.yaml").read_text()
    spec = (project / "config" / "insurance_features.yaml").read_text(encoding="utf-8")
    features = yaml.safe_load(spec)["features"]
    kept = [name for name in params["train"]["features"] if name not in ("sex", "smoker")]
    assert {f["name"] for f in features} >= set(kept[4:])
    assert spec.count("CV RMSE") >= len(kept[4:])  # each kept feature says why
    contract = yaml.safe_load((project / "config" / "insurance_dataset.yaml").read_text())
    assert contract["target"] == "charges"


@pytest.mark.parametrize(
    ("args", "line"),
    [
        (
            ["data/raw/missing.csv", "--target", "x"],
            "error: data/raw/missing.csv: file not found (copy the CSV into data/raw/ first)",
        ),
        (
            ["elsewhere.csv", "--target", "charges"],
            "error: elsewhere.csv: outside data/raw/; copy it there first (cp elsewhere.csv "
            "data/raw/) so that DVC tracks it and ingest reads it",
        ),
        (
            ["data/raw/insurance.csv", "--target", "charge"],
            "error: data/raw/insurance.csv: --target: no column 'charge' — did you mean 'charges'?",
        ),
        (
            ["data/raw/insurance.csv", "--target", "region"],
            "error: data/raw/insurance.csv: --target: column 'region' holds category values "
            "(e.g. 'northeast', 'northwest', 'southeast'); the target must be numbers",
        ),
    ],
)
def test_init_user_errors_are_one_line_and_write_nothing(
    project: Path, capsys: pytest.CaptureFixture[str], args: list[str], line: str
) -> None:
    shutil.copy2(project / "data" / "raw" / "insurance.csv", project / "elsewhere.csv")
    before = (project / "params.yaml").read_bytes()
    assert cli.main(["init", *args]) == 1
    assert capsys.readouterr().err == line + "\n"
    assert (project / "params.yaml").read_bytes() == before
    assert not (project / "config").exists()
