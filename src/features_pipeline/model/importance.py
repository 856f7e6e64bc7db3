"""Permutation importance per model input column (before one-hot encoding), seeded."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
import numpy.typing as npt
import polars as pl

from features_pipeline.logs import track
from features_pipeline.model.metrics import regression_metrics, round_sig

if TYPE_CHECKING:
    from sklearn.pipeline import Pipeline


def _r2(model: Pipeline, features: pl.DataFrame, target: np.ndarray) -> float:
    r2 = regression_metrics(target, model.predict(features))["r2"]
    return float("nan") if r2 is None else float(r2)


def permutation_importance(
    model: Pipeline,
    features: pl.DataFrame,
    target: npt.ArrayLike,
    repeats: int,
    seed: int,
    max_rows: int | None = None,
) -> pl.DataFrame:
    """Mean and std (over ``repeats`` shuffles) of the drop in R² when one column is shuffled.

    At most ``max_rows`` rows, sampled with ``seed``, are used. Sorted by importance, descending.
    """
    y = np.asarray(target, dtype=np.float64)
    rng = np.random.default_rng(seed)
    if max_rows is not None and features.height > max_rows:
        rows = np.sort(rng.choice(features.height, size=max_rows, replace=False))
        features, y = features[rows], y[rows]
    baseline = _r2(model, features, y)
    means: list[float | None] = []
    stds: list[float | None] = []
    for column in track(features.columns, "permutation importance (columns)"):
        drops = []
        for _ in range(repeats):
            order = pl.Series(rng.permutation(features.height))
            shuffled = features.with_columns(pl.col(column).gather(order))
            drops.append(baseline - _r2(model, shuffled, y))
        means.append(round_sig(float(np.mean(drops))))
        stds.append(round_sig(float(np.std(drops))))
    table = pl.DataFrame(
        {"feature": features.columns, "importance": means, "std": stds},
        schema={"feature": pl.String, "importance": pl.Float64, "std": pl.Float64},
    )
    return table.sort(["importance", "feature"], descending=[True, False], nulls_last=True)
