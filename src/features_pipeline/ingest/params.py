"""Typed ``ingest:`` and ``split:`` sections of params.yaml."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field, ValidationInfo, field_validator, model_validator

from features_pipeline.contracts.params import StrictModel, plain_error
from features_pipeline.ingest.synthetic import memory_shortfall

SYNTHETIC_SOURCE = "synthetic"
MAX_SYNTHETIC_ROWS = 900_000_000  # as many as there are unique 9-digit Order IDs


class IngestParams(StrictModel):
    source: str = SYNTHETIC_SOURCE
    rows: int = Field(default=10_000, gt=0, le=MAX_SYNTHETIC_ROWS)
    seed: int = Field(default=42, ge=0)

    @model_validator(mode="before")
    @classmethod
    def _no_required_columns(cls, data: Any) -> Any:
        """``ingest.required_columns`` of older params files: now a key of each contract column."""
        if isinstance(data, dict) and "required_columns" in data:
            raise plain_error(
                "required_columns: moved to the dataset contract: mark a column that files may "
                "lack with 'required: false' there (the file dataset.contract names)"
            )
        return data

    @field_validator("rows")
    @classmethod
    def _fits_in_memory(cls, rows: int, info: ValidationInfo) -> int:
        """A synthetic sample must fit in the memory available now (checked before generating)."""
        if info.data.get("source") == SYNTHETIC_SOURCE:
            shortfall = memory_shortfall(rows)
            if shortfall is not None:
                raise plain_error(shortfall)
        return rows

    @property
    def is_synthetic(self) -> bool:
        return self.source == SYNTHETIC_SOURCE


class SplitParams(StrictModel):
    strategy: Literal["random", "time"] = "random"
    test_size: float = Field(default=0.2, gt=0, lt=1)
    seed: int = Field(default=42, ge=0, lt=2**64)
