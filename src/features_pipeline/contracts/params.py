"""params.yaml: read once per stage process, each section validated into its typed model.

Section models live with the code that owns them (``ingest.params``, ``features.params``,
``validation.params``, ``model.params``); the keys two stages share (``train.target`` and
``train.features``, read by validate and train) are one model here, :class:`ModelInputsParams`.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from features_pipeline.columns import TOTAL_PROFIT
from features_pipeline.contracts.text import did_you_mean
from features_pipeline.errors import UserError

SECTIONS: tuple[str, ...] = (
    "engine",
    "ingest",
    "split",
    "features",
    "validate",
    "train",
    "evaluate",
)


class StrictModel(BaseModel):
    """Unknown keys are errors; values are immutable once loaded."""

    model_config = ConfigDict(extra="forbid", frozen=True)


T = TypeVar("T", bound=BaseModel)


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


def validated(model: type[T], payload: Any, source: str, prefix: str = "", hint: str = "") -> T:
    """``payload`` validated into ``model``; a mistake is one UserError line naming the key."""
    try:
        return model.model_validate(payload)
    except ValidationError as exc:
        raise UserError(f"{source}: {describe_validation_error(exc, prefix)}{hint}") from None


@dataclass(frozen=True)
class ParamsFile:
    """A loaded params file: its path (for messages) and its sections, parsed on request."""

    path: Path
    raw: dict[str, Any]

    def section(self, name: str, model: type[T]) -> T:
        """Validate section ``name`` into ``model`` (a missing section takes the defaults)."""
        values = self.raw.get(name, {})
        if values is None:
            values = {}
        if not isinstance(values, dict):
            raise UserError(f"{self.path}: {name}: expected a mapping, got {type(values).__name__}")
        return validated(model, values, str(self.path), prefix=name)


def read_params(path: Path) -> ParamsFile:
    """Load the params file at ``path``; an unknown section is a UserError naming it."""
    raw = load_yaml(path)
    for name in raw:
        if name not in SECTIONS:
            raise UserError(
                f"{path}: unknown section {name!r}{did_you_mean(str(name), SECTIONS)} "
                f"(sections: {', '.join(SECTIONS)})"
            )
    return ParamsFile(path, raw)


class ModelInputsParams(BaseModel):
    """``train.target`` and ``train.features``: what validate and train both read.

    ``features`` omitted means every feature of the plan not derived from the target
    (:meth:`ModelInputs.resolve`). Other ``train`` keys are ignored here: the train stage's
    :class:`~features_pipeline.model.params.TrainParams` extends this model and forbids them.
    """

    model_config = ConfigDict(extra="ignore", frozen=True)

    target: str = Field(default=TOTAL_PROFIT, min_length=1)
    features: tuple[str, ...] | None = Field(default=None, min_length=1)

    @field_validator("features")
    @classmethod
    def _no_duplicates(cls, names: tuple[str, ...] | None) -> tuple[str, ...] | None:
        seen: set[str] = set()
        for name in names or ():
            if name in seen:
                raise ValueError(f"{name!r} is listed twice")
            seen.add(name)
        return names
