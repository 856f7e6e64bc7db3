"""Column roles of a typed table, from its dataset contract and its values: what may be a raw
model input, an identifier (frequency only), a date, or nothing (target, outcome, key)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import polars as pl

from features_pipeline.contracts.dataset import DatasetContract
from features_pipeline.contracts.split import SPLIT, TRAIN

CATEGORY_MAX_DISTINCT = 50  # more distinct values: an identifier, never one-hot encoded
CENT = 0.005  # money compared to the cent: an outcome column sums to the target within this


@dataclass(frozen=True)
class Roles:
    """How each column of the table is used by the proposal."""

    numeric: tuple[str, ...] = ()  # raw numeric model inputs
    categories: tuple[str, ...] = ()  # low-cardinality categories: raw model inputs
    identifiers: tuple[str, ...] = ()  # repeated high-cardinality values: frequency only
    dates: tuple[str, ...] = ()  # parts and differences only (dates are not model inputs)
    left_out: dict[str, str] = field(default_factory=dict)  # column -> why it is no input

    @property
    def raw_inputs(self) -> tuple[str, ...]:
        return self.categories + self.numeric


def _train(frame: pl.DataFrame) -> pl.DataFrame:
    return frame.filter(pl.col(SPLIT) == TRAIN) if SPLIT in frame.columns else frame


def table_roles(frame: pl.DataFrame, dataset: DatasetContract) -> Roles:
    """The role of every declared column of ``frame`` (typed, with its ``split`` column)."""
    train = _train(frame)
    numeric: list[str] = []
    categories: list[str] = []
    identifiers: list[str] = []
    dates: list[str] = []
    left_out: dict[str, str] = {}
    outcome = set(dataset.outcome_columns) - {dataset.target}
    for name, spec in dataset.columns.items():
        if name not in frame.columns:
            continue
        column = train.get_column(name)
        distinct = column.n_unique()
        if name == dataset.target:
            left_out[name] = "the target"
        elif name in outcome:
            left_out[name] = "an outcome column (known only with the target)"
        elif name in dataset.key:
            left_out[name] = "the row key (unique per row)"
        elif spec.type in ("date", "datetime"):
            dates.append(name)
        elif column.null_count():
            left_out[name] = f"{column.null_count():,} empty cell(s) in train rows"
        elif distinct <= 1:
            left_out[name] = "a single value in train rows"
        elif spec.type in ("integer", "float", "money"):
            numeric.append(name)
        elif spec.type in ("category", "boolean") and distinct <= CATEGORY_MAX_DISTINCT:
            categories.append(name)
        elif distinct < train.height:
            identifiers.append(name)
        else:
            left_out[name] = "unique per row: an identifier that predicts nothing"
    return Roles(tuple(numeric), tuple(categories), tuple(identifiers), tuple(dates), left_out)


def outcome_columns(frame: pl.DataFrame, target: str, numeric: Sequence[str]) -> Mapping[str, str]:
    """Numeric columns that make up the target on every row (``target = a - b`` or ``a + b``, to
    the cent, or ``target = a``): known only with the target, so never inputs. Column -> the
    evidence, for the contract's ``# check`` note."""
    found: dict[str, str] = {}
    columns = [name for name in numeric if name != target]
    rows = frame.select([target, *columns]).drop_nulls()
    if rows.height == 0:
        return found
    y = rows.get_column(target).cast(pl.Float64)
    scale = max(float(y.abs().max() or 0.0), 1.0)  # type: ignore[arg-type]
    tolerance = CENT + 1e-9 * scale
    for i, left in enumerate(columns):
        a = rows.get_column(left).cast(pl.Float64)
        if float((y - a).abs().max()) <= tolerance:  # type: ignore[arg-type]
            found.setdefault(left, f"equals {target!r} on all {rows.height:,} rows")
        for right in columns[i + 1 :]:
            b = rows.get_column(right).cast(pl.Float64)
            for shown, combined in (
                (f"{left!r} - {right!r}", a - b),
                (f"{right!r} - {left!r}", b - a),
                (f"{left!r} + {right!r}", a + b),
            ):
                if float((y - combined).abs().max()) <= tolerance:  # type: ignore[arg-type]
                    evidence = f"{target!r} = {shown} on all {rows.height:,} rows"
                    found.setdefault(left, evidence)
                    found.setdefault(right, evidence)
    return found
