"""The report's Markdown twin (for CI summaries): tables, and figures as data-URI images."""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence

from features_pipeline.report.content import (
    METRIC_LABELS,
    ReportData,
    card_summary,
    format_value,
    gate_bounds,
    input_rows,
)


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def _table(headers: Sequence[str], rows: Iterable[Sequence[str]]) -> list[str]:
    lines = ["| " + " | ".join(map(_cell, headers)) + " |"]
    lines.append("|" + "---|" * len(headers))
    lines += ["| " + " | ".join(_cell(cell) for cell in row) + " |" for row in rows]
    return [*lines, ""]


def render_markdown(report: ReportData, embed_figures: bool = True) -> str:
    """The report as Markdown; figures embedded as data URIs unless ``embed_figures`` is off."""
    lines = [f"# {report.title}", "", f"**Verdict: {report.verdict}**", "", "## Test metrics", ""]
    lines += _table(
        ["metric", "test split"],
        [(METRIC_LABELS.get(k, k), format_value(v)) for k, v in report.metrics.items()],
    )
    lines += ["## Gates", ""]
    if report.gates:
        lines += _table(
            ["metric", "required", "value", "outcome"],
            [
                (g.metric, gate_bounds(g), format_value(g.value), "pass" if g.passed else "FAIL")
                for g in report.gates
            ],
        )
    else:
        lines += ["No gates declared (`evaluate.gates` in params.yaml).", ""]
    lines += ["## Cross-validation (training rows)", ""]
    lines += _table(["metric", "value"], [(k, format_value(v)) for k, v in report.cv.items()])
    lines += ["## Model", ""]
    lines += _table(["model card", ""], card_summary(report.card))
    lines += _table(["input", "dtype", "encoding", "kind"], input_rows(report.card))
    if embed_figures:
        lines += ["## Figures", ""]
        for figure in report.figures:
            lines += [f"### {figure.title}", "", figure.caption, ""]
            lines += [f"![{figure.title}]({figure.data_uri()})", ""]
    lines += ["## Params", "", "```json"]
    lines += json.dumps(report.params, indent=2, sort_keys=True, ensure_ascii=False).splitlines()
    lines += ["```", ""]
    return "\n".join(lines)
