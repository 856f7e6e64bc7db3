"""Shared test helpers (a plain module, imported by tests and conftest alike): CSV dialects and
writers, a temp project, stage runners, and commands run as a user would in a git copy."""

from __future__ import annotations

import datetime as dt
import importlib
import os
import shutil
import subprocess
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from importlib.util import find_spec
from pathlib import Path
from types import ModuleType
from typing import Any

import polars as pl
import sales_columns as c
import yaml

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
    """The stage's wiring module, ``features_pipeline.stages.<name>``."""
    return importlib.import_module(f"features_pipeline.stages.{name}")


RunIngest = Callable[..., int]


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


def install_contract(root: Path, contract: Path = c.CONTRACT_PATH) -> Path:
    """Copy the shipped dataset contract (or ``contract``) to ``root/config/dataset.yaml``,
    where the default params.yaml names it."""
    target = root / "config" / "dataset.yaml"
    target.parent.mkdir(parents=True, exist_ok=True)
    shutil.copy2(contract, target)
    return target


def edit_contract(root: Path, column: str | None = None, **keys: Any) -> Path:
    """Change ``root/config/dataset.yaml``: ``keys`` of ``column`` (or top-level keys when no
    column is given), as a user edits the YAML."""
    path = root / "config" / "dataset.yaml"
    contract = yaml.safe_load(path.read_text(encoding="utf-8"))
    target = contract["columns"][column] if column else contract
    target.update(keys)
    path.write_text(yaml.safe_dump(contract, sort_keys=False), encoding="utf-8")
    return path


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


def init_git_repo(root: Path) -> Path:
    """``root`` as a fresh clone has it: one commit on ``main`` and a git identity (DVC
    experiments are commits)."""
    for args in (
        ["git", "init", "-q", "-b", "main"],
        ["git", "config", "user.name", "features-pipeline tests"],
        ["git", "config", "user.email", "tests@features-pipeline.invalid"],
        ["git", "add", "-A"],
        ["git", "commit", "-qm", "Project as cloned"],
    ):
        run_command(args, root)
    return root


# marker -> (the module its tests need, the extra that installs it): the README's set-up
# (`.[dev]`) has neither engine, so their tests skip with this reason; .ci/run installs `.[all]`
OPTIONAL_ENGINES = {"duckdb": ("duckdb", "duckdb"), "spark": ("pyspark", "spark")}


def missing_engine_reason(marker: str) -> str | None:
    """Why tests marked ``marker`` cannot run here (None when its package is installed)."""
    module, extra = OPTIONAL_ENGINES[marker]
    if find_spec(module) is not None:
        return None
    return f"{module} is not installed (pip install -r requirements/all.txt: the {extra} extra)"
