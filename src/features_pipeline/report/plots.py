"""Static figures (SVG, byte-reproducible) of an evaluation: matplotlib without pyplot."""

from __future__ import annotations

import io

import matplotlib as mpl
import numpy as np
import polars as pl
from matplotlib.axes import Axes
from matplotlib.figure import Figure

SVG_SALT = "features-pipeline"  # fixed ids inside the SVG: same figure, same bytes
# Sized for a phone: a figure is drawn about 370 px wide on a 420 px screen, so a 4.6 in (331 pt)
# figure whose smallest text is TEXT_PT shows that text at 10 * 370 / 331 = 11 px
# (tests/test_report.py measures it in Chromium)
WIDTH, HEIGHT = 4.6, 3.4
TEXT_PT = 10  # value labels and legends: no text smaller than the axis labels
POINT_COLOR = "#1f77b4"
LINE_COLOR = "#d62728"
BAR_COLOR = "#2ca02c"


def svg_text(figure: Figure) -> str:
    """The figure as SVG text without a date, with text as paths (renders without fonts)."""
    buffer = io.StringIO()
    with mpl.rc_context({"svg.hashsalt": SVG_SALT, "svg.fonttype": "path"}):
        figure.savefig(buffer, format="svg", metadata={"Date": None})
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


def _short(value: float) -> str:
    """3 significant digits, thousands separators: ``2.02``, ``0.000287``, ``3,178``."""
    return "0" if value == 0 else f"{value:,.3g}"


def importance_rows(importance: pl.DataFrame) -> pl.DataFrame:
    """Bars bottom-up (largest last, so it is drawn at the top; ties by name), with ``label``:
    each value as printed beside its bar."""
    table = importance.fill_null(0.0).sort(["importance", "feature"], descending=[False, True])
    labels = [_short(float(value)) for value in table.get_column("importance")]
    return table.with_columns(label=pl.Series(labels, dtype=pl.String))


def feature_importance(importance: pl.DataFrame) -> str:
    """Horizontal bars, largest at the top, each labelled with its value: the mean drop in R²
    when a column is shuffled (± std). A symmetric log scale keeps small (and negative) drops
    visible beside one that dominates; inputs whose shuffling changed nothing show 0."""
    table = importance_rows(importance)
    values = table.get_column("importance").to_numpy()
    figure, axes = _figure(max(2.5, 0.3 * table.height + 1.2))
    positions = np.arange(table.height)
    axes.barh(positions, values, xerr=table.get_column("std").to_numpy(), color=BAR_COLOR)
    nonzero = np.abs(values[values != 0])
    small = float(nonzero.min()) if nonzero.size else 1.0
    axes.set_xscale("symlog", linthresh=small)
    # room for the value labels right of each bar's end (of the zero line for a negative bar:
    # the axis's own labels are on the left), a factor of 30 past the largest on the log scale
    lowest = float(values.min(initial=0.0))
    axes.set_xlim(
        -small if lowest >= 0 else lowest * 3, max(float(values.max(initial=0.0)), small) * 30
    )
    axes.set_xticks([])  # decade ticks crowd each other; every bar carries its value instead
    for position, value, label in zip(positions, values, table["label"], strict=True):
        axes.annotate(
            label,
            (max(float(value), 0.0), float(position)),
            xytext=(4, 0),
            textcoords="offset points",
            ha="left",
            va="center",
            fontsize=TEXT_PT,
        )
    axes.set_yticks(positions, table.get_column("feature").to_list())
    axes.axvline(0.0, color="#555555", linewidth=0.8)
    axes.set(
        xlabel="drop in test R² when shuffled",
        title="Permutation feature importance",
    )
    axes.grid(axis="x", alpha=0.3)
    return svg_text(figure)


def cv_fold_scores(folds: pl.DataFrame) -> str:
    """RMSE of each cross-validation fold as a dot (mean as a line), labelled with its RMSE and
    R²; the axis spans the folds' range, so differences between folds are visible."""
    figure, axes = _figure(max(2.4, 0.45 * folds.height + 1.2))
    fold = folds.get_column("fold").to_numpy()
    rmse = folds.get_column("rmse").to_numpy().astype(float)
    r2 = folds.get_column("r2").to_list()
    positions = np.arange(folds.height)[::-1]  # fold 1 at the top
    axes.scatter(rmse, positions, s=36, color=POINT_COLOR, zorder=3)
    axes.axvline(float(rmse.mean()), color=LINE_COLOR, linewidth=1, label="mean")
    for position, value, score in zip(positions, rmse, r2, strict=True):
        label = f"{value:,.0f}" if abs(value) >= 100 else _short(float(value))
        label += "" if score is None else f"  R² {score:.5f}"
        axes.annotate(
            label, (float(value), float(position)), xytext=(0, 7), textcoords="offset points",
            ha="center", va="bottom", fontsize=TEXT_PT,
        )  # fmt: skip
    spread = float(rmse.max() - rmse.min()) or max(abs(float(rmse.mean())) * 0.05, 1e-9)
    axes.set_xlim(float(rmse.min()) - 0.35 * spread, float(rmse.max()) + 0.35 * spread)
    axes.set_ylim(-0.6, folds.height - 0.3)
    axes.set_yticks(positions, [f"fold {value}" for value in fold])
    axes.set(xlabel="RMSE (axis: the folds' range)", title="Cross-validation RMSE per fold")
    axes.legend(loc="lower right", fontsize=TEXT_PT)
    axes.grid(axis="x", alpha=0.3)
    return svg_text(figure)
