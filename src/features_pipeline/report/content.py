"""What the evaluation report shows, independent of its format (HTML or Markdown)."""

from __future__ import annotations

import base64
import logging
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from features_pipeline.contracts.card import ModelCard
from features_pipeline.contracts.metrics_files import CvSummary
from features_pipeline.model.gates import GateResult
from features_pipeline.model.metric_registry import METRICS
from features_pipeline.model.metrics import METRIC_MEANINGS

# the labels of the metric registry (model/metric_registry.py), then the row counts
METRIC_LABELS: dict[str, str] = {
    **{metric.name: metric.report_label for metric in METRICS},
    "mape_rows": "rows in MAPE",
    "rows": "test rows",
}


CV_LABELS: dict[str, str] = {
    "folds": "folds",
    **{
        f"{metric.name}_{statistic}": f"{metric.label} ({words})"
        for metric in METRICS
        if metric.cv
        for statistic, words in (("mean", "mean of folds"), ("std", "std across folds"))
    },
}


@dataclass(frozen=True)
class FigureData:
    name: str  # file-safe id, e.g. "predicted_vs_actual"
    title: str
    caption: str
    svg: str

    def data_uri(self) -> str:
        """The SVG as a base64 ``data:`` URI: an image that needs no file and no network."""
        encoded = base64.b64encode(self.svg.encode("utf-8")).decode("ascii")
        return f"data:image/svg+xml;base64,{encoded}"


@dataclass(frozen=True)
class ReportData:
    title: str
    metrics: Mapping[str, Any]  # test metrics (metrics.json without the gates)
    gates: list[GateResult]
    cv: CvSummary  # cross-validation summary from metrics/train.json
    card: ModelCard
    params: Mapping[str, Any]  # the train and evaluate sections, trimmed to the model used
    figures: list[FigureData]
    quality: Mapping[str, Any] | None = None  # metrics/validation.json, when given
    caveats: Mapping[str, str] | None = None  # metric -> why it is not meaningful here

    @property
    def verdict(self) -> str:
        if not self.gates:
            return "no gates declared"
        return "all gates passed" if all(g.passed for g in self.gates) else "gate(s) failed"


def metric_rows(report: ReportData) -> list[tuple[str, str, str]]:
    """(label, value, what it means) per test metric; a metric not meaningful for this target
    says so (and why) in place of its meaning."""
    caveats = report.caveats or {}
    rows = []
    for key, value in report.metrics.items():
        meaning = METRIC_MEANINGS.get(key, "")
        if key in caveats:
            meaning = f"NOT MEANINGFUL for this target: {caveats[key]}"
        rows.append((METRIC_LABELS.get(key, key), format_value(value), meaning))
    return rows


def format_value(value: Any) -> str:
    """Numbers with up to 6 significant digits and thousands separators; None as a dash."""
    if value is None:
        return "-"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, int):
        return f"{value:,}"
    if isinstance(value, float):
        return f"{value:,.6g}"
    return str(value)


def gate_bounds(gate: GateResult) -> str:
    parts = []
    if gate.min is not None:
        parts.append(f">= {format_value(gate.min)}")
    if gate.max is not None:
        parts.append(f"<= {format_value(gate.max)}")
    return " and ".join(parts)


def card_summary(card: ModelCard) -> list[tuple[str, str]]:
    """The model card's headline facts as (label, value) rows."""
    return [
        ("target", card.target),
        ("model", f"{card.model.name} ({card.model.estimator})"),
        ("training rows", format_value(card.training.rows)),
        ("training data sha256", card.training.data_sha256),
        ("seed", format_value(card.training.seed)),
        ("feature spec", str(card.feature_spec)),
        ("window features (need history)", ", ".join(card.window_features) or "none"),
        ("libraries", ", ".join(f"{name} {ver}" for name, ver in card.libraries.items())),
    ]


def input_rows(card: ModelCard) -> list[tuple[str, str, str, str]]:
    """(feature, dtype, encoding, kind) per model input."""
    return [(name, info.dtype, info.encoding, info.kind) for name, info in card.inputs.items()]


def format_cv(key: str, value: Any) -> str:
    """A CV statistic: 6 significant digits, small spreads with 3 (``6.09e-06``)."""
    if isinstance(value, float) and key.endswith("_std") and abs(value) < 1:
        return f"{value:,.3g}"
    return format_value(value)


def cv_rows(cv: Mapping[str, Any]) -> list[tuple[str, str]]:
    """(readable name, value) per cross-validation statistic, in the order of CV_LABELS."""
    ordered = [key for key in CV_LABELS if key in cv] + [key for key in cv if key not in CV_LABELS]
    return [(CV_LABELS.get(key, key), format_cv(key, cv[key])) for key in ordered]


def trim_params(params: Mapping[str, Any]) -> dict[str, Any]:
    """The params as used: ``train.model.params`` keeps only the block of ``train.model.name``."""
    trimmed = dict(params)
    train = params.get("train")
    model = train.get("model") if isinstance(train, Mapping) else None
    if isinstance(train, Mapping) and isinstance(model, Mapping):
        name = model.get("name")
        blocks = model.get("params")
        if isinstance(blocks, Mapping):
            used = {name: blocks[name]} if name in blocks else {}
            trimmed["train"] = {**train, "model": {**model, "params": used}}
    return trimmed


def quality_rows(quality: Mapping[str, Any]) -> list[tuple[str, str]]:
    """metrics/validation.json as (label, value) rows: rows per split, checks, nulls."""
    rows: list[tuple[str, str]] = []
    for split, count in (quality.get("rows") or {}).items():
        rows.append((f"rows ({split})", format_value(count)))
    for outcome, count in (quality.get("checks") or {}).items():
        rows.append((f"checks {outcome}", format_value(count)))
    if "failure_cases" in quality:
        rows.append(("failure cases", format_value(quality["failure_cases"])))
    nulls = quality.get("nulls") or {}
    if isinstance(nulls, Mapping) and "total" in nulls:
        rows.append(("columns with nulls", format_value(nulls.get("columns"))))
        rows.append(("null values", format_value(nulls.get("total"))))
    return rows


def null_rows(quality: Mapping[str, Any]) -> list[tuple[str, str]]:
    """(column, null count) for the columns that have nulls, most first."""
    nulls = quality.get("nulls") or {}
    entries = nulls.get("by_column") if isinstance(nulls, Mapping) else None
    counted = [
        (str(entry.get("column")), int(entry.get("nulls") or 0))
        for entry in entries or []
        if isinstance(entry, Mapping) and entry.get("nulls")
    ]
    counted.sort(key=lambda pair: (-pair[1], pair[0]))
    return [(column, format_value(count)) for column, count in counted]


def gate_log(gate: GateResult) -> tuple[int, str]:
    """The log level and line of a gate's outcome: a failed gate is a WARNING (the stage's final
    ``error:`` line says whether it fails the run), a passed one INFO."""
    if gate.passed:
        return logging.INFO, f"gate passed: {gate.describe()}"
    return logging.WARNING, f"gate FAILED: {gate.describe()}"
