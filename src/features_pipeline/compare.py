"""Compare the workspace, commits and DVC experiments: metrics and the params that differ.

Built on ``dvc exp show --json``: pure functions turn its JSON into rows, sort them by a metric,
mark the best and render a rich table, Markdown (for CI comments) or JSON (for scripts).
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

LOWER_IS_BETTER = ("rmse", "mae", "mape", "seconds", "loss", "error")
DEFAULT_METRICS_FILE = "metrics/metrics.json"
DEFAULT_SORT = "rmse"
DEFAULT_PARAMS_FILE = "params.yaml"
TIMING_PREFIX = "metrics/timing/"
GATE_PREFIX = "gates."  # per-gate thresholds and values: the headline metrics repeat the values
SECONDS = "seconds"
CELL_WIDTH = 48  # longest table/Markdown cell (lists of features); --json has the full value
DONE_STATES = ("success", None)  # an experiment run that finished (None: a workspace run)

Scalar = str | int | float | bool | None


@dataclass(frozen=True)
class Row:
    """One workspace, commit or experiment with its flattened metrics and params."""

    name: str
    rev: str
    kind: str  # workspace | commit | experiment
    metrics: dict[str, Scalar] = field(default_factory=dict)
    params: dict[str, Scalar] = field(default_factory=dict)
    seconds: float | None = None  # sum of the stage times in metrics/timing/*.json
    state: str | None = None  # experiments run from the queue: queued, running, success, failed
    baseline: str | None = None  # the commit an experiment is based on

    @property
    def finished(self) -> bool:
        return self.state in DONE_STATES

    @property
    def label(self) -> str:
        return self.kind if self.finished else f"{self.kind} ({self.state})"


def flatten(data: Any, prefix: str = "") -> dict[str, Scalar]:
    """Nested mappings -> ``a.b.c`` keys; lists become compact JSON text."""
    if isinstance(data, Mapping):
        flat: dict[str, Scalar] = {}
        for key, value in data.items():
            flat.update(flatten(value, f"{prefix}.{key}" if prefix else str(key)))
        return flat
    if isinstance(data, list):
        return {prefix: json.dumps(data, ensure_ascii=False)}
    return {prefix: data}


def metrics_file_key(path: str) -> str:
    """``metrics/train.json`` -> ``train``; ``metrics/timing/train.json`` -> ``timing/train``."""
    return path.removeprefix("metrics/").removesuffix(".json")


def _data(content: Any) -> Mapping[str, Any]:
    data = (content or {}).get("data") if isinstance(content, Mapping) else None
    return data if isinstance(data, Mapping) else {}


def row_metrics(section: Mapping[str, Any] | None, only: str | None) -> dict[str, Scalar]:
    """Metrics of ``only`` (bare keys), or of every file (keys prefixed by the file)."""
    flat: dict[str, Scalar] = {}
    for path, content in (section or {}).items():
        if only is None:
            flat.update(flatten(_data(content), metrics_file_key(path)))
        elif path == only:
            flat.update(flatten(_data(content)))
    return flat


def row_params(section: Mapping[str, Any] | None) -> dict[str, Scalar]:
    """params.yaml keys bare (``train.model.name``), other files' keys as ``file:key``."""
    flat: dict[str, Scalar] = {}
    for path, content in (section or {}).items():
        prefix = "" if path == DEFAULT_PARAMS_FILE else f"{path}:"
        flat.update({prefix + key: value for key, value in flatten(_data(content)).items()})
    return flat


def total_seconds(section: Mapping[str, Any] | None) -> float | None:
    """Sum of ``seconds`` over metrics/timing/*.json (a skipped stage keeps its last time)."""
    times = [
        _data(content).get(SECONDS)
        for path, content in (section or {}).items()
        if path.startswith(TIMING_PREFIX)
    ]
    numbers = [value for value in times if _number(value) is not None]
    return round(sum(numbers), 3) if numbers else None


def _row(
    entry: Mapping[str, Any],
    kind: str,
    metrics_file: str | None,
    state: str | None = None,
    baseline: str | None = None,
) -> Row:
    data = entry.get("data") or {}
    rev = str(entry.get("rev") or data.get("rev") or "")
    name = entry.get("name") or (rev if rev == "workspace" else rev[:7])
    return Row(
        name=str(name),
        rev=rev,
        kind=kind,
        metrics=row_metrics(data.get("metrics"), metrics_file),
        params=row_params(data.get("params")),
        seconds=total_seconds(data.get("metrics")),
        state=state,
        baseline=baseline,
    )


def rows_from_exp_show(entries: Sequence[Mapping[str, Any]], metrics_file: str | None) -> list[Row]:
    """Workspace, each baseline commit and each of its experiments, in DVC's order.

    Commits without any metric (older than the pipeline) are left out; their experiments stay.
    """
    rows: list[Row] = []
    for entry in entries:
        kind = "workspace" if entry.get("rev") == "workspace" else "commit"
        row = _row(entry, kind, metrics_file)
        if kind == "workspace" or row.metrics:
            rows.append(row)
        for experiment in entry.get("experiments") or []:
            executor = experiment.get("executor") or {}
            state = executor.get("state") if isinstance(executor, Mapping) else None
            for revision in experiment.get("revs") or []:
                named = {**revision, "name": experiment.get("name") or revision.get("name")}
                rows.append(_row(named, "experiment", metrics_file, state, row.name))
    return rows


def differing_params(rows: Iterable[Row]) -> list[str]:
    """Param keys whose values are not the same in every row (sorted)."""
    rows = list(rows)
    keys = sorted({key for row in rows for key in row.params})
    return [key for key in keys if len({json.dumps(row.params.get(key)) for row in rows}) > 1]


def metric_keys(rows: Iterable[Row]) -> list[str]:
    return sorted({key for row in rows for key in row.metrics})


def shown_metrics(rows: Sequence[Row], keys: Sequence[str], metric: str) -> list[str]:
    """The sort metric, then the other metrics that differ between rows (gate details left out).

    With nothing to compare (one row, or identical rows) every non-gate metric is shown.
    """
    candidates = [key for key in keys if not key.split("/")[-1].startswith(GATE_PREFIX)]
    with_metrics = [row for row in rows if row.metrics]
    differing = [
        key
        for key in candidates
        if len({json.dumps(row.metrics.get(key)) for row in with_metrics}) > 1
    ]
    chosen = differing if differing else candidates
    return [metric, *(key for key in chosen if key != metric)]


def resolve_metric(requested: str, keys: Sequence[str]) -> str:
    """``rmse`` or ``metrics.rmse`` -> the one metric key it names."""
    if requested in keys:
        return requested
    matches = [key for key in keys if key.endswith(f".{requested}")]
    if len(matches) == 1:
        return matches[0]
    if not keys:
        raise UserError("compare: no metrics yet; run the pipeline first (dvc repro)")
    known = ", ".join(keys)
    if not matches:
        raise UserError(f"compare: --sort-by: unknown metric {requested!r} (known: {known})")
    raise UserError(f"compare: --sort-by: {requested!r} is ambiguous ({', '.join(matches)})")


def lower_is_better(metric: str) -> bool:
    leaf = metric.rsplit(".", 1)[-1].lower()
    return any(word in leaf for word in LOWER_IS_BETTER)


def _number(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return None if math.isnan(value) else float(value)


def sort_rows(rows: Sequence[Row], metric: str, ascending: bool) -> list[Row]:
    """Finished rows with the metric first (best first), then the rest, each group stable."""

    def ranked(row: Row) -> bool:
        return row.finished and _number(row.metrics.get(metric)) is not None

    with_value = [row for row in rows if ranked(row)]
    without = [row for row in rows if not ranked(row)]
    with_value.sort(key=lambda row: _number(row.metrics[metric]) or 0.0, reverse=not ascending)
    return with_value + without


def _cell(value: Scalar, width: int | None = CELL_WIDTH) -> str:
    if value is None:
        return "-"
    text = f"{value:.6g}" if isinstance(value, float) else str(value)
    if width is not None and len(text) > width:
        text = text[: width - 1] + "…"
    return text


@dataclass(frozen=True)
class Comparison:
    rows: list[Row]
    metric: str
    ascending: bool
    metrics: list[str]  # every metric key (JSON output)
    shown: list[str]  # the metric columns of the table / Markdown
    params: list[str]  # params that differ between rows

    @property
    def best(self) -> Row | None:
        """The best finished row by the metric (workspace, commit or experiment)."""
        first = self.rows[0] if self.rows else None
        if first is None or not first.finished:
            return None
        return first if _number(first.metrics.get(self.metric)) is not None else None

    @property
    def best_experiment(self) -> Row | None:
        """The best finished experiment by the metric (what ``dvc exp apply`` takes)."""
        for row in self.rows:
            ranked = _number(row.metrics.get(self.metric)) is not None
            if row.kind == "experiment" and row.finished and ranked:
                return row
        return None

    @property
    def has_experiments(self) -> bool:
        return any(row.kind == "experiment" for row in self.rows)

    @property
    def has_seconds(self) -> bool:
        return any(row.seconds is not None for row in self.rows)

    @property
    def show_baseline(self) -> bool:
        return len({row.baseline for row in self.rows if row.kind == "experiment"}) > 1

    def header(self) -> list[str]:
        extra = ["baseline"] if self.show_baseline else []
        seconds = [SECONDS] if self.has_seconds else []
        return ["", "name", "kind", *extra, *self.shown, *seconds, *self.params]

    def table_rows(self, width: int | None = CELL_WIDTH) -> list[list[str]]:
        best = self.best
        return [
            [
                "★" if row is best else "",
                row.name,
                row.label,
                *([_cell(row.baseline)] if self.show_baseline else []),
                *(_cell(row.metrics.get(key), width) for key in self.shown),
                *([_cell(row.seconds)] if self.has_seconds else []),
                *(_cell(row.params.get(key), width) for key in self.params),
            ]
            for row in self.rows
        ]

    def describe(self) -> str:
        order = "ascending" if self.ascending else "descending"
        hidden = len(
            [k for k in self.metrics if k not in self.shown and not k.startswith(GATE_PREFIX)]
        )
        notes = [f"sorted by {self.metric} ({order}); ★ best"]
        if hidden:
            notes.append(f"{hidden} metric(s) equal in every row not shown")
        if self.has_seconds:
            notes.append("seconds: sum of the stage times in metrics/timing/")
        return "; ".join(notes)


def compare(
    entries: Sequence[Mapping[str, Any]],
    sort_by: str = DEFAULT_SORT,
    ascending: bool | None = None,
    metrics_file: str | None = DEFAULT_METRICS_FILE,
) -> Comparison:
    """Rows sorted by ``sort_by`` (direction guessed from its name unless given)."""
    if not entries:
        raise UserError(
            "compare: the git repository has no commit yet; commit the project first "
            "(git add -A && git commit -m 'Start'): DVC experiments are based on a commit"
        )
    rows = rows_from_exp_show(entries, metrics_file)
    keys = metric_keys(rows)
    metric = resolve_metric(sort_by, keys)
    direction = lower_is_better(metric) if ascending is None else ascending
    ordered = sort_rows(rows, metric, direction)
    return Comparison(
        rows=ordered,
        metric=metric,
        ascending=direction,
        metrics=keys,
        shown=shown_metrics(ordered, keys, metric),
        params=differing_params(rows),
    )


def _md_escape(text: str) -> str:
    return text.replace("|", "\\|")


def to_markdown(comparison: Comparison) -> str:
    header = comparison.header()
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += [
        "| " + " | ".join(_md_escape(cell) for cell in cells) + " |"
        for cells in comparison.table_rows()
    ]
    lines += ["", comparison.describe().replace(comparison.metric, f"`{comparison.metric}`", 1)]
    return "\n".join(lines) + "\n"


def to_json(comparison: Comparison) -> str:
    best = comparison.best
    experiment = comparison.best_experiment
    payload = {
        "sort_by": comparison.metric,
        "ascending": comparison.ascending,
        "best": best.name if best else None,
        "best_experiment": experiment.name if experiment else None,
        "params_differing": comparison.params,
        "rows": [
            {
                "name": row.name,
                "rev": row.rev,
                "kind": row.kind,
                "state": row.state,
                "baseline": row.baseline,
                "metrics": row.metrics,
                SECONDS: row.seconds,
                "params": {key: row.params.get(key) for key in comparison.params},
            }
            for row in comparison.rows
        ],
    }
    return json.dumps(payload, indent=2, sort_keys=True) + "\n"


def to_rich_table(comparison: Comparison) -> Any:
    from rich.table import Table

    table = Table(title="features-pipeline compare", caption=comparison.describe())
    first_number = 3 + int(comparison.show_baseline)
    numbers = range(first_number, first_number + len(comparison.shown) + comparison.has_seconds)
    for index, column in enumerate(comparison.header()):
        table.add_column(
            column,
            no_wrap=index <= 2,
            justify="right" if index in numbers else "left",
            overflow="fold",
        )
    best = comparison.best
    for row, cells in zip(comparison.rows, comparison.table_rows(), strict=True):
        style = "bold green" if row is best else ("dim" if not row.finished else None)
        table.add_row(*cells, style=style)
    return table


def exp_show_command(num: int = 1, all_commits: bool = False) -> list[str]:
    """The ``dvc exp show`` arguments: ``num`` commits back from HEAD, or every commit."""
    scope = ["--all-commits"] if all_commits else ["--num", str(num)]
    return ["exp", "show", "--json", *scope]


def read_exp_show(
    project: Path = Path("."), num: int = 1, all_commits: bool = False
) -> list[dict[str, Any]]:
    """Run ``dvc exp show --json`` in ``project``; clear errors when DVC is not usable."""
    if not (project / ".dvc").is_dir():
        raise UserError(
            f"{project.resolve()}: not a DVC project (no .dvc/ folder); run features-pipeline "
            "compare from the project root, or `dvc init` a new project"
        )
    dvc = shutil.which("dvc")
    if dvc is None:
        raise UserError("compare: the `dvc` command is not on PATH; activate the project's venv")
    result = subprocess.run(
        [dvc, *exp_show_command(num, all_commits)],
        cwd=project,
        capture_output=True,
        text=True,
        check=False,
    )
    if result.returncode != 0:
        problem = (result.stderr.strip().splitlines() or ["unknown error"])[-1]
        raise UserError(f"compare: dvc exp show failed: {problem.removeprefix('ERROR: ')}")
    try:
        loaded = json.loads(result.stdout or "[]")
    except json.JSONDecodeError as exc:
        raise UserError(f"compare: dvc exp show printed no JSON ({exc.msg})") from None
    return loaded if isinstance(loaded, list) else []
