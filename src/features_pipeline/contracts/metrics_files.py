"""The metrics files later stages and people read: ``metrics/train.json`` (cross-validation).

``metrics/metrics.json`` and ``metrics/validation.json`` are read only by DVC and ``compare``,
which treat them as generic nested metrics.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict

from features_pipeline.contracts.params import validated
from features_pipeline.contracts.paths import TRAIN_METRICS, Artifact

CvSummary = dict[str, float | int | None]  # folds, <score>_mean, <score>_std


class TrainMetrics(BaseModel):
    """``metrics/train.json``: the cross-validation summary and what the model was fit on."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    cv: CvSummary
    rows: int
    features: int

    def to_json(self) -> dict[str, Any]:
        return self.model_dump(mode="json")


def read_train_metrics(artifact: Artifact = TRAIN_METRICS) -> TrainMetrics:
    """Read and check metrics/train.json."""
    return validated(TrainMetrics, artifact.read_json(), str(artifact))
