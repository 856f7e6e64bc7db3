"""``data/features/plan.json``: what the planner decided, one typed model for its writer (the
features stage) and every reader (validate, train, evaluate, predict).

A plan that does not say whether a feature is derived from the target is refused: such a
feature is never taken as a safe model input.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, model_validator

from features_pipeline.contracts.params import ModelInputsParams, validated
from features_pipeline.contracts.paths import PLAN_FILE, Artifact
from features_pipeline.errors import UserError
from features_pipeline.logs import get_logger

log = get_logger(__name__)


class Kind(StrEnum):
    """How a feature reads data: its own row, a table learned on train rows, or ordered history."""

    ROW = "row-wise"
    FITTED = "fitted"
    WINDOW = "window"


class _PlanModel(BaseModel):
    """Keys a reader does not need are ignored; values are immutable once loaded."""

    model_config = ConfigDict(extra="ignore", frozen=True)


class PlanEntry(_PlanModel):
    """One engineered column: polars dtype (as ``str(dtype)``), type, kind and provenance."""

    name: str = Field(default="", exclude=True)  # the key of ``features`` in the file
    type: str = "unknown"
    kind: Kind = Kind.ROW
    dtype: str
    inputs: tuple[str, ...] = ()
    level: int = 0
    depends_on_target: bool = False
    target_derived: bool  # no default: a plan that does not say is never taken as safe


class PlanFile(_PlanModel):
    """Every declared feature in plan order, the target it was planned for and the spec path."""

    target: str
    spec: str | None = None
    levels: tuple[tuple[str, ...], ...] = ()
    features: dict[str, PlanEntry]
    dropped: dict[str, str] = {}  # feature -> the absent optional column it needed

    @model_validator(mode="before")
    @classmethod
    def _names_from_keys(cls, data: Any) -> Any:
        features = data.get("features") if isinstance(data, dict) else None
        if isinstance(features, dict):
            named = {
                name: {**entry, "name": name} if isinstance(entry, dict) else entry
                for name, entry in features.items()
            }
            return {**data, "features": named}
        return data

    def __contains__(self, name: object) -> bool:
        return name in self.features

    def __getitem__(self, name: str) -> PlanEntry:
        return self.features[name]

    def __iter__(self) -> Iterator[PlanEntry]:  # type: ignore[override]
        return iter(self.features.values())

    def get(self, name: str) -> PlanEntry | None:
        return self.features.get(name)

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(self.features)

    def names_of(self, kind: Kind) -> tuple[str, ...]:
        return tuple(entry.name for entry in self if entry.kind is kind)

    @property
    def safe_inputs(self) -> tuple[str, ...]:
        """Features that may be model inputs: those not computed from the target row-wise."""
        return tuple(entry.name for entry in self if not entry.target_derived)

    def window_features(self, names: Sequence[str]) -> list[str]:
        """Those of ``names`` that look at other rows in date order (they need history)."""
        return [name for name in names if name in self and self[name].kind is Kind.WINDOW]

    def to_json(self) -> dict[str, Any]:
        """The JSON-ready content of plan.json (``dropped`` only when some feature was)."""
        return self.model_dump(mode="json", exclude={"dropped"} if not self.dropped else None)


def parse_plan_file(payload: Any, source: str) -> PlanFile:
    """Validate a loaded plan.json mapping; a malformed plan is a UserError naming the key."""
    if not isinstance(payload, dict):
        raise UserError(f"{source}: expected a JSON object, got {type(payload).__name__}")
    return validated(PlanFile, payload, source)


def read_plan_file(artifact: Artifact = PLAN_FILE) -> PlanFile:
    """Read and check plan.json; a missing or malformed file is a UserError."""
    return parse_plan_file(artifact.read_json(), str(artifact))


@dataclass(frozen=True)
class ModelInputs:
    """The target and the columns the model is trained on."""

    target: str
    features: tuple[str, ...]


def model_inputs(
    params: ModelInputsParams, plan: PlanFile, source: str, target: str, absent: Sequence[str]
) -> ModelInputs:
    """The contract's ``target`` (it must be the plan's) and ``train.features`` (omitted: every
    feature of the plan not derived from the target): the one answer validate and train share.

    An input the table cannot have (a column of ``absent``: optional in the contract and not in
    the table, or a feature dropped for one) is left out with one warning line.
    """
    if target != plan.target:
        raise UserError(
            f"{source}: target {target!r} differs from the feature plan's target "
            f"{plan.target!r} ({PLAN_FILE}); re-run the features stage (`dvc repro`)"
        )
    features = params.features if params.features is not None else plan.safe_inputs
    kept = []
    for name in features:
        why = _unavailable(name, plan, absent)
        if why is None:
            kept.append(name)
        else:
            log.warning("train.features: %r left out: %s", name, why)
    if not kept:
        raise UserError(
            f"{source}: train.features: none of the model inputs is available in this table; "
            "list columns or features it has"
        )
    return ModelInputs(target, tuple(kept))


def _unavailable(name: str, plan: PlanFile, absent: Sequence[str]) -> str | None:
    if name in plan.dropped:
        return f"it needs column {plan.dropped[name]!r}, which this table does not have"
    if name in absent:
        return "this table does not have that column (optional in the dataset contract)"
    return None
