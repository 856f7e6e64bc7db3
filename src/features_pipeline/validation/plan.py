"""The parts of the features stage's plan.json that validation needs, read leniently."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel, ConfigDict, ValidationError

from features_pipeline import columns as c
from features_pipeline.errors import UserError
from features_pipeline.params import describe_validation_error


class _LenientModel(BaseModel):
    """Keys this reader does not need are ignored: the plan belongs to the features stage."""

    model_config = ConfigDict(extra="ignore", frozen=True)


class _PlannedFeatureModel(_LenientModel):
    dtype: str
    kind: str = "row-wise"
    inputs: tuple[str, ...] = ()
    target_derived: bool = False


class _PlanModel(_LenientModel):
    target: str = c.TOTAL_PROFIT
    features: dict[str, _PlannedFeatureModel]


@dataclass(frozen=True)
class PlannedFeature:
    """One engineered column: its name, polars dtype (as ``str(dtype)``) and provenance."""

    name: str
    dtype: str
    kind: str = "row-wise"
    inputs: tuple[str, ...] = ()
    target_derived: bool = False


@dataclass(frozen=True)
class FeaturePlan:
    """Every declared feature in plan order, and the target the plan was made for."""

    target: str
    features: tuple[PlannedFeature, ...]

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(feature.name for feature in self.features)

    def names_of(self, kind: str) -> tuple[str, ...]:
        return tuple(feature.name for feature in self.features if feature.kind == kind)

    @property
    def safe_inputs(self) -> tuple[str, ...]:
        """Features that may be model inputs: those not computed from the target row-wise."""
        return tuple(feature.name for feature in self.features if not feature.target_derived)


def parse_plan(payload: Any, source: str) -> FeaturePlan:
    """Validate a loaded plan.json mapping; a malformed plan is a UserError naming the key."""
    if not isinstance(payload, dict):
        raise UserError(f"{source}: expected a JSON object, got {type(payload).__name__}")
    try:
        model = _PlanModel.model_validate(payload)
    except ValidationError as exc:
        raise UserError(f"{source}: {describe_validation_error(exc, '')}") from None
    return FeaturePlan(
        target=model.target,
        features=tuple(
            PlannedFeature(
                name=name,
                dtype=feature.dtype,
                kind=feature.kind,
                inputs=feature.inputs,
                target_derived=feature.target_derived,
            )
            for name, feature in model.features.items()
        ),
    )
