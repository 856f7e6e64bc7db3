"""Assemble the report's content from an evaluation, the training metrics and the model card."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import polars as pl

from features_pipeline.contracts.card import ModelCard
from features_pipeline.contracts.metrics_files import CvSummary
from features_pipeline.model.evaluate import ACTUAL, Evaluation
from features_pipeline.model.metrics import mape_caveat
from features_pipeline.report import plots
from features_pipeline.report.content import FigureData, ReportData, trim_params

EXACT_R2 = 0.9999  # a test R² this close to 1: the model reproduces the target


def importance_caption(importance: pl.DataFrame, r2: float | None) -> str:
    """What the importance bars mean, and why all but one are 0 when that is so (one input
    carries the whole prediction: shuffling the others cannot change it)."""
    text = (
        "How much test R² drops when one input column is shuffled (mean ± std of repeats),"
        " largest first; the scale is logarithmic beyond the smallest drop, so small ones"
        " stay visible."
    )
    moving = importance.fill_null(0.0).filter(pl.col("importance") != 0)
    idle = importance.height - moving.height
    if moving.height != 1 or idle == 0:
        return text
    name = moving.item(0, "feature")
    text += (
        f" Only {name} moves the score: the model's predictions come from it alone, so"
        f" shuffling any of the other {idle} inputs changes nothing (0)."
    )
    if r2 is not None and r2 >= EXACT_R2:
        text += (
            f" With a test R² of {r2:.6g} this is an exact fit: the target is a function of"
            f" {name} (e.g. a product of inputs that this one derived feature computes), and"
            " the other inputs add nothing once it is known."
        )
    return text


def figures(evaluation: Evaluation, cv_folds: pl.DataFrame, target: str) -> list[FigureData]:
    """The four figures of the report, as SVG."""
    shown = evaluation.points.height
    return [
        FigureData(
            "predicted_vs_actual",
            "Predicted vs actual",
            f"{shown:,} test rows (a seeded sample when there are more); on the line = exact.",
            plots.predicted_vs_actual(evaluation.points, target),
        ),
        FigureData(
            "residuals",
            "Residuals",
            "Actual minus predicted against the prediction: a pattern means missed structure.",
            plots.residuals(evaluation.points, target),
        ),
        FigureData(
            "feature_importance",
            "Permutation feature importance",
            importance_caption(evaluation.importance, evaluation.metrics.get("r2")),
            plots.feature_importance(evaluation.importance),
        ),
        FigureData(
            "cv_folds",
            "Cross-validation fold scores",
            "RMSE (and R²) of each fold of the K-fold cross-validation on the training rows;"
            " the axis spans the folds' range.",
            plots.cv_fold_scores(cv_folds),
        ),
    ]


def report_data(
    evaluation: Evaluation,
    cv_summary: CvSummary,
    cv_folds: pl.DataFrame,
    card: ModelCard,
    params: Mapping[str, Any],
    quality: Mapping[str, Any] | None = None,
) -> ReportData:
    """Everything the HTML and Markdown reports show (``quality``: metrics/validation.json)."""
    target = card.target
    # every test row where this process has them; on a cluster engine (they stay in the
    # warehouse) the seeded plot sample
    scored = evaluation.predictions
    actual = (scored if ACTUAL in scored.columns else evaluation.points).get_column(ACTUAL)
    caveat = mape_caveat(actual.to_numpy())
    return ReportData(
        title=f"Evaluation: {card.model.name} predicting {target}",
        metrics=evaluation.metrics,
        gates=evaluation.gates,
        cv=cv_summary,
        card=card,
        params=trim_params(params),
        figures=figures(evaluation, cv_folds, target),
        quality=quality,
        caveats={"mape": caveat} if caveat else None,
    )
