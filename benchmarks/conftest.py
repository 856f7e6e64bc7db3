"""Shared inputs of the benchmark suites, and the ratio table printed at the end of a run.

Run every suite (about eight minutes on two cores; Spark benchmarks only with -m "not slow"):
    pytest benchmarks/ --benchmark-only
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from functools import cache
from pathlib import Path

import polars as pl
import pytest
from make_csv import make_csv
from results import EXTRA, RESULTS, ratio_table

from features_pipeline.contracts.dataset import load_contract
from features_pipeline.features.plan import Plan, input_schema_of, load_plan
from features_pipeline.ingest.split import assign_split
from features_pipeline.ingest.synthetic import generate_sales

SALES = load_contract(Path(__file__).resolve().parents[1] / "config" / "dataset.yaml")

REPO = Path(__file__).resolve().parents[1]
SPEC = REPO / "config" / "features.yaml"
SIZES = {"10k": 10_000, "1M": 1_000_000}
RATIOS_FILE = REPO / ".benchmarks" / "ratios.json"


@cache
def sales_with_split(rows: int) -> pl.DataFrame:
    """The interim table of ``rows`` synthetic orders (random split, fixed seeds); built once."""
    return assign_split(generate_sales(rows, seed=7), "random", 0.2, 42, SALES)


@pytest.fixture(scope="session")
def shipped_plan() -> Plan:
    return load_plan(SPEC, input_schema_of(SALES), SALES)


@pytest.fixture(scope="session", params=list(SIZES), ids=list(SIZES))
def sales(request: pytest.FixtureRequest) -> pl.DataFrame:
    return sales_with_split(SIZES[request.param])


@pytest.fixture(scope="session")
def sales_1m() -> pl.DataFrame:
    return sales_with_split(SIZES["1M"])


@pytest.fixture(scope="session", params=list(SIZES), ids=list(SIZES))
def sales_csv(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A generated CSV in the public files' dialect (M/D/YYYY dates, two-decimal money)."""
    path = tmp_path_factory.mktemp("csv") / f"sales_{request.param}.csv"
    return make_csv(SIZES[request.param], path)


def size_label(rows: int) -> str:
    return next(label for label, size in SIZES.items() if size == rows)


def venv_env(src: Path) -> dict[str, str]:
    """The environment DVC stages need: this interpreter's bin first on PATH, ``src`` imported."""
    env = dict(os.environ)
    env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}"
    env["PYTHONPATH"] = str(src)
    env.pop("LOG_LEVEL", None)
    return env


@pytest.fixture(scope="session")
def repo_copy(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, str]]:
    """The project's git-tracked files (as in the working tree) in a fresh one-commit git repo."""
    if shutil.which("git") is None:
        pytest.skip("git not found")
    target = tmp_path_factory.mktemp("repo")
    listed = subprocess.run(
        ["git", "-C", str(REPO), "ls-files", "-z"], check=True, capture_output=True
    ).stdout.split(b"\0")
    for name in filter(None, (entry.decode() for entry in listed)):
        source = REPO / name
        if source.is_file():
            (target / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, target / name)
    git = ["git", "-c", "user.name=bench", "-c", "user.email=bench@example.com"]
    for command in (["init", "-q"], ["add", "-A"], ["commit", "-q", "-m", "benchmark copy"]):
        subprocess.run([*git, *command], cwd=target, check=True)
    return target, venv_env(target / "src")


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    """The ratios of this run (also written to .benchmarks/ratios.json)."""
    rows = ratio_table()
    if not rows and not EXTRA:
        return
    terminalreporter.section("ratios of this run (< 1: the first is faster)")
    for label, value in rows:
        terminalreporter.write_line(f"{label:58s} {value:8.3f}")
    for label, value in sorted(EXTRA.items()):
        terminalreporter.write_line(f"{label:58s} {value:8.1f}")
    RATIOS_FILE.parent.mkdir(exist_ok=True)
    payload = {
        "ratios": {label: round(value, 4) for label, value in rows},
        "extra": {label: round(value, 2) for label, value in sorted(EXTRA.items())},
        "seconds": {key: round(value, 4) for key, value in sorted(RESULTS.items())},
    }
    RATIOS_FILE.write_text(json.dumps(payload, indent=2) + "\n", encoding="utf-8")
