"""Fitted feature state: tables learned on training rows, saved as parquet + JSON (no pickle)."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import polars as pl
from pydantic import BaseModel, ConfigDict, ValidationError

from features_pipeline.contracts.dtypes import dtype_name, parse_dtype
from features_pipeline.errors import UserError
from features_pipeline.features.plan import Plan, build_plan
from features_pipeline.features.spec import parse_features
from features_pipeline.io import atomic_dir

STATE_FILE = "state.json"
STATE_VERSION = 1
FEATURE_STAGE = "features"  # the stage that writes the state: what re-creates a broken one


@dataclass(frozen=True)
class LearnedTable:
    """One aggregation over training rows: ``keys`` -> learned columns of ``features``."""

    keys: tuple[str, ...]
    features: tuple[str, ...]
    table: pl.DataFrame


@dataclass(frozen=True)
class FittedState:
    """Everything needed to transform new rows exactly as the training rows were."""

    plan: Plan
    specs: tuple[dict[str, Any], ...]
    tables: tuple[LearnedTable, ...] = field(default=())

    def tables_for(self, names: set[str]) -> list[LearnedTable]:
        return [table for table in self.tables if set(table.features) & names]


def _dtype_from_name(name: str, source: Path) -> pl.DataType:
    dtype = parse_dtype(name)
    if dtype is None:
        raise _broken(source, f"unsupported dtype {name!r}")
    return dtype


def save_state(state: FittedState, directory: Path) -> None:
    """Write the state into ``directory``, replaced whole: written in a staging folder beside
    it (``.state.<pid>.tmp``), then swapped in, so there is always one complete state."""
    with atomic_dir(directory) as staging:
        entries = []
        for index, learned in enumerate(state.tables):
            file_name = f"table_{index:03d}.parquet"
            learned.table.write_parquet(staging / file_name, compression="zstd")
            entries.append(
                {"file": file_name, "keys": list(learned.keys), "features": list(learned.features)}
            )
        manifest = {
            "version": STATE_VERSION,
            "target": state.plan.target,
            "spec": state.plan.source,
            "input_schema": {
                name: dtype_name(dtype) for name, dtype in state.plan.input_schema.items()
            },
            "features": list(state.specs),
            "tables": entries,
        }
        text = json.dumps(manifest, indent=2, sort_keys=True) + "\n"
        (staging / STATE_FILE).write_text(text, encoding="utf-8")  # last: marks it complete


class _TableEntry(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)
    file: str
    keys: list[str]
    features: list[str]


class _Manifest(BaseModel):
    """The shape of ``state.json`` (the version is checked first, on its own)."""

    model_config = ConfigDict(extra="forbid", strict=True)
    version: int
    target: str
    spec: str
    input_schema: dict[str, str]
    features: list[dict[str, Any]]
    tables: list[_TableEntry]


def _broken(path: Path, problem: str) -> UserError:
    return UserError(f"{path}: {problem}; re-run `dvc repro {FEATURE_STAGE}`")


def _read_manifest(path: Path) -> _Manifest:
    """``state.json`` parsed and shape-checked; anything else is one UserError line."""
    try:
        loaded = json.loads(path.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise _broken(path, f"corrupt or truncated feature state ({exc})") from None
    if not isinstance(loaded, dict):
        raise _broken(path, f"corrupt feature state (a JSON {type(loaded).__name__})")
    if loaded.get("version") != STATE_VERSION:
        raise _broken(path, f"unsupported state version {loaded.get('version')!r}")
    try:
        return _Manifest.model_validate(loaded)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(part) for part in first["loc"]) or "state"
        raise _broken(path, f"corrupt feature state (key {where!r}: {first['msg']})") from None


def _table_path(directory: Path, manifest_path: Path, name: str) -> Path:
    """``directory / name`` for a plain file name; anything else (a path, ``..``) is refused."""
    if name in {"", ".", ".."} or Path(name).name != name or "\\" in name:
        raise _broken(manifest_path, f"state table {name!r} is not a file in {directory}")
    path = directory / name
    if not path.is_file():
        raise _broken(path, f"state table missing (listed in {STATE_FILE})")
    return path


def _read_table(path: Path) -> pl.DataFrame:
    try:
        return pl.read_parquet(path)
    except (pl.exceptions.PolarsError, OSError) as exc:
        raise _broken(path, f"unreadable state table ({type(exc).__name__})") from None


def load_state(directory: Path) -> FittedState:
    """Read a state written by ``save_state``; re-validates the spec it carries.

    A corrupt manifest, a missing or unreadable table, or an entry naming anything but a file
    of ``directory`` is a UserError; no path outside ``directory`` is opened.
    """
    manifest_path = directory / STATE_FILE
    if not manifest_path.exists():
        raise UserError(f"{directory}: no fitted feature state ({STATE_FILE} missing)")
    manifest = _read_manifest(manifest_path)
    schema = {
        name: _dtype_from_name(dtype, manifest_path)
        for name, dtype in manifest.input_schema.items()
    }
    features = parse_features(manifest.features, str(manifest_path))
    plan = build_plan(features, schema, manifest.target, manifest.spec)
    files = [_table_path(directory, manifest_path, entry.file) for entry in manifest.tables]
    tables = tuple(
        LearnedTable(tuple(entry.keys), tuple(entry.features), _read_table(path))
        for entry, path in zip(manifest.tables, files, strict=True)
    )
    return FittedState(plan=plan, specs=tuple(manifest.features), tables=tables)
