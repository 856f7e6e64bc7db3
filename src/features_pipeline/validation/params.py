"""Typed ``validate:`` params, and a lenient reader of the two ``train:`` keys validation needs."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from pydantic import Field, model_validator

from features_pipeline.errors import UserError
from features_pipeline.features.plan_file import PlanSummary
from features_pipeline.params import StrictModel, target_column

Severity = Literal["error", "warn", "off"]


class CrossSplitSeverity(StrictModel):
    """What a cross-split finding does: fail the stage, warn, or not be checked at all."""

    unseen_category: Severity = "warn"
    constant_in_train: Severity = "warn"
    test_fraction: Severity = "warn"


class ValidateParams(StrictModel):
    max_null_fraction: float = Field(default=0.5, ge=0, le=1)
    allow_null_window_inputs: bool = True
    min_rows_per_split: int = Field(default=100, ge=1)
    min_test_fraction: float = Field(default=0.05, ge=0, le=1)
    max_test_fraction: float = Field(default=0.5, ge=0, le=1)
    severity: CrossSplitSeverity = CrossSplitSeverity()
    warnings_fail: bool = False

    @model_validator(mode="after")
    def _ordered_fractions(self) -> ValidateParams:
        if self.min_test_fraction > self.max_test_fraction:
            raise ValueError(
                f"min_test_fraction ({self.min_test_fraction}) is above "
                f"max_test_fraction ({self.max_test_fraction})"
            )
        return self


@dataclass(frozen=True)
class ModelInputs:
    """The target and the columns the model is trained on (``train.target``/``train.features``)."""

    target: str
    features: tuple[str, ...]


def read_model_inputs(raw: Mapping[str, Any], plan: PlanSummary, path: Path) -> ModelInputs:
    """Read ``train.target`` (default Total Profit) and ``train.features`` (default: every
    feature not derived from the target) from a loaded params mapping; other train keys are
    the train stage's business and are ignored here."""
    train = raw.get("train") or {}
    if not isinstance(train, Mapping):
        raise UserError(f"{path}: train: expected a mapping, got {type(train).__name__}")
    target = target_column(raw)
    if target != plan.target:
        raise UserError(
            f"{path}: train.target: {target!r} differs from the target the features were "
            f"planned for ({plan.target!r}); re-run the features stage"
        )
    features = train.get("features")
    if features is None:
        return ModelInputs(target, plan.safe_inputs)
    if not isinstance(features, list) or not all(isinstance(f, str) for f in features):
        raise UserError(f"{path}: train.features: expected a list of column names")
    seen: set[str] = set()
    for name in features:
        if name in seen:
            raise UserError(f"{path}: train.features: {name!r} is listed twice")
        seen.add(name)
    return ModelInputs(target, tuple(features))
