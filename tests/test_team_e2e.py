"""Your own data and failed experiments, end to end in a temp git copy of the project (slow).

- A CSV versioned with `dvc add data/raw/<file>.csv` (pointer committed, data pushed) is found by
  queued experiments, which run in temporary copies holding git-tracked files only.
- A failing experiment run in a temporary workspace (`--temp`: a bad param, a failed gate) leaves
  the workspace's params, model, metrics, plots and reports byte for byte as they were; a failed
  queued experiment is listed by `features-pipeline compare` with no metrics, never its parent's.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from support import run_command, write_sales_csv

from features_pipeline.ingest.synthetic import generate_sales

pytestmark = pytest.mark.slow

CSV = "data/raw/sales_2024.csv"
ROWS = 8000  # with far fewer, the lag feature's first orders per group (no history) pass 50 % nulls
WORKSPACE_FILES = ("params.yaml", "dvc.lock", "models", "metrics", "plots", "reports")


def snapshot(repo: Path) -> dict[str, bytes]:
    """The bytes of every file a failed experiment must not touch."""
    found = {}
    for name in WORKSPACE_FILES:
        path = repo / name
        for file in [path] if path.is_file() else sorted(path.rglob("*")):
            if file.is_file():
                found[file.relative_to(repo).as_posix()] = file.read_bytes()
    return found


def experiments(repo: Path) -> dict[str, dict[str, Any]]:
    """{name: {"state": ..., "metrics": {...}}} from `dvc exp show --json`."""
    shown = json.loads(run_command(["dvc", "exp", "show", "--json"], repo).stdout)
    found = {}
    for entry in shown:
        for experiment in entry.get("experiments") or []:
            state = (experiment.get("executor") or {}).get("state")
            for revision in experiment["revs"]:
                metrics = (revision.get("data") or {}).get("metrics") or {}
                found[experiment["name"]] = {"state": state, "metrics": metrics}
    return found


def test_queued_experiments_run_on_a_dvc_added_csv(project_repo: Path, tmp_path: Path) -> None:
    repo = project_repo
    write_sales_csv(repo / CSV, generate_sales(ROWS, seed=5))
    for args in (
        ["dvc", "add", CSV],
        ["git", "add", f"{CSV}.dvc", "data/raw/.gitignore"],
        ["git", "commit", "-qm", "Data: sales_2024.csv"],
        ["dvc", "remote", "add", "-d", "shared", str(tmp_path / "dvc-store")],
        ["dvc", "push"],
    ):
        run_command(args, repo)
    assert run_command(["git", "check-ignore", CSV], repo).stdout.strip() == CSV  # data not in git
    assert (tmp_path / "dvc-store").is_dir()

    run_command(
        [
            "dvc", "exp", "run", "--queue",
            "-S", f"ingest.source={CSV}",
            "-S", "train.cv_folds=3,4",
        ],
        repo,
    )  # fmt: skip
    run_command(["dvc", "exp", "run", "--run-all"], repo)
    queue = run_command(["dvc", "queue", "status"], repo).stdout
    if "Failed" in queue:
        failed = next(line.split()[0] for line in queue.splitlines() if "Failed" in line)
        pytest.fail(run_command(["dvc", "queue", "logs", failed], repo, check=False).stdout)
    assert queue.count("Success") == 2, queue
    assert "Failed" not in queue, queue
    found = experiments(repo)
    assert len(found) == 2, found
    for name, experiment in found.items():
        assert experiment["state"] == "success", name
        rows = experiment["metrics"]["metrics/validation.json"]["data"]["rows"]
        assert rows["total"] == ROWS, name  # the user's CSV, not the 10,000-row sample
        assert experiment["metrics"]["metrics/metrics.json"]["data"]["gates_passed"] is True
    compared = json.loads(run_command(["features-pipeline", "compare", "--json"], repo).stdout)
    ran = [row for row in compared["rows"] if row["kind"] == "experiment"]
    assert len(ran) == 2
    # both scored (the exact fit's rmse is rounding noise, below the noise floor: 0)
    assert all(row["metrics"]["rmse"] == 0.0 and row["metrics"]["r2"] == 1.0 for row in ran)


def test_failed_experiments_leave_the_workspace_as_it_was(project_repo: Path) -> None:
    repo = project_repo
    run_command(["dvc", "repro"], repo)
    before = snapshot(repo)
    assert "models/model.skops" in before

    bad_param = run_command(
        ["dvc", "exp", "run", "--temp", "-S", "train.model.name=bogus"], repo, check=False
    )
    assert bad_param.returncode != 0
    assert "unknown model 'bogus'" in bad_param.stdout + bad_param.stderr
    assert snapshot(repo) == before

    failed_gate = run_command(
        ["dvc", "exp", "run", "--temp", "-S", "train.model.name=ridge",
         "-S", "+evaluate.gates.rmse={max: 0.001}"],
        repo,
        check=False,
    )  # fmt: skip
    assert failed_gate.returncode != 0
    assert "gate" in (failed_gate.stdout + failed_gate.stderr).lower()
    assert snapshot(repo) == before
    assert run_command(["git", "status", "--porcelain"], repo).stdout == ""

    # A failed queued experiment is kept (to read its log) and compared with no metrics.
    run_command(["dvc", "exp", "run", "--queue", "-n", "bad", "-S", "train.model.name=bogus"], repo)
    run_command(["dvc", "exp", "run", "--run-all"], repo)
    assert snapshot(repo) == before
    assert experiments(repo)["bad"]["state"] == "failed"
    compared = json.loads(run_command(["features-pipeline", "compare", "--json"], repo).stdout)
    rows = {row["name"]: row for row in compared["rows"]}
    assert rows["bad"]["state"] == "failed"
    assert rows["bad"]["metrics"] == {}  # not the parent's rmse beside the bogus params
    assert rows["bad"]["params"]["train.model.name"] == "bogus"
    assert compared["best_experiment"] is None
    table = run_command(["features-pipeline", "compare"], repo).stdout
    assert "experiment (failed)" in table, table
