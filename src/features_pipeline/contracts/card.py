"""``models/model_card.json``: what a saved model predicts, from what, how it was trained.

Written by train; read by evaluate (the report), predict and anyone auditing a model.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict

from features_pipeline.contracts.metrics_files import AutoMetrics
from features_pipeline.contracts.params import validated
from features_pipeline.contracts.paths import read_json_object

CARD_VERSION = 1
RAW = "raw"  # the kind of a model input that is a raw column, not an engineered feature
Encoding = Literal["numeric", "one-hot", "ordinal"]
Scalar = float | int | str | bool | None


class _CardModel(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class InputCard(_CardModel):
    """How the model sees one input column."""

    dtype: str
    encoding: Encoding
    kind: str  # a plan Kind (row-wise, fitted, window) or ``raw``


class EstimatorCard(_CardModel):
    name: str  # the registry name (train.model.name)
    estimator: str  # e.g. sklearn.ensemble.HistGradientBoostingRegressor
    params: dict[str, Any]  # every hyperparameter, sklearn defaults included


class TrainingCard(_CardModel):
    rows: int  # the rows the model was fitted on
    data_sha256: str
    seed: int
    sampled_from: int | None = None  # train.max_rows: the train rows the seeded sample came from


class ArtifactCard(_CardModel):
    format: Literal["skops"]
    sha256: str


class ModelCard(_CardModel):
    card_version: Literal[1] = 1  # CARD_VERSION
    target: str
    features: tuple[str, ...]
    inputs: dict[str, InputCard]
    window_features: tuple[str, ...]
    feature_spec: str | None
    model: EstimatorCard
    training: TrainingCard
    cv: dict[str, Scalar]
    artifact: ArtifactCard
    libraries: dict[str, str]
    kernels: dict[str, str] | None = None  # the BLAS / SIMD kernels of the fit (kernels.in_effect)
    auto: AutoMetrics | None = None  # train.model.name: auto: every candidate and the choice

    def to_json(self) -> dict[str, Any]:
        exclude: dict[str, Any] = {"auto": True}
        if self.training.sampled_from is None:  # no sample: the card of a full fit, as before
            exclude["training"] = {"sampled_from"}
        if self.kernels is None:
            exclude["kernels"] = True
        payload = self.model_dump(mode="json", exclude=exclude)
        if self.auto is not None:
            payload["auto"] = self.auto.to_json()
        return payload


def parse_card(payload: dict[str, Any], source: str) -> ModelCard:
    """A loaded card mapping as a ModelCard; a malformed card is a UserError naming the key."""
    return validated(ModelCard, payload, source, hint=" (re-run the train stage)")


def read_card(path: Path) -> ModelCard:
    """Read and check a model card (written by the train stage)."""
    return parse_card(read_json_object(path, "train"), str(path))
