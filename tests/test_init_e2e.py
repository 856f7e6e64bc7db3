"""`features-pipeline init` then `dvc repro`, with no hand edit, on three kinds of table (slow):

- retail orders: the shipped examples/superstore/superstore.csv, by the README's recipe exactly
  as written (copy under data/raw/, init, dvc repro);
- a small tabular table of categories and numbers (generated: insurance-like charges);
- a time-ordered table (generated: daily sales of three stores over two years).

Each run must pass the gates init wrote, and the proposed features must cross-validate at least
as well as a short hand-written spec (the model `auto` chose, the same folds and train rows).
The three tables share one copy of the project and run one after the other.
"""

from __future__ import annotations

import json
import shlex
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import polars as pl
import pytest
import yaml
from init_tables import daily_sales, insurance, write_csv
from support import REPO_ROOT, copy_tracked_files, init_git_repo, run_command

from features_pipeline.contracts.dataset import load_contract
from features_pipeline.features.engine import fit_transform
from features_pipeline.features.plan import load_plan
from features_pipeline.model.params import TrainParams
from features_pipeline.model.train import train_model

pytestmark = pytest.mark.slow

RECIPE_MARK = "<!-- init-recipe -->"


def recipe_commands(readme: str) -> list[str]:
    """The commands of the bash block after the README's ``<!-- init-recipe -->`` line."""
    lines = readme.splitlines()
    start = lines.index(RECIPE_MARK)
    assert lines[start + 1] == "```bash"
    end = lines.index("```", start + 2)
    return [line.split("#")[0].strip() for line in lines[start + 2 : end] if line.strip()]


@dataclass(frozen=True)
class Table:
    name: str
    csv: str
    target: str
    write: Callable[[Path], object] | None  # None: the README recipe copies it
    hand_features: tuple[dict[str, Any], ...]
    hand_inputs: tuple[str, ...]


TABLES = (
    Table(
        "retail orders (superstore)",
        "data/raw/superstore.csv",
        "Profit",
        None,
        (
            {
                "name": "days_to_ship",
                "type": "date_diff",
                "start": "Order Date",
                "end": "Ship Date",
            },
            {"name": "order_month", "type": "date_part", "column": "Order Date", "part": "month"},
        ),
        (
            *("Ship Mode", "Segment", "Region", "Category", "Sub-Category"),
            *("Sales", "Quantity", "Discount", "days_to_ship", "order_month"),
        ),
    ),
    Table(
        "categories and numbers (insurance)",
        "data/raw/insurance.csv",
        "charges",
        lambda path: write_csv(insurance(), path),
        (
            {
                "name": "age_x_bmi",
                "type": "arithmetic",
                "op": "multiply",
                "left": "age",
                "right": "bmi",
            },
        ),
        ("age", "sex", "bmi", "children", "smoker", "region", "age_x_bmi"),
    ),
    Table(
        "time-ordered (daily sales)",
        "data/raw/daily_sales.csv",
        "sales",
        lambda path: write_csv(daily_sales(), path),
        (
            {"name": "year", "type": "date_part", "column": "date", "part": "year"},
            {"name": "month", "type": "date_part", "column": "date", "part": "month"},
            {"name": "weekday", "type": "date_part", "column": "date", "part": "weekday"},
        ),
        ("store", "promo", "temperature", "year", "month", "weekday"),
    ),
)


@dataclass(frozen=True)
class Run:
    table: Table
    output: str
    metrics: dict[str, Any]
    gates: dict[str, Any]  # evaluate.gates as init wrote them
    cv_rmse: float  # train's CV RMSE with the proposed features (auto's choice)
    chosen: str
    hand_cv_rmse: float  # the same model's CV with the hand-written spec
    report: str  # reports/evaluation.md


def hand_cv_rmse(repo: Path, table: Table, train: dict[str, Any], model: str) -> float:
    """CV RMSE of ``model`` (the one ``auto`` chose for the proposal) on the hand-written spec:
    the same interim table, train rows, folds and hyperparameters."""
    params = yaml.safe_load((repo / "params.yaml").read_text(encoding="utf-8"))
    dataset = load_contract(repo / params["dataset"]["contract"])
    frame = pl.read_parquet(repo / "data" / "interim" / "sales.parquet")
    spec = repo / "hand_features.yaml"
    spec.write_text(yaml.safe_dump({"features": list(table.hand_features)}), encoding="utf-8")
    plan = load_plan(spec, frame.schema, dataset)
    features, _ = fit_transform(frame, plan)
    chosen = {**train["model"], "name": model}
    params_model = TrainParams.model_validate(
        {**train, "features": list(table.hand_inputs), "model": chosen}
    )
    result = train_model(features, params_model, plan.to_plan_file(), dataset=dataset)
    return float(result.cv.summary()["rmse_mean"] or 0.0)


def read_json(path: Path) -> dict[str, Any]:
    return dict(json.loads(path.read_text(encoding="utf-8")))


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Run]:
    repo = init_git_repo(copy_tracked_files(tmp_path_factory.mktemp("init") / "repo"))
    readme = (REPO_ROOT / "README.md").read_text(encoding="utf-8")
    done: dict[str, Run] = {}
    for table in TABLES:
        if table.write is None:  # the README's recipe, exactly as written
            commands = [shlex.split(command) for command in recipe_commands(readme)]
        else:
            table.write(repo / table.csv)
            commands = [
                ["features-pipeline", "init", table.csv, "--target", table.target],
                ["dvc", "repro"],
            ]
        output = "".join(
            result.stdout + result.stderr
            for result in (run_command(command, repo) for command in commands)
        )
        params = yaml.safe_load((repo / "params.yaml").read_text(encoding="utf-8"))
        train = read_json(repo / "metrics" / "train.json")
        chosen = str(train["model"])
        done[table.name] = Run(
            table=table,
            output=output,
            metrics=read_json(repo / "metrics" / "metrics.json"),
            gates=params["evaluate"]["gates"],
            cv_rmse=float(train["cv"]["rmse_mean"]),
            chosen=chosen,
            hand_cv_rmse=hand_cv_rmse(repo, table, params["train"], chosen),
            report=(repo / "reports" / "evaluation.md").read_text(encoding="utf-8"),
        )
    return done


@pytest.mark.parametrize("name", [table.name for table in TABLES])
def test_init_then_dvc_repro_passes_the_gates_init_wrote(runs: dict[str, Run], name: str) -> None:
    run = runs[name]
    print(f"{name}: gates written by init {run.gates}; test metrics {run.metrics}")
    assert run.metrics["gates_passed"] is True
    assert set(run.metrics["gates"]) == set(run.gates) >= {"r2", "rmse"}
    for metric, bounds in run.gates.items():
        for bound, value in bounds.items():
            assert run.metrics["gates"][metric][bound] == value


def test_no_mape_gate_for_a_target_that_crosses_zero(runs: dict[str, Run]) -> None:
    assert "mape" not in runs[TABLES[0].name].gates  # Profit: losses and gains
    mape_row = next(line for line in runs[TABLES[0].name].report.splitlines() if "MAPE" in line)
    assert "NOT MEANINGFUL for this target: the target crosses zero" in mape_row
    assert all("NOT MEANINGFUL" not in runs[table.name].report for table in TABLES[1:])
    assert all("mape" in runs[table.name].gates for table in TABLES[1:])  # charges, sales > 0


@pytest.mark.parametrize("name", [table.name for table in TABLES])
def test_proposed_features_cross_validate_at_least_as_well_as_a_hand_written_spec(
    runs: dict[str, Run], name: str
) -> None:
    run = runs[name]
    print(
        f"{name}: CV RMSE (auto, {run.chosen}) proposed {run.cv_rmse:.6g} vs "
        f"hand-written {run.hand_cv_rmse:.6g}"
    )
    assert run.cv_rmse <= run.hand_cv_rmse


def test_the_readme_states_the_superstore_numbers_of_its_recipe(runs: dict[str, Run]) -> None:
    run = runs[TABLES[0].name]
    readme = (REPO_ROOT / "README.md").read_text(encoding="utf-8")
    stated = (
        f"`auto` picks {run.chosen}: test R² {float(run.metrics['r2']):.3f}, RMSE "
        f"{float(run.metrics['rmse']):.0f} on the {run.metrics['rows']} test rows"
    )
    assert stated in readme, stated
    gates = ", ".join(
        f"{metric} {'≥' if 'min' in bounds else '≤'} {next(iter(bounds.values())):g}"
        for metric, bounds in run.gates.items()
    )
    assert f"gates {gates}" in readme, gates
