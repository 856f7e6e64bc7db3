"""Compare the workspace, commits and DVC experiments: metrics and the params that differ.

Built on ``dvc exp show --json``; pure functions turn its JSON into rows, sort them by a metric,
mark the best and render a rich table, Markdown or JSON.
"""

from __future__ import annotations

import json
import math
import shutil
import subprocess
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from features_pipeline.errors import UserError

LOWER_IS_BETTER = ("rmse", "mae", "mape", "seconds", "loss")
DEFAULT_METRICS_FILE = "metrics/metrics.json"
DEFAULT_SORT = "rmse"

Scalar = str | int | float | bool | None


@dataclass(frozen=True)
class Row:
    """One workspace, commit or experiment with its flattened metrics and params."""

    name: str
    rev: str
    kind: str  # workspace | commit | experiment
    metrics: dict[str, Scalar] = field(default_factory=dict)
    params: dict[str, Scalar] = field(default_factory=dict)


def flatten(data: Any, prefix: str = "") -> dict[str, Scalar]:
    """Nested mappings -> ``a.b.c`` keys; lists become compact JSON text."""
    if isinstance(data, Mapping):
        flat: dict[str, Scalar] = {}
        for key, value in data.items():
            flat.update(flatten(value, f"{prefix}.{key}" if prefix else str(key)))
        return flat
    if isinstance(data, list):
        return {prefix: json.dumps(data, sort_keys=True)}
    return {prefix: data}


def _files(section: Mapping[str, Any] | None, only: str | None = None) -> dict[str, Scalar]:
    flat: dict[str, Scalar] = {}
    for path, content in (section or {}).items():
        if only is not None and path != only:
            continue
        data = (content or {}).get("data") or {}
        stem = Path(path).stem if only is None else ""
        flat.update(flatten(data, stem))
    return flat


def _row(entry: Mapping[str, Any], kind: str, metrics_file: str | None) -> Row:
    data = entry.get("data") or {}
    rev = str(entry.get("rev") or data.get("rev") or "")
    name = entry.get("name") or (rev if rev == "workspace" else rev[:7])
    return Row(
        name=str(name),
        rev=rev,
        kind=kind,
        metrics=_files(data.get("metrics"), metrics_file),
        params=_files(data.get("params")),
    )


def rows_from_exp_show(entries: Sequence[Mapping[str, Any]], metrics_file: str | None) -> list[Row]:
    """Workspace, each baseline commit and each of its experiments, in DVC's order."""
    rows: list[Row] = []
    for entry in entries:
        kind = "workspace" if entry.get("rev") == "workspace" else "commit"
        rows.append(_row(entry, kind, metrics_file))
        for experiment in entry.get("experiments") or []:
            for revision in experiment.get("revs") or []:
                named = {**revision, "name": experiment.get("name") or revision.get("name")}
                rows.append(_row(named, "experiment", metrics_file))
    return rows


def differing_params(rows: Iterable[Row]) -> list[str]:
    """Param keys whose values are not the same in every row (sorted)."""
    rows = list(rows)
    keys = sorted({key for row in rows for key in row.params})
    return [key for key in keys if len({json.dumps(row.params.get(key)) for row in rows}) > 1]


def metric_keys(rows: Iterable[Row]) -> list[str]:
    return sorted({key for row in rows for key in row.metrics})


def resolve_metric(requested: str, keys: Sequence[str]) -> str:
    """``rmse`` or ``metrics.rmse`` -> the one metric key it names."""
    if requested in keys:
        return requested
    matches = [key for key in keys if key.endswith(f".{requested}") or key == requested]
    if len(matches) == 1:
        return matches[0]
    known = ", ".join(keys) or "none"
    if not matches:
        raise UserError(f"compare: --sort-by: unknown metric {requested!r} (known: {known})")
    raise UserError(f"compare: --sort-by: {requested!r} is ambiguous ({', '.join(matches)})")


def lower_is_better(metric: str) -> bool:
    leaf = metric.rsplit(".", 1)[-1].lower()
    return any(word in leaf for word in LOWER_IS_BETTER)


def _number(value: Scalar) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return None if math.isnan(value) else float(value)


def sort_rows(rows: Sequence[Row], metric: str, ascending: bool) -> list[Row]:
    """Rows with the metric first (best first), rows without it last, each group stable."""
    with_value = [row for row in rows if _number(row.metrics.get(metric)) is not None]
    without = [row for row in rows if _number(row.metrics.get(metric)) is None]
    with_value.sort(key=lambda row: _number(row.metrics[metric]) or 0.0, reverse=not ascending)
    return with_value + without


def _cell(value: Scalar) -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        return f"{value:.6g}"
    return str(value)


@dataclass(frozen=True)
class Comparison:
    rows: list[Row]
    metric: str
    ascending: bool
    metrics: list[str]
    params: list[str]

    @property
    def best(self) -> Row | None:
        first = self.rows[0] if self.rows else None
        return first if first and _number(first.metrics.get(self.metric)) is not None else None

    @property
    def has_experiments(self) -> bool:
        return any(row.kind == "experiment" for row in self.rows)

    def header(self) -> list[str]:
        return ["", "name", "kind", *self.metrics, *self.params]

    def table_rows(self) -> list[list[str]]:
        best = self.best
        return [
            [
                "★" if row is best else "",
                row.name,
                row.kind,
                *(_cell(row.metrics.get(key)) for key in self.metrics),
                *(_cell(row.params.get(key)) for key in self.params),
            ]
            for row in self.rows
        ]


def compare(
    entries: Sequence[Mapping[str, Any]],
    sort_by: str = DEFAULT_SORT,
    ascending: bool | None = None,
    metrics_file: str | None = DEFAULT_METRICS_FILE,
) -> Comparison:
    """Rows sorted by ``sort_by`` (direction guessed from its name unless given)."""
    rows = rows_from_exp_show(entries, metrics_file)
    keys = metric_keys(rows)
    metric = resolve_metric(sort_by, keys)
    direction = lower_is_better(metric) if ascending is None else ascending
    return Comparison(
        sort_rows(rows, metric, direction), metric, direction, keys, differing_params(rows)
    )


def to_markdown(comparison: Comparison) -> str:
    header = comparison.header()
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(cells) + " |" for cells in comparison.table_rows()]
    order = "ascending" if comparison.ascending else "descending"
    lines.append("")
    lines.append(f"Sorted by `{comparison.metric}` ({order}); ★ marks the best.")
    return "\n".join(lines) + "\n"


def to_json(comparison: Comparison) -> str:
    best = comparison.best
    payload = {
        "sort_by": comparison.metric,
        "ascending": comparison.ascending,
        "best": best.name if best else None,
        "rows": [
            {
                "name": row.name,
                "rev": row.rev,
                "kind": row.kind,
                "metrics": row.metrics,
                "params": {key: row.params.get(key) for key in comparison.params},
            }
            for row in comparison.rows
        ],
    }
    return json.dumps(payload, indent=2, sort_keys=True) + "\n"


def to_rich_table(comparison: Comparison) -> Any:
    from rich.table import Table

    order = "ascending" if comparison.ascending else "descending"
    table = Table(title=f"sorted by {comparison.metric} ({order}); ★ best")
    for column in comparison.header():
        table.add_column(column, overflow="fold")
    best_index = 0 if comparison.best else -1
    for index, cells in enumerate(comparison.table_rows()):
        table.add_row(*cells, style="bold green" if index == best_index else None)
    return table


def read_exp_show(project: Path = Path(".")) -> list[dict[str, Any]]:
    """Run ``dvc exp show --json -A`` in ``project``; clear errors when DVC is not usable."""
    if not (project / ".dvc").is_dir():
        raise UserError(f"{project.resolve()}: not a DVC project (no .dvc/); run `dvc init` first")
    dvc = shutil.which("dvc")
    if dvc is None:
        raise UserError("compare: the `dvc` command is not on PATH; activate the project's venv")
    result = subprocess.run(
        [dvc, "exp", "show", "--json", "--all-commits"],
        cwd=project,
        capture_output=True,
        text=True,
        check=False,
    )
    if result.returncode != 0:
        problem = (result.stderr.strip().splitlines() or ["unknown error"])[-1]
        raise UserError(f"compare: dvc exp show failed: {problem}")
    return json.loads(result.stdout or "[]")
