"""Leakage found in the data, not the names: a model input that is the target in disguise.

Two checks on the training rows, both deterministic and vectorised:

* a numeric input equal to the target, or an exact linear function of it (``target = a*x + b``
  with zero residual), e.g. ``Total Revenue - Total Cost`` for ``Total Profit``;
* a fitted feature learned from the target (a target encoding) whose key groups are mostly
  single training rows, e.g. keyed on ``Order ID``: each row's value is its own target.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import polars as pl

from features_pipeline.contracts.plan_file import Kind, PlanFile
from features_pipeline.errors import UserError

MIN_ROWS = 10  # fewer train rows than this: a perfect fit proves nothing
CORR_TOLERANCE = 1e-12  # |corr| >= 1 - this: perfectly correlated
RESIDUAL_TOLERANCE = 1e-9  # residual norm / target norm <= this: an exact fit
SINGLE_ROW_SHARE = 0.5  # a target encoding with more single-row groups than this leaks
SHOWN_KEYS = 3


@dataclass(frozen=True)
class LinearLeak:
    """``target = slope * feature + intercept`` on ``rows`` train rows."""

    feature: str
    slope: float
    intercept: float
    rows: int


@dataclass(frozen=True)
class EncodingLeak:
    """A target encoding keyed on ``keys`` with ``single`` of ``groups`` groups of one row."""

    feature: str
    keys: tuple[str, ...]
    single: int
    groups: int

    @property
    def share(self) -> float:
        return self.single / self.groups


def linear_leaks(rows: pl.DataFrame, features: Sequence[str], target: str) -> list[LinearLeak]:
    """Numeric ``features`` of which ``target`` is an exact linear function on ``rows``
    (rows with a null or non-finite value of the pair are left out)."""
    leaks: list[LinearLeak] = []
    y = pl.col(target).cast(pl.Float64)
    for name in features:
        if name == target or not rows.schema[name].is_numeric():
            continue
        x = pl.col(name).cast(pl.Float64)
        pair = rows.select(x.alias("x"), y.alias("y")).filter(
            pl.col("x").is_finite() & pl.col("y").is_finite()
        )
        if pair.height < MIN_ROWS:
            continue
        xs, ys = pl.col("x"), pl.col("y")
        stats = pair.select(
            corr=pl.corr(xs, ys),
            slope=pl.cov(xs, ys) / xs.var(),
            x_mean=xs.mean(),
            y_mean=ys.mean(),
            y_norm=(ys * ys).sum().sqrt(),
        ).row(0, named=True)
        slope = stats["slope"]
        if slope is None or not _finite(slope):
            continue  # a constant input: no linear relation to speak of
        intercept = stats["y_mean"] - slope * stats["x_mean"]
        residual = pair.select(((ys - slope * xs - intercept) ** 2).sum().sqrt()).item()
        corr = stats["corr"]
        perfect = corr is not None and _finite(corr) and abs(corr) >= 1 - CORR_TOLERANCE
        exact = residual <= RESIDUAL_TOLERANCE * max(stats["y_norm"], 1e-300)
        if perfect or exact:
            leaks.append(LinearLeak(name, float(slope), float(intercept), pair.height))
    return leaks


def encoding_keys(plan: PlanFile, name: str, target: str) -> tuple[str, ...] | None:
    """The key columns of a fitted feature learned from the target; None for other features."""
    entry = plan.get(name)
    if entry is None or entry.kind is not Kind.FITTED or not entry.depends_on_target:
        return None
    keys = tuple(
        column
        for column in entry.inputs
        if column != target and not ((planned := plan.get(column)) and planned.depends_on_target)
    )
    return keys or None


def encoding_leaks(
    rows: pl.DataFrame, features: Sequence[str], target: str, plan: PlanFile
) -> list[EncodingLeak]:
    """Target encodings among ``features`` whose key groups are mostly single train rows
    (features whose keys are not all in ``rows`` are not checked)."""
    leaks: list[EncodingLeak] = []
    if rows.height < MIN_ROWS:
        return leaks
    for name in features:
        keys = encoding_keys(plan, name, target)
        if keys is None or any(key not in rows.columns for key in keys):
            continue
        sizes = rows.group_by(keys).len()
        single = sizes.filter(pl.col("len") == 1).height
        if single / sizes.height > SINGLE_ROW_SHARE:
            leaks.append(EncodingLeak(name, keys, single, sizes.height))
    return leaks


def lineage(plan: PlanFile, name: str) -> set[str]:
    """The input columns ``name`` is computed from (itself when it is not a feature)."""
    if name not in plan:
        return {name}
    return set().union(*(lineage(plan, column) for column in plan[name].inputs))


def check_leakage(
    rows: pl.DataFrame,
    features: Sequence[str],
    target: str,
    plan: PlanFile,
    source: str = "params.yaml",
    outcome: Sequence[str] = (),
) -> list[str]:
    """Refuse (one line naming the feature and the evidence) the first leaking input of the
    train ``rows`` (model inputs, target, and the keys of target encodings where present).

    An exact linear function of the target is refused when it is computed from the target or
    from ``outcome`` columns, recorded with the target (``Total Revenue - Total Cost``); one from
    what is known before the sale only is an exact predictor, not a leak: returned as a note
    (e.g. Units Sold x the item's learned unit margin, where the data has fixed margins)."""
    where = f"{source}: train.features"
    notes = []
    for leak in linear_leaks(rows, features, target):
        if not lineage(plan, leak.feature) & {*outcome, target}:
            notes.append(
                f"{where}: {leak.feature!r} predicts {target!r} exactly on the {leak.rows} "
                "train rows without using it or the outcome columns: check it is known before "
                "the sale"
            )
            continue
        raise UserError(
            f"{where}: {leak.feature!r} is an exact linear function of the target {target!r} "
            f"on the {leak.rows} train rows (target = a*x + b, a={leak.slope:.6g}, "
            f"b={leak.intercept:.6g}); it leaks the answer — remove it from train.features"
        )
    for enc in encoding_leaks(rows, features, target, plan):
        raise UserError(
            f"{where}: {enc.feature!r} is learned from the target {target!r} by "
            f"{', '.join(map(repr, enc.keys))}, and {enc.share:.0%} of its groups "
            f"({enc.single} of {enc.groups}) are a single train row, whose value is that row's "
            "own target; it leaks the answer — remove it from train.features or use coarser keys"
        )
    return notes


def leakage_columns(features: Sequence[str], target: str, plan: PlanFile) -> list[str]:
    """Columns :func:`check_leakage` reads: inputs, target and target-encoding keys."""
    keys = [key for name in features for key in (encoding_keys(plan, name, target) or ())]
    return list(dict.fromkeys([*features, target, *keys]))


def _finite(value: float) -> bool:
    return value == value and abs(value) != float("inf")
