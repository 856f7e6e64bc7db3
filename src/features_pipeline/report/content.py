"""What the evaluation report shows, independent of its format (HTML or Markdown)."""

from __future__ import annotations

import base64
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from features_pipeline.contracts.card import ModelCard
from features_pipeline.contracts.metrics_files import CvSummary
from features_pipeline.model.gates import GateResult

METRIC_LABELS: dict[str, str] = {
    "rmse": "RMSE",
    "mae": "MAE",
    "r2": "R²",
    "mape": "MAPE (fraction, rows with a non-zero target)",
    "mape_rows": "rows in MAPE",
    "rows": "test rows",
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
    params: Mapping[str, Any]  # the train and evaluate sections as loaded
    figures: list[FigureData]

    @property
    def verdict(self) -> str:
        if not self.gates:
            return "no gates declared"
        return "all gates passed" if all(g.passed for g in self.gates) else "gate(s) failed"


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
