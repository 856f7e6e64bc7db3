"""Seeded K-fold cross-validation of a pipeline on the training rows."""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
import numpy.typing as npt
import polars as pl

from features_pipeline.logs import get_logger, span, track
from features_pipeline.model.metric_registry import metric_names
from features_pipeline.model.metrics import Metrics, regression_metrics, round_sig

if TYPE_CHECKING:
    from sklearn.pipeline import Pipeline

log = get_logger(__name__)

SCORES: tuple[str, ...] = metric_names(lambda metric: metric.cv)


@dataclass(frozen=True)
class CvResult:
    """Per-fold scores (deterministic) and fit times (not: kept apart from the scores)."""

    folds: list[Metrics]  # unrounded
    fit_seconds: list[float]

    def summary(self) -> dict[str, float | int | None]:
        """``<score>_mean`` and ``<score>_std`` (population std over folds) and ``folds``."""
        result: dict[str, float | int | None] = {"folds": len(self.folds)}
        for score in SCORES:
            values = [fold[score] for fold in self.folds]
            if any(value is None for value in values):
                result[f"{score}_mean"] = result[f"{score}_std"] = None
                continue
            array = np.array(values, dtype=np.float64)
            result[f"{score}_mean"] = round_sig(float(array.mean()))
            result[f"{score}_std"] = round_sig(float(array.std()))
        return result

    def fold_table(self) -> pl.DataFrame:
        """One row per fold: fold (1-based), rows, then each CV metric of the registry."""
        return pl.DataFrame(
            {
                "fold": list(range(1, len(self.folds) + 1)),
                "rows": [fold["rows"] for fold in self.folds],
                **{score: [_rounded(fold[score]) for fold in self.folds] for score in SCORES},
            },
            schema={"fold": pl.Int64, "rows": pl.Int64, **dict.fromkeys(SCORES, pl.Float64)},
        )


def _rounded(value: float | int | None) -> float | None:
    return None if value is None else round_sig(float(value))


def cross_validate(
    pipeline: Pipeline,
    features: pl.DataFrame,
    target: npt.ArrayLike,
    folds: int,
    seed: int,
    label: str = "",
) -> CvResult:
    """Fit a clone of ``pipeline`` on each of ``folds`` shuffled, seeded folds; score the rest."""
    from sklearn.base import clone
    from sklearn.model_selection import KFold

    y = np.asarray(target, dtype=np.float64)
    if features.height < folds:
        raise ValueError(f"{features.height} training rows cannot make {folds} folds")
    splitter = KFold(n_splits=folds, shuffle=True, random_state=seed)
    scores: list[Metrics] = []
    seconds: list[float] = []
    fold_indices = splitter.split(np.zeros(features.height))
    for fold, (train_index, test_index) in enumerate(
        track(fold_indices, f"cross-validation folds{label}", total=folds), start=1
    ):
        model = clone(pipeline)
        start = time.perf_counter()
        model.fit(features[train_index], y[train_index])
        seconds.append(time.perf_counter() - start)
        predicted = model.predict(features[test_index])
        scores.append(regression_metrics(y[test_index], predicted, digits=None))
        span(
            log,
            "cv_fold",
            time.perf_counter() - start,
            fold=f"{fold}/{folds}",
            train_rows=len(train_index),
            rows=len(test_index),
            rmse=_rounded(scores[-1]["rmse"]),
            fit_seconds=round(seconds[-1], 3),
        )
    return CvResult(folds=scores, fit_seconds=seconds)
