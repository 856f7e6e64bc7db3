"""The model card: what a saved model predicts, from what, how it was trained, with what."""

from __future__ import annotations

import hashlib
import platform
from collections.abc import Mapping
from importlib.metadata import PackageNotFoundError, version
from typing import TYPE_CHECKING, Any

import numpy as np
import polars as pl

from features_pipeline import kernels
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


def _value_parts(column: pl.Series) -> list[Any]:
    """The bytes of a column's values: numbers, booleans and dates as their fixed-width
    little-endian values (nulls as 0), anything else as UTF-8 text (byte lengths, then the
    bytes; nulls empty)."""
    dtype = column.dtype
    if dtype == pl.Boolean:
        return [column.fill_null(False).to_numpy()]
    if (dtype.is_numeric() and not isinstance(dtype, pl.Decimal)) or dtype.is_temporal():
        values = column.to_physical().fill_null(0).to_numpy()
        return [values.astype(values.dtype.newbyteorder("<"), copy=False)]
    text = column.cast(pl.String).fill_null("")
    lengths = text.str.len_bytes().to_numpy().astype("<u4", copy=False)
    return [lengths, text.str.join("").item().encode()]


def data_sha256(frame: pl.DataFrame) -> str:
    """sha256 of ``frame``'s content, column by column (column order and row order matter):
    the row count, each column's name and type, its null mask, then its values (see
    ``_value_parts``). The bytes are those of the values, not of a file format or of how Polars
    holds them in memory: the same for any chunking, ~0.2 s per million rows of 17 columns.
    """
    digest = hashlib.sha256(f"rows={frame.height}\n".encode())
    for column in frame.iter_columns():
        digest.update(f"{column.name}\x00{column.dtype}\x00".encode())
        digest.update(np.packbits(column.is_null().to_numpy()).tobytes())
        for part in _value_parts(column):
            digest.update(part)
    return digest.hexdigest()


def library_versions() -> dict[str, str]:
    """Python (major.minor: its patch level changes no result, and differs between machines)
    and the installed versions of the libraries a model file depends on."""
    major, minor, _ = platform.python_version_tuple()
    versions = {"python": f"{major}.{minor}"}
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
        kernels=kernels.in_effect(),
        auto=None if result.auto is None else result.auto.metrics(),
    )
