"""Typed params.yaml sections, validated on load with messages that name the key."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal, TypeVar

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from features_pipeline.columns import RAW_COLUMNS, TOTAL_PROFIT, canonical_column_name
from features_pipeline.errors import UserError

DEFAULT_PARAMS = Path("params.yaml")
SYNTHETIC_SOURCE = "synthetic"
RAW_DATA_DIR = Path("data/raw")
MAX_SYNTHETIC_ROWS = 900_000_000  # as many as there are unique 9-digit Order IDs


class StrictModel(BaseModel):
    """Unknown keys are errors; values are immutable once loaded."""

    model_config = ConfigDict(extra="forbid", frozen=True)


class IngestParams(StrictModel):
    source: str = SYNTHETIC_SOURCE
    rows: int = Field(default=10_000, gt=0, le=MAX_SYNTHETIC_ROWS)
    seed: int = Field(default=42, ge=0)
    required_columns: tuple[str, ...] = RAW_COLUMNS

    @field_validator("required_columns")
    @classmethod
    def _known_columns(cls, names: tuple[str, ...]) -> tuple[str, ...]:
        canonical = []
        for name in names:
            known = canonical_column_name(name)
            if known is None:
                raise ValueError(f"unknown column {name!r}; known: {', '.join(RAW_COLUMNS)}")
            canonical.append(known)
        return tuple(canonical)

    @property
    def is_synthetic(self) -> bool:
        return self.source == SYNTHETIC_SOURCE


class SplitParams(StrictModel):
    strategy: Literal["random", "time"] = "random"
    test_size: float = Field(default=0.2, gt=0, lt=1)
    seed: int = Field(default=42, ge=0, lt=2**64)


class FeaturesParams(StrictModel):
    spec: Path = Path("config/features.yaml")
    mode: Literal["planned", "sequential"] = "planned"


T = TypeVar("T", bound=BaseModel)


def target_column(raw: dict[str, Any]) -> str:
    """``train.target`` from a loaded params mapping (the one place the target is declared)."""
    train = raw.get("train") or {}
    target = train.get("target", TOTAL_PROFIT) if isinstance(train, dict) else TOTAL_PROFIT
    if not isinstance(target, str) or not target:
        raise UserError(f"params: train.target: expected a column name (got {target!r})")
    return target


def load_yaml(path: Path) -> dict[str, Any]:
    """Read a YAML mapping with ``safe_load``; a missing or malformed file is a UserError."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise UserError(f"{path}: file not found") from None
    except UnicodeDecodeError as exc:
        raise UserError(f"{path}: not UTF-8 text ({exc.reason} at byte {exc.start})") from None
    try:
        loaded = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" line {mark.line + 1}" if mark is not None else ""
        problem = getattr(exc, "problem", None) or str(exc)
        raise UserError(f"{path}:{where}: invalid YAML: {problem}") from None
    if loaded is None:
        return {}
    if not isinstance(loaded, dict):
        raise UserError(f"{path}: expected a mapping at the top level, got {type(loaded).__name__}")
    return loaded


def describe_validation_error(error: ValidationError, prefix: str) -> str:
    """One line for the first problem: ``ingest.rows: Input should be greater than 0 (got -5)``."""
    first = error.errors()[0]
    location = ".".join(str(part) for part in (prefix, *first["loc"]) if part != "")
    message = first["msg"].removeprefix("Value error, ")
    if first["type"] == "extra_forbidden":
        message = "unknown key"
    elif "input" in first and first["type"] != "missing":
        message = f"{message} (got {first['input']!r})"
    return f"{location}: {message}"


def parse_section(raw: dict[str, Any], section: str, model: type[T], path: Path) -> T:
    """Validate one section of a loaded params mapping into ``model``."""
    values = raw.get(section, {})
    if values is None:
        values = {}
    if not isinstance(values, dict):
        raise UserError(f"{path}: {section}: expected a mapping, got {type(values).__name__}")
    try:
        return model.model_validate(values)
    except ValidationError as exc:
        raise UserError(f"{path}: {describe_validation_error(exc, section)}") from None


def load_section(path: Path, section: str, model: type[T]) -> T:
    """Load and validate ``section`` of the params file at ``path``."""
    return parse_section(load_yaml(path), section, model, path)
