"""End to end with DVC in a temp repo copy: bad interim data stops the pipeline at validate."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import polars as pl
import pytest
import yaml
from conftest import REPO_ROOT

from features_pipeline import columns as c
from features_pipeline.io import write_parquet_atomic

INTERIM = Path("data/interim/sales.parquet")


def run(args: list[str], cwd: Path) -> subprocess.CompletedProcess[str]:
    env = {
        **os.environ,
        "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}",
        "DVC_NO_ANALYTICS": "1",
        "PYTHONHASHSEED": "0",
    }
    env.pop("LOG_LEVEL", None)
    return subprocess.run(args, cwd=cwd, env=env, capture_output=True, text=True, check=False)


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    """The tracked files of this repo in a fresh git repo (as a clone would have them)."""
    root = tmp_path / "repo"
    listed = subprocess.run(
        ["git", "ls-files", "-z"], cwd=REPO_ROOT, capture_output=True, check=True
    ).stdout.decode()
    for name in filter(None, listed.split("\0")):
        source = REPO_ROOT / name
        if source.is_file():
            (root / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, root / name)
    for args in (
        ["git", "init", "-q"],
        ["git", "add", "-A"],
        ["git", "-c", "user.name=t", "-c", "user.email=t@t", "commit", "-qm", "copy"],
    ):
        assert run(args, root).returncode == 0
    return root


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
def test_bad_interim_data_stops_the_pipeline_before_training(repo: Path) -> None:
    clean = run(["dvc", "repro", "validate"], repo)
    assert clean.returncode == 0, clean.stdout + clean.stderr
    metrics = json.loads((repo / "metrics/validation.json").read_text(encoding="utf-8"))
    assert metrics["checks"]["failed"] == 0
    assert metrics["rows"]["total"] == metrics["rows"]["train"] + metrics["rows"]["test"] > 0
    assert (repo / "reports/validation_failures.csv").exists()

    corrupt_interim(repo)
    # Everything downstream of the interim table (re-running ingest would repair it).
    bad = run(["dvc", "repro", "--downstream", "features"], repo)
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
    status = run(["dvc", "status", "validate"], repo)
    assert "validate:" in status.stdout  # the failed run was not recorded in dvc.lock
