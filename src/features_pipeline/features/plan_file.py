"""``data/features/plan.json``: what the planner decided, read back by validate, train and predict.

One lenient reader (keys a reader does not need are ignored) so the stages after ``features``
agree on what a feature is: its dtype, kind, inputs and whether it is derived from the target.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, ValidationError

from features_pipeline import columns as c
from features_pipeline.errors import UserError
from features_pipeline.io import read_json_object
from features_pipeline.params import describe_validation_error
from features_pipeline.paths import PLAN_FILE

WINDOW = "window"


class _LenientModel(BaseModel):
    """Keys a reader does not need are ignored: the plan belongs to the features stage."""

    model_config = ConfigDict(extra="ignore", frozen=True)


class _EntryModel(_LenientModel):
    dtype: str
    type: str = "unknown"
    kind: str = "row-wise"
    inputs: tuple[str, ...] = ()
    depends_on_target: bool = False
    target_derived: bool  # no default: a plan that does not say is never taken as safe


class _PlanModel(_LenientModel):
    target: str = c.TOTAL_PROFIT
    spec: str | None = None
    features: dict[str, _EntryModel]


@dataclass(frozen=True)
class PlanEntry:
    """One engineered column: polars dtype (as ``str(dtype)``), type, kind and provenance."""

    name: str
    dtype: str
    type: str = "unknown"
    kind: str = "row-wise"
    inputs: tuple[str, ...] = ()
    depends_on_target: bool = False
    target_derived: bool = False


@dataclass(frozen=True)
class PlanSummary:
    """Every declared feature in plan order, the target it was planned for and the spec path."""

    target: str
    features: tuple[PlanEntry, ...]
    spec: str | None = None

    def __contains__(self, name: object) -> bool:
        return any(entry.name == name for entry in self.features)

    def __getitem__(self, name: str) -> PlanEntry:
        entry = self.get(name)
        if entry is None:
            raise KeyError(name)
        return entry

    def __iter__(self) -> Iterator[PlanEntry]:
        return iter(self.features)

    def get(self, name: str) -> PlanEntry | None:
        return next((entry for entry in self.features if entry.name == name), None)

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(entry.name for entry in self.features)

    def names_of(self, kind: str) -> tuple[str, ...]:
        return tuple(entry.name for entry in self.features if entry.kind == kind)

    @property
    def safe_inputs(self) -> tuple[str, ...]:
        """Features that may be model inputs: those not computed from the target row-wise."""
        return tuple(entry.name for entry in self.features if not entry.target_derived)

    def window_features(self, names: Sequence[str]) -> list[str]:
        """Those of ``names`` that look at other rows in date order (they need history)."""
        return [name for name in names if name in self and self[name].kind == WINDOW]


def parse_plan_summary(payload: Any, source: str) -> PlanSummary:
    """Validate a loaded plan.json mapping; a malformed plan is a UserError naming the key."""
    if not isinstance(payload, dict):
        raise UserError(f"{source}: expected a JSON object, got {type(payload).__name__}")
    try:
        model = _PlanModel.model_validate(payload)
    except ValidationError as exc:
        raise UserError(f"{source}: {describe_validation_error(exc, '')}") from None
    return PlanSummary(
        target=model.target,
        spec=model.spec,
        features=tuple(
            PlanEntry(name=name, **entry.model_dump()) for name, entry in model.features.items()
        ),
    )


def read_plan_summary(path: Path = PLAN_FILE) -> PlanSummary:
    """Read and check plan.json; a missing or malformed file is a UserError."""
    return parse_plan_summary(read_json_object(path, "features"), str(path))
