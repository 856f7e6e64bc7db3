"""The model card: what a saved model predicts, from what, how it was trained, with what."""

from __future__ import annotations

import hashlib
import io
import platform
from collections.abc import Mapping
from importlib.metadata import PackageNotFoundError, version
from typing import TYPE_CHECKING, Any

import polars as pl

from features_pipeline.contracts.card import (
    RAW,
    ArtifactCard,
    EstimatorCard,
    InputCard,
    ModelCard,
    TrainingCard,
)
from features_pipeline.contracts.dtypes import dtype_name
from features_pipeline.contracts.metrics_files import CvSummary
from features_pipeline.contracts.plan_file import PlanFile
from features_pipeline.model.train import TrainResult

if TYPE_CHECKING:
    from sklearn.base import BaseEstimator

LIBRARIES: tuple[str, ...] = (
    "features-pipeline",
    "scikit-learn",
    "skops",
    "polars",
    "numpy",
    "scipy",
)


HASH_CHUNK_ROWS = 250_000


def data_sha256(frame: pl.DataFrame, chunk_rows: int = HASH_CHUNK_ROWS) -> str:
    """sha256 of ``frame`` written as CSV (column order and row order matter).

    Written and hashed ``chunk_rows`` at a time: the same digest as one CSV of the whole frame,
    without holding that CSV (hundreds of MB at millions of rows) in memory.
    """
    digest = hashlib.sha256()
    for start in range(0, max(frame.height, 1), chunk_rows):
        buffer = io.BytesIO()
        frame.slice(start, chunk_rows).write_csv(buffer, include_header=start == 0)
        digest.update(buffer.getvalue())
    return digest.hexdigest()


def library_versions() -> dict[str, str]:
    """Python and the installed versions of the libraries a model file depends on."""
    versions = {"python": platform.python_version()}
    for name in LIBRARIES:
        try:
            versions[name] = version(name)
        except PackageNotFoundError:  # pragma: no cover - running from a source tree
            versions[name] = "unknown"
    return versions


def _json_safe(value: Any) -> Any:
    if value is None or isinstance(value, bool | int | float | str):
        return value
    if isinstance(value, list | tuple):
        return [_json_safe(item) for item in value]
    if isinstance(value, dict):
        return {str(key): _json_safe(item) for key, item in value.items()}
    return repr(value)


def estimator_params(estimator: BaseEstimator) -> dict[str, Any]:
    """Every hyperparameter of ``estimator`` (sklearn defaults included), JSON-safe."""
    return {
        key: _json_safe(value) for key, value in sorted(estimator.get_params(deep=False).items())
    }


def build_card(
    *,
    result: TrainResult,
    schema: Mapping[str, pl.DataType],
    plan: PlanFile,
    training_sha256: str,
    seed: int,
    cv: CvSummary,
    model_sha256: str,
) -> ModelCard:
    """The card of a trained model; ``features`` in the order given in params."""
    setup = result.setup
    features = setup.inputs.features
    inputs = {
        name: InputCard(
            dtype=dtype_name(schema[name]),
            encoding=setup.spec.encoding if name in setup.roles.categorical else "numeric",
            kind=plan[name].kind if name in plan else RAW,
        )
        for name in features
    }
    estimator = setup.estimator
    return ModelCard(
        target=setup.inputs.target,
        features=features,
        inputs=inputs,
        window_features=tuple(plan.window_features(features)),
        feature_spec=plan.spec,
        model=EstimatorCard(
            name=setup.spec.name,
            estimator=f"{type(estimator).__module__.split('._')[0]}.{type(estimator).__name__}",
            params=estimator_params(estimator),
        ),
        training=TrainingCard(
            rows=result.rows,
            data_sha256=training_sha256,
            seed=seed,
            sampled_from=result.sampled_from,
        ),
        cv=cv,
        artifact=ArtifactCard(format="skops", sha256=model_sha256),
        libraries=library_versions(),
        auto=None if result.auto is None else result.auto.metrics(),
    )
