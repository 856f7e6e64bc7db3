"""The report's Markdown twin (for CI summaries and code hosts): tables, and figures linked as
SVG files beside it (``figures/<name>.svg``): hosts such as GitHub do not render data URIs, and a
linked file keeps the Markdown small."""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence

from features_pipeline.report.content import (
    ReportData,
    card_summary,
    cv_rows,
    format_value,
    gate_bounds,
    input_rows,
    metric_rows,
    null_rows,
    quality_rows,
)


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def _table(headers: Sequence[str], rows: Iterable[Sequence[str]]) -> list[str]:
    lines = ["| " + " | ".join(map(_cell, headers)) + " |"]
    lines.append("|" + "---|" * len(headers))
    lines += ["| " + " | ".join(_cell(cell) for cell in row) + " |" for row in rows]
    return [*lines, ""]


FIGURES_FOLDER = "figures"  # relative to the Markdown file


def figure_files(report: ReportData) -> dict[str, str]:
    """``{file name: SVG text}`` of the figures the Markdown links (written beside it)."""
    return {f"{figure.name}.svg": figure.svg for figure in report.figures}


def render_markdown(report: ReportData, link_figures: bool = True) -> str:
    """The report as Markdown; figures linked as ``figures/<name>.svg`` unless ``link_figures``
    is off (e.g. a CI job summary, where the files are not served)."""
    lines = [f"# {report.title}", "", f"**Verdict: {report.verdict}**", "", "## Test metrics", ""]
    lines += _table(["metric", "test split", "what it means"], metric_rows(report))
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
    lines += _table(["metric", "value"], cv_rows(report.cv))
    lines += ["## Data quality", ""]
    if report.quality is None:
        lines += ["No data-quality metrics (metrics/validation.json) were given.", ""]
    else:
        lines += _table(["metrics/validation.json", ""], quality_rows(report.quality))
        nulls = null_rows(report.quality)
        lines += _table(["column with nulls", "null/NaN values"], nulls) if nulls else []
    lines += ["## Model", ""]
    lines += _table(["model card", ""], card_summary(report.card))
    lines += _table(["input", "dtype", "encoding", "kind"], input_rows(report.card))
    if link_figures:
        lines += ["## Figures", ""]
        for figure in report.figures:
            lines += [f"### {figure.title}", "", figure.caption, ""]
            lines += [f"![{figure.title}]({FIGURES_FOLDER}/{figure.name}.svg)", ""]
    lines += ["## Params", "", "```json"]
    lines += json.dumps(report.params, indent=2, sort_keys=True, ensure_ascii=False).splitlines()
    lines += ["```", ""]
    return "\n".join(lines)
