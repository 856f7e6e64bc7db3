"""Typed ``validate:`` section of params.yaml."""

from __future__ import annotations

from typing import Literal

from pydantic import Field, model_validator

from features_pipeline.contracts.params import StrictModel

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
