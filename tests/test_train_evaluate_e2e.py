"""End to end with DVC in a temp repo copy: the whole chain, reproducibility, an experiment."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from conftest import REPO_ROOT

OUTPUTS = (
    "models/model.skops",
    "models/model_card.json",
    "metrics/train.json",
    "metrics/metrics.json",
    "plots/cv_folds.csv",
    "plots/predictions.csv",
    "plots/importance.csv",
    "reports/evaluation.html",
    "reports/evaluation.md",
    "data/predictions/test.parquet",
)


def run(args: list[str], cwd: Path) -> subprocess.CompletedProcess[str]:
    env = {
        **os.environ,
        "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}",
        "DVC_NO_ANALYTICS": "1",
        "PYTHONHASHSEED": "0",
    }
    env.pop("LOG_LEVEL", None)
    result = subprocess.run(args, cwd=cwd, env=env, capture_output=True, text=True, check=False)
    assert result.returncode == 0, f"{args}: {result.stdout}{result.stderr}"
    return result


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
    run(["git", "init", "-q"], root)
    run(["git", "config", "user.name", "t"], root)
    run(["git", "config", "user.email", "t@t"], root)
    run(["git", "add", "-A"], root)
    run(["git", "commit", "-qm", "copy"], root)
    return root


def metrics(root: Path) -> dict:
    return json.loads((root / "metrics/metrics.json").read_text(encoding="utf-8"))


def test_metrics_and_plots_are_declared_at_the_top_level() -> None:
    pipeline = yaml.safe_load((REPO_ROOT / "dvc.yaml").read_text(encoding="utf-8"))
    assert {"metrics/train.json", "metrics/metrics.json"} <= set(pipeline["metrics"])
    plots = {next(iter(plot)) for plot in pipeline["plots"]}
    assert plots == {"predicted_vs_actual", "residuals", "feature_importance", "cv_fold_scores"}
    assert "metrics/validation.json" in pipeline["stages"]["train"]["deps"]


@pytest.mark.slow
def test_repro_is_reproducible_and_an_experiment_changes_the_metrics(repo: Path) -> None:
    run(["dvc", "repro"], repo)
    for output in OUTPUTS:
        assert (repo / output).is_file(), output
    baseline = metrics(repo)
    assert baseline["gates_passed"] is True
    run(["git", "add", "-A"], repo)
    run(["git", "commit", "-qm", "repro", "--allow-empty"], repo)  # empty: lock/metrics as committed

    run(["dvc", "repro", "--force", "train", "evaluate"], repo)
    diff = run(["git", "status", "--porcelain", "dvc.lock", "metrics", "plots"], repo)
    assert diff.stdout == "", diff.stdout  # byte-identical model, metrics and plot data

    shown = json.loads(run(["dvc", "metrics", "show", "--json"], repo).stdout)
    assert json.dumps(shown).count('"rmse"') >= 1
    run(["dvc", "plots", "show", "-o", "dvc_plots"], repo)
    assert (repo / "dvc_plots/index.html").is_file()

    run(["dvc", "exp", "run", "-n", "ridge", "-S", "train.model.name=ridge"], repo)
    ridge = metrics(repo)
    assert ridge["rmse"] != baseline["rmse"]
    table = run(["dvc", "exp", "show", "--json"], repo).stdout
    assert '"ridge"' in table
    run(["dvc", "plots", "diff", "HEAD", "ridge", "-o", "dvc_plots_diff"], repo)
