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
SKIPPED_FOR_BUDGET = "budget"


class _Frozen(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class CandidateMetrics(_Frozen):
    """One model ``auto`` considered: its planned seconds and CV scores, or why it was skipped."""

    estimated_s: float  # planned CV + final fit seconds (from the data's shape, not a clock)
    cv: CvSummary | None = None  # None: not cross-validated
    skipped: str | None = None  # why not (``budget``)


class AutoMetrics(_Frozen):
    """How ``train.model.name: auto`` chose: every candidate, cheapest first."""

    metric: str  # the CV score that decided (rmse, mae: lowest wins; r2: highest)
    budget_s: float
    chosen: str
    # by name (the file is written with sorted keys); tried cheapest ``estimated_s`` first,
    # registry order on ties
    candidates: dict[str, CandidateMetrics]

    def to_json(self) -> dict[str, Any]:
        """Without the empty ``cv``/``skipped`` of each candidate."""
        payload = self.model_dump(mode="json")
        for entry in payload["candidates"].values():
            for key in ("cv", "skipped"):
                if entry[key] is None:
                    del entry[key]
        return payload


class TrainMetrics(_Frozen):
    """``metrics/train.json``: the cross-validation summary and what the model was fit on;
    with ``train.model.name: auto``, every candidate's scores too."""

    cv: CvSummary
    rows: int
    features: int
    model: str | None = None  # the registry name of the fitted model
    auto: AutoMetrics | None = None

    def to_json(self) -> dict[str, Any]:
        payload = self.model_dump(mode="json", exclude={"auto"})
        if self.model is None:
            del payload["model"]
        if self.auto is not None:
            payload["auto"] = self.auto.to_json()
        return payload


def read_train_metrics(artifact: Artifact = TRAIN_METRICS) -> TrainMetrics:
    """Read and check metrics/train.json."""
    return validated(TrainMetrics, artifact.read_json(), str(artifact))
