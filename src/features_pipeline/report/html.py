"""A self-contained HTML report: inline CSS, figures as data URIs, no network requests."""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from html import escape

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

STYLE = """
* { box-sizing: border-box; }
body { font-family: system-ui, -apple-system, "Segoe UI", sans-serif; margin: 2rem auto;
       max-width: 1100px; padding: 0 1rem; color: #222; line-height: 1.4;
       overflow-wrap: break-word; }
h1 { margin-bottom: 0.2rem; font-size: 1.6rem; }
.scroll { overflow-x: auto; max-width: 100%; }
table { border-collapse: collapse; margin: 0.5rem 0 1.5rem; max-width: 100%; }
th, td { border: 1px solid #ccc; padding: 0.25rem 0.6rem; text-align: left;
         overflow-wrap: anywhere; }
td.num { text-align: right; font-variant-numeric: tabular-nums; white-space: nowrap; }
.pass { color: #1a7f37; font-weight: bold; }
.fail { color: #cf222e; font-weight: bold; }
.figures { display: grid; gap: 1rem;
           grid-template-columns: repeat(auto-fit, minmax(min(100%, 480px), 1fr)); }
figure { margin: 0; border: 1px solid #ddd; padding: 0.5rem; min-width: 0; }
figure img { width: 100%; height: auto; display: block; }
figcaption { font-size: 0.9rem; color: #555; }
pre { background: #f6f8fa; padding: 0.8rem; font-size: 0.85rem;
      white-space: pre-wrap; overflow-wrap: anywhere; }
"""


def _table(headers: Sequence[str], rows: Iterable[Sequence[str]], numeric: set[int]) -> str:
    head = "".join(f"<th>{escape(h)}</th>" for h in headers)
    body = "".join(
        "<tr>"
        + "".join(
            f'<td class="num">{escape(cell)}</td>' if i in numeric else f"<td>{escape(cell)}</td>"
            for i, cell in enumerate(row)
        )
        + "</tr>"
        for row in rows
    )
    table = f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"
    return f'<div class="scroll">{table}</div>'


def _outcome(passed: bool) -> str:
    return '<span class="pass">pass</span>' if passed else '<span class="fail">FAIL</span>'


def _gates(report: ReportData) -> str:
    if not report.gates:
        return "<p>No gates declared (<code>evaluate.gates</code> in params.yaml).</p>"
    rows = "".join(
        f"<tr><td>{escape(gate.metric)}</td><td>{escape(gate_bounds(gate))}</td>"
        f'<td class="num">{escape(format_value(gate.value))}</td><td>{_outcome(gate.passed)}</td>'
        "</tr>"
        for gate in report.gates
    )
    return (
        '<div class="scroll"><table><thead><tr><th>metric</th><th>required</th><th>value</th>'
        f"<th>outcome</th></tr></thead><tbody>{rows}</tbody></table></div>"
    )


def _quality(report: ReportData) -> str:
    if report.quality is None:
        return "<p>No data-quality metrics (metrics/validation.json) were given.</p>"
    summary = _table(
        ["data quality (metrics/validation.json)", ""], quality_rows(report.quality), {1}
    )
    nulls = null_rows(report.quality)
    if not nulls:
        return summary + "<p>No column has null or NaN values.</p>"
    return summary + _table(["column with nulls", "null/NaN values"], nulls, {1})


def render_html(report: ReportData) -> str:
    """The report as one HTML document that renders offline."""
    passed = all(gate.passed for gate in report.gates)
    verdict_class = "pass" if passed else "fail"
    metrics = _table(["metric", "test split", "what it means"], metric_rows(report), {1})
    cv = _table(["cross-validation (training rows)", "value"], cv_rows(report.cv), {1})
    figures = "".join(
        f'<figure id="{escape(fig.name)}"><img alt="{escape(fig.title)}" '
        f'src="{fig.data_uri()}"><figcaption><b>{escape(fig.title)}.</b> '
        f"{escape(fig.caption)}</figcaption></figure>"
        for fig in report.figures
    )
    card = _table(["model card", ""], card_summary(report.card), set())
    inputs = _table(["input", "dtype", "encoding", "kind"], input_rows(report.card), set())
    params = escape(json.dumps(report.params, indent=2, sort_keys=True, ensure_ascii=False))
    card_json = escape(
        json.dumps(report.card.to_json(), indent=2, sort_keys=True, ensure_ascii=False)
    )
    return f"""<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{escape(report.title)}</title>
<style>{STYLE}</style>
</head>
<body>
<h1>{escape(report.title)}</h1>
<p>Verdict: <span class="{verdict_class}">{escape(report.verdict)}</span></p>
<h2>Test metrics</h2>
{metrics}
<h2>Gates</h2>
{_gates(report)}
<h2>Figures</h2>
<div class="figures">{figures}</div>
<h2>Cross-validation</h2>
{cv}
<h2>Data quality</h2>
{_quality(report)}
<h2>Model</h2>
{card}
{inputs}
<h2>Params</h2>
<p>The <code>train</code> and <code>evaluate</code> sections of params.yaml, with the
hyperparameters of the model used only.</p>
<pre>{params}</pre>
<details><summary>Full model card (models/model_card.json)</summary><pre>{card_json}</pre></details>
</body>
</html>
"""
