"""Static figures (SVG, byte-reproducible) of an evaluation: matplotlib without pyplot."""

from __future__ import annotations

import io

import matplotlib as mpl
import numpy as np
import polars as pl
from matplotlib.axes import Axes
from matplotlib.figure import Figure

SVG_SALT = "features-pipeline"  # fixed ids inside the SVG: same figure, same bytes
WIDTH, HEIGHT = 6.4, 4.4
POINT_COLOR = "#1f77b4"
LINE_COLOR = "#d62728"
BAR_COLOR = "#2ca02c"


def svg_text(figure: Figure) -> str:
    """The figure as SVG text without a date, with text as paths (renders without fonts)."""
    buffer = io.StringIO()
    with mpl.rc_context({"svg.hashsalt": SVG_SALT, "svg.fonttype": "path"}):
        figure.savefig(buffer, format="svg", metadata={"Date": None}, bbox_inches="tight")
    return buffer.getvalue()


def _figure(height: float = HEIGHT) -> tuple[Figure, Axes]:
    figure = Figure(figsize=(WIDTH, height), dpi=100, layout="constrained")
    return figure, figure.add_subplot()


def predicted_vs_actual(points: pl.DataFrame, target: str) -> str:
    """Scatter of predicted against actual with the y = x line."""
    figure, axes = _figure()
    actual = points.get_column("actual").to_numpy()
    predicted = points.get_column("predicted").to_numpy()
    low = float(min(actual.min(), predicted.min()))
    high = float(max(actual.max(), predicted.max()))
    axes.plot([low, high], [low, high], color=LINE_COLOR, linewidth=1, label="y = x")
    axes.scatter(actual, predicted, s=6, alpha=0.5, color=POINT_COLOR, label="test rows")
    axes.set(xlabel=f"actual {target}", ylabel=f"predicted {target}", title="Predicted vs actual")
    axes.legend(loc="upper left")
    axes.grid(alpha=0.3)
    return svg_text(figure)


def residuals(points: pl.DataFrame, target: str) -> str:
    """Scatter of residual (actual - predicted) against predicted, with the zero line."""
    figure, axes = _figure()
    axes.axhline(0.0, color=LINE_COLOR, linewidth=1)
    axes.scatter(
        points.get_column("predicted").to_numpy(),
        points.get_column("residual").to_numpy(),
        s=6,
        alpha=0.5,
        color=POINT_COLOR,
    )
    axes.set(
        xlabel=f"predicted {target}",
        ylabel="residual (actual - predicted)",
        title="Residuals",
    )
    axes.grid(alpha=0.3)
    return svg_text(figure)


def feature_importance(importance: pl.DataFrame) -> str:
    """Horizontal bars: mean drop in R² when a column is shuffled, with its std."""
    table = importance.fill_null(0.0).reverse()  # largest at the top
    figure, axes = _figure(max(2.5, 0.35 * table.height + 1.2))
    positions = np.arange(table.height)
    axes.barh(
        positions,
        table.get_column("importance").to_numpy(),
        xerr=table.get_column("std").to_numpy(),
        color=BAR_COLOR,
    )
    axes.set_yticks(positions, table.get_column("feature").to_list())
    axes.set(xlabel="mean drop in R² when shuffled", title="Permutation feature importance")
    axes.grid(axis="x", alpha=0.3)
    return svg_text(figure)


def cv_fold_scores(folds: pl.DataFrame) -> str:
    """RMSE per cross-validation fold with the mean as a line; R² in the labels."""
    figure, axes = _figure(3.6)
    fold = folds.get_column("fold").to_numpy()
    rmse = folds.get_column("rmse").to_numpy()
    bars = axes.bar(fold, rmse, color=POINT_COLOR)
    axes.axhline(float(rmse.mean()), color=LINE_COLOR, linewidth=1)
    labels = [
        "R² -" if value is None else f"R² {value:.4f}" for value in folds.get_column("r2").to_list()
    ]
    axes.bar_label(bars, labels=labels, fontsize=8)
    axes.set_xticks(fold, [str(value) for value in fold])
    axes.set_ylim(0, float(rmse.max()) * 1.15)
    axes.set(xlabel="fold", ylabel="RMSE", title="Cross-validation RMSE per fold (line: mean)")
    return svg_text(figure)
