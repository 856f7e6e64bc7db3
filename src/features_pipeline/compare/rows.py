"""Rows from ``dvc exp show --json``: flattened metrics and params, and which of them to show.

Paths are those of :mod:`features_pipeline.contracts.paths`, written as DVC names them (POSIX).
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from features_pipeline.contracts.paths import DEFAULT_PARAMS, TEST_METRICS, TIMING_DIR
from features_pipeline.errors import UserError

DEFAULT_METRICS_FILE = TEST_METRICS.path.as_posix()  # metrics/metrics.json
DEFAULT_PARAMS_FILE = DEFAULT_PARAMS.as_posix()  # params.yaml
METRICS_PREFIX = f"{TEST_METRICS.path.parent.as_posix()}/"  # metrics/
TIMING_PREFIX = f"{TIMING_DIR.as_posix()}/"  # metrics/timing/
GATE_PREFIX = "gates."  # per-gate thresholds and values: the headline metrics repeat the values
SECONDS = "seconds"
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


def number(value: Any) -> float | None:
    """``value`` as a float when it is a real number (not a bool, not NaN), else None."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return None if math.isnan(value) else float(value)


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
    return path.removeprefix(METRICS_PREFIX).removesuffix(".json")


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
    times: list[Any] = [
        _data(content).get(SECONDS)
        for path, content in (section or {}).items()
        if path.startswith(TIMING_PREFIX)
    ]
    numbers = [value for value in times if number(value) is not None]
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
    # A queued, running or failed experiment's commit still holds its parent's metrics files
    # (DVC queues a copy of the workspace): they are not its results, so it has none.
    metrics = data.get("metrics") if state in DONE_STATES else None
    return Row(
        name=str(name),
        rev=rev,
        kind=kind,
        metrics=row_metrics(metrics, metrics_file),
        params=row_params(data.get("params")),
        seconds=total_seconds(metrics),
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
    """Every metric key of any row (sorted)."""
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
