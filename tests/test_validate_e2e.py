"""End to end with DVC in a temp repo copy: bad interim data stops the pipeline at validate."""

from __future__ import annotations

import json
from pathlib import Path

import polars as pl
import pytest
import sales_columns as c
import yaml
from support import REPO_ROOT, run_command

from features_pipeline.io import write_parquet_atomic

INTERIM = Path("data/interim/sales.parquet")


def corrupt_interim(root: Path) -> None:
    """Plant two raw-contract violations that the features stage passes through unchanged."""
    path = root / INTERIM
    frame = pl.read_parquet(path)
    ids = frame.get_column(c.ORDER_ID).clone()
    ids[5] = ids[0]  # a duplicated Order ID
    cost = frame.get_column(c.TOTAL_COST).clone()
    cost[9] = cost[9] + 100.0  # Total Cost != Units Sold x Unit Cost
    write_parquet_atomic(frame.with_columns(ids, cost), path)


def test_train_depends_on_the_validation_verdict() -> None:
    stages = yaml.safe_load((REPO_ROOT / "dvc.yaml").read_text(encoding="utf-8"))["stages"]
    validate_outputs = {next(iter(m)) for m in stages["validate"]["metrics"]}
    train_deps = set(stages["train"]["deps"])
    assert validate_outputs & train_deps == {"metrics/validation.json"}


@pytest.mark.slow
def test_bad_interim_data_stops_the_pipeline_before_training(project_repo: Path) -> None:
    repo = project_repo
    run_command(["dvc", "repro", "validate"], repo)
    metrics = json.loads((repo / "metrics/validation.json").read_text(encoding="utf-8"))
    assert metrics["checks"]["failed"] == 0
    assert metrics["rows"]["total"] == metrics["rows"]["train"] + metrics["rows"]["test"] > 0
    assert (repo / "reports/validation_failures.csv").exists()

    corrupt_interim(repo)
    # Everything downstream of the interim table (re-running ingest would repair it).
    bad = run_command(["dvc", "repro", "--downstream", "features"], repo, check=False)
    output = bad.stdout + bad.stderr
    assert bad.returncode != 0, output
    assert "Running stage 'validate'" in output
    assert "error: data/features/features.parquet: column 'Order ID' fails check" in output
    assert "python stages/validate.py, exited with 1" in output
    assert "Traceback" not in output
    assert "Running stage 'train'" not in output
    assert not (repo / "models/model.skops").exists()
    failures = pl.read_csv(repo / "reports/validation_failures.csv")
    assert set(failures.get_column("column")) >= {c.ORDER_ID, c.TOTAL_COST}
    metrics = json.loads((repo / "metrics/validation.json").read_text(encoding="utf-8"))
    assert metrics["checks"]["failed"] >= 2
    status = run_command(["dvc", "status", "validate"], repo)
    assert "validate:" in status.stdout  # the failed run was not recorded in dvc.lock
