"""Fitted feature state: tables learned on training rows, saved as parquet + JSON (no pickle)."""

from __future__ import annotations

import json
import shutil
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import polars as pl

from features_pipeline.contracts.dtypes import dtype_name, parse_dtype
from features_pipeline.errors import UserError
from features_pipeline.features.plan import Plan, build_plan
from features_pipeline.features.spec import parse_features

STATE_FILE = "state.json"
STATE_VERSION = 1


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


def _dtype_from_name(name: str) -> pl.DataType:
    dtype = parse_dtype(name)
    if dtype is None:
        raise UserError(f"feature state: unsupported dtype {name!r}")
    return dtype


def save_state(state: FittedState, directory: Path) -> None:
    """Write the state into ``directory`` (replaced whole; written beside it, then renamed)."""
    staging = directory.with_name(f".{directory.name}.tmp")
    shutil.rmtree(staging, ignore_errors=True)
    staging.mkdir(parents=True)
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
    (staging / STATE_FILE).write_text(text, encoding="utf-8")
    backup = directory.with_name(f".{directory.name}.old")
    shutil.rmtree(backup, ignore_errors=True)
    if directory.exists():
        directory.rename(backup)
    staging.rename(directory)
    shutil.rmtree(backup, ignore_errors=True)


def load_state(directory: Path) -> FittedState:
    """Read a state written by ``save_state``; re-validates the spec it carries."""
    manifest_path = directory / STATE_FILE
    if not manifest_path.exists():
        raise UserError(f"{directory}: no fitted feature state ({STATE_FILE} missing)")
    manifest = json.loads(manifest_path.read_text(encoding="utf-8"))
    if manifest.get("version") != STATE_VERSION:
        raise UserError(f"{manifest_path}: unsupported state version {manifest.get('version')!r}")
    schema = {name: _dtype_from_name(dtype) for name, dtype in manifest["input_schema"].items()}
    features = parse_features(manifest["features"], str(manifest_path))
    plan = build_plan(features, schema, manifest["target"], manifest["spec"])
    tables = tuple(
        LearnedTable(
            keys=tuple(entry["keys"]),
            features=tuple(entry["features"]),
            table=pl.read_parquet(directory / entry["file"]),
        )
        for entry in manifest["tables"]
    )
    return FittedState(plan=plan, specs=tuple(manifest["features"]), tables=tables)
