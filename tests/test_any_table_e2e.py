"""Any table, end to end through `dvc repro` in a temp git copy of the project (slow).

- The shipped defaults pass on small generated Sales Records tables (100 and 1000 rows).
- The Superstore-like example (a text Order ID with several rows per order, D/M/YY dates, a
  different target) runs after writing only YAML: its contract, spec and params.
- Dropping an optional column from that table leaves its model input out with one warning.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import polars as pl
import pytest
import yaml
from support import run_command

pytestmark = pytest.mark.slow

EXAMPLE = Path("examples/superstore")
CSV = "data/raw/superstore.csv"


def metrics(repo: Path) -> dict[str, object]:
    return json.loads((repo / "metrics" / "metrics.json").read_text(encoding="utf-8"))


@pytest.mark.parametrize("rows", [100, 1000])
def test_shipped_defaults_pass_on_small_tables(project_repo: Path, rows: int) -> None:
    """Only ingest.rows changes: validate's limits and the gates hold for 100 rows too."""
    params = project_repo / "params.yaml"
    text = params.read_text(encoding="utf-8")
    params.write_text(text.replace("  rows: 10000 ", f"  rows: {rows} "), encoding="utf-8")
    result = run_command(["dvc", "repro"], project_repo)
    assert "gate passed: r2" in result.stderr + result.stdout
    scored = metrics(project_repo)
    assert scored["gates_passed"] is True
    assert 0 < int(str(scored["rows"])) < rows  # the test split of this table, not the 10k one


def use_example(repo: Path) -> None:
    """What the README's "Use your own table" does: params of the example, its CSV in raw/."""
    shutil.copy2(repo / EXAMPLE / "params.yaml", repo / "params.yaml")
    shutil.copy2(repo / EXAMPLE / "superstore.csv", repo / CSV)


def test_the_superstore_example_runs_from_yaml_alone(project_repo: Path) -> None:
    use_example(project_repo)
    result = run_command(["dvc", "repro"], project_repo)
    scored = metrics(project_repo)
    assert scored["gates_passed"] is True
    assert float(str(scored["r2"])) >= 0.9
    # one order's rows share a split; the test rows carry the contract's key
    interim = pl.read_parquet(project_repo / "data" / "interim" / "sales.parquet")
    assert (
        interim.group_by("Order ID").agg(pl.col("split").n_unique()).get_column("split").max() == 1
    )
    predictions = pl.read_parquet(project_repo / "data" / "predictions" / "test.parquet")
    assert predictions.columns[0] == "Row ID"
    # two-digit years land in this century (the contract's pivot), not in year 16
    years = interim.get_column("Order Date").dt.year()
    assert 2016 <= int(str(years.min())) <= int(str(years.max())) <= 2020
    assert "auto chose" in result.stderr + result.stdout
    # the same YAML again gives the same bytes
    lock = (project_repo / "dvc.lock").read_bytes()
    run_command(["dvc", "repro", "--force"], project_repo)
    assert (project_repo / "dvc.lock").read_bytes() == lock


def test_a_missing_optional_column_leaves_its_input_out_with_one_warning(
    project_repo: Path,
) -> None:
    use_example(project_repo)
    table = pl.read_csv(project_repo / CSV, infer_schema=False).drop("Region")
    table.write_csv(project_repo / CSV)
    result = run_command(["dvc", "repro"], project_repo)
    output = result.stderr + result.stdout
    line = (
        "train.features: 'Region' left out: this table does not have that column "
        "(optional in the dataset contract)"
    )
    assert output.count(line) == 2  # once by validate, once by train
    card = json.loads((project_repo / "models" / "model_card.json").read_text(encoding="utf-8"))
    assert "Region" not in card["features"]
    assert metrics(project_repo)["gates_passed"] is True


def test_a_required_column_missing_stops_ingest_with_one_line(project_repo: Path) -> None:
    use_example(project_repo)
    table = pl.read_csv(project_repo / CSV, infer_schema=False).drop("Segment")
    table.write_csv(project_repo / CSV)
    contract = yaml.safe_load((project_repo / EXAMPLE / "dataset.yaml").read_text("utf-8"))
    assert contract["columns"]["Segment"].get("required", True)
    result = run_command(["dvc", "repro"], project_repo, check=False)
    assert result.returncode != 0
    assert f"error: {CSV}: missing required column(s) 'Segment'" in result.stderr
