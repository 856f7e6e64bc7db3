"""Shared fixtures: generated frames, a CSV writer for every dialect, a temp project dir, and a
temp git copy of the project for end-to-end tests (`project_repo`, `run_command`)."""

from __future__ import annotations

import datetime as dt
import importlib.util
import os
import shutil
import subprocess
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import Any

import polars as pl
import pytest
import yaml

from features_pipeline import columns as c
from features_pipeline.ingest.synthetic import generate_sales
from features_pipeline.runner import run_stage

REPO_ROOT = Path(__file__).resolve().parents[1]
VENV_BIN = Path(sys.executable).parent  # dvc, python and features-pipeline of this environment
MONEY_COLUMNS = (c.UNIT_PRICE, c.UNIT_COST, c.TOTAL_REVENUE, c.TOTAL_COST, c.TOTAL_PROFIT)


@dataclass(frozen=True)
class Dialect:
    """How a Sales Records CSV found in the wild may be spelled."""

    headers: str = "title"  # "title" (Item Type) | "snake" (item_type)
    separator: str = ","
    newline: str = "\n"
    money: str = "fixed"  # "fixed" (205.70) | "trimmed" (205.7, 566105)
    dates: str = "mdy"  # "mdy" (5/8/2010, no zero padding) | "mdy0" (05/08/2010) | "iso"
    bom: bool = False

    @property
    def label(self) -> str:
        sep = "semicolon" if self.separator == ";" else "comma"
        eol = "crlf" if self.newline == "\r\n" else "lf"
        bom = "-bom" if self.bom else ""
        return f"{self.headers}-{sep}-{eol}-{self.money}-{self.dates}{bom}"


def format_header(name: str, style: str) -> str:
    """``Item Type`` (title) or ``item_type`` (snake)."""
    return name if style == "title" else c.column_key(name)


def format_date(value: dt.date, style: str) -> str:
    """A date as written by the public files (M/D/YYYY, no zero padding) or a variant."""
    if style == "mdy":
        return f"{value.month}/{value.day}/{value.year}"
    if style == "mdy0":
        return f"{value.month:02d}/{value.day:02d}/{value.year}"
    return value.isoformat()


def format_money(value: float, style: str) -> str:
    """``205.70`` (fixed) or ``205.7`` / ``566105`` (trailing zeros dropped)."""
    text = f"{value:.2f}"
    if style == "trimmed":
        text = text.rstrip("0").rstrip(".")
    return text


def format_cell(name: str, value: Any, dialect: Dialect) -> str:
    """One cell; strings are written as they are (so tests can plant bad values)."""
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    if isinstance(value, dt.date):
        return format_date(value, dialect.dates)
    if name in MONEY_COLUMNS:
        return format_money(value, dialect.money)
    return str(value)


def csv_text(frame: pl.DataFrame, dialect: Dialect = Dialect()) -> str:
    """The CSV text of ``frame`` in ``dialect`` (without BOM), built cell by cell."""
    lines = [dialect.separator.join(format_header(n, dialect.headers) for n in frame.columns)]
    for row in frame.iter_rows(named=True):
        lines.append(dialect.separator.join(format_cell(n, v, dialect) for n, v in row.items()))
    return dialect.newline.join(lines) + dialect.newline


def write_sales_csv(path: Path, frame: pl.DataFrame, dialect: Dialect = Dialect()) -> Path:
    """Write ``frame`` as a CSV file in ``dialect`` (UTF-8, with a BOM when asked)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    data = csv_text(frame, dialect).encode("utf-8")
    path.write_bytes((b"\xef\xbb\xbf" if dialect.bom else b"") + data)
    return path


WriteCsv = Callable[..., Path]


@pytest.fixture
def write_csv(tmp_path: Path) -> WriteCsv:
    """``write_csv(frame, dialect=Dialect(), to="sales.csv")``: ``to`` is relative to tmp_path."""

    def write(
        frame: pl.DataFrame, dialect: Dialect = Dialect(), to: str | Path = "sales.csv"
    ) -> Path:
        return write_sales_csv(tmp_path / to, frame, dialect)

    return write


@pytest.fixture(scope="session")
def sales_small() -> pl.DataFrame:
    """200 generated orders: enough to hit every dialect detail, cheap to format."""
    return generate_sales(200, seed=7)


@pytest.fixture(scope="session")
def sales_medium() -> pl.DataFrame:
    """4000 generated orders: enough for distribution facts (every country, every ship delay)."""
    return generate_sales(4000, seed=11)


def default_params(**sections: dict[str, Any]) -> dict[str, Any]:
    """A small params mapping (ingest + split) with ``sections`` merged over the defaults."""
    params: dict[str, Any] = {
        "ingest": {"source": "synthetic", "rows": 300, "seed": 3},
        "split": {"strategy": "random", "test_size": 0.2, "seed": 42},
    }
    for name, values in sections.items():
        params[name] = {**params.get(name, {}), **values}
    return params


@dataclass
class Project:
    """A temp project dir (params.yaml, data/raw/) that is the current directory."""

    root: Path
    params: Path
    raw: Path
    output: Path

    def write_params(self, params: dict[str, Any]) -> Path:
        self.params.write_text(yaml.safe_dump(params, sort_keys=False), encoding="utf-8")
        return self.params


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Project:
    """A fresh project dir with default params.yaml and an empty data/raw/, chdir'ed into."""
    root = tmp_path / "project"
    (root / "data" / "raw").mkdir(parents=True)
    proj = Project(
        root=root,
        params=root / "params.yaml",
        raw=root / "data" / "raw",
        output=root / "data" / "interim" / "sales.parquet",
    )
    proj.write_params(default_params())
    monkeypatch.chdir(root)
    monkeypatch.delenv("LOG_LEVEL", raising=False)
    return proj


def error_lines(stderr: str) -> list[str]:
    """The ``error:`` lines a failed run printed."""
    return [line for line in stderr.splitlines() if line.startswith("error: ")]


def error_line(code: int, stderr: str) -> str:
    """The single ``error:`` line of a failed run: exit 1, no traceback."""
    assert code == 1, stderr
    assert "Traceback" not in stderr
    lines = error_lines(stderr)
    assert len(lines) == 1, stderr
    return lines[0]


def load_stage_module(name: str) -> ModuleType:
    """Import ``stages/<name>.py`` from its path (stage scripts are not a package)."""
    spec = importlib.util.spec_from_file_location(
        f"stage_{name}", REPO_ROOT / "stages" / f"{name}.py"
    )
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="session")
def ingest_stage() -> ModuleType:
    """The ``stages/ingest.py`` module."""
    return load_stage_module("ingest")


RunIngest = Callable[..., int]


@pytest.fixture
def run_ingest(ingest_stage: ModuleType, project: Project) -> RunIngest:
    """Run the ingest stage in-process in ``project``: ``run_ingest(*extra_args) -> exit code``."""

    def run(*extra: str) -> int:
        argv = ["--params", project.params.name, *extra]  # relative, as a user would type it
        return run_stage("ingest", ingest_stage.run, ingest_stage.__doc__ or "", argv=argv)

    return run


def command_env() -> dict[str, str]:
    """The environment of end-to-end commands: this venv first on PATH (DVC stage commands run
    ``python`` from PATH; queue workers need ``dvc``), DVC analytics off, default log level."""
    env = {
        **os.environ,
        "PATH": f"{VENV_BIN}{os.pathsep}{os.environ.get('PATH', '')}",
        "DVC_NO_ANALYTICS": "1",
        "PYTHONHASHSEED": "0",
    }
    env.pop("LOG_LEVEL", None)
    return env


def run_command(
    args: Sequence[str], cwd: Path, check: bool = True
) -> subprocess.CompletedProcess[str]:
    """Run ``args`` in ``cwd`` with :func:`command_env`; with ``check``, exit 0 is asserted."""
    result = subprocess.run(
        list(args), cwd=cwd, env=command_env(), capture_output=True, text=True, check=False
    )
    if check:
        assert result.returncode == 0, f"{args}: {result.stdout}{result.stderr}"
    return result


def copy_tracked_files(destination: Path) -> Path:
    """The git-tracked files of this project (working-tree content) copied to ``destination``."""
    listed = subprocess.run(
        ["git", "ls-files", "-z"], cwd=REPO_ROOT, capture_output=True, check=True
    ).stdout.decode()
    for name in filter(None, listed.split("\0")):
        source = REPO_ROOT / name
        if source.is_file():
            (destination / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, destination / name)
    return destination


@pytest.fixture
def project_repo(tmp_path: Path) -> Path:
    """This project as a fresh clone would have it: tracked files, one commit on ``main``, a git
    identity (DVC experiments are commits). Every end-to-end test runs DVC in one of these."""
    root = copy_tracked_files(tmp_path / "repo")
    for args in (
        ["git", "init", "-q", "-b", "main"],
        ["git", "config", "user.name", "features-pipeline tests"],
        ["git", "config", "user.email", "tests@features-pipeline.invalid"],
        ["git", "add", "-A"],
        ["git", "commit", "-qm", "Project as cloned"],
    ):
        run_command(args, root)
    return root
