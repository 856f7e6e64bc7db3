"""From checked raw rows to predictions: the saved feature state computes the model's inputs.

Window features (lag, rolling, rank, cumulative) look at earlier orders: a model using them
needs the history table, and is refused without it.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from typing import Any

import numpy as np
import polars as pl

from features_pipeline.contracts.card import RAW, ModelCard
from features_pipeline.contracts.dataset import DatasetContract
from features_pipeline.contracts.paths import CARD_NAME
from features_pipeline.contracts.plan_file import Kind
from features_pipeline.errors import UserError
from features_pipeline.features.engine import transform
from features_pipeline.features.plan import Plan
from features_pipeline.features.state import FittedState
from features_pipeline.logs import progress
from features_pipeline.model.pipeline import PREPROCESS

PREDICT_BATCH = 100_000  # rows per model.predict call (a progress bar advances per batch)
UNSEEN = "unseen_category"  # output column: a categorical input holds a value unseen in training
SHOWN_UNSEEN = 3
_NEW = "__new_row__"


def prediction_column(target: str) -> str:
    """``Predicted <target>``: the column of predictions."""
    return f"Predicted {target}"


def needed_raw_columns(plan: Plan, inputs: Sequence[str], dataset: DatasetContract) -> list[str]:
    """Raw columns a row must carry to compute ``inputs`` (fitted features: their join keys),
    and the row key."""
    raw = plan.needed_inputs(inputs) | set(dataset.row_key)
    return [name for name in dataset.dtypes if name in raw]


def check_state_matches(card: ModelCard, state: FittedState, source: str) -> None:
    """Every engineered model input exists in the feature state with the dtype it was trained on."""
    target = card.target
    if state.plan.target != target:
        raise UserError(
            f"{source}: the model predicts {target!r} but the feature state was built for "
            f"{state.plan.target!r}"
        )
    names = set(state.plan.names)
    for name in card.features:
        entry = card.inputs.get(name)
        if entry is None or entry.kind == RAW:
            continue
        if name not in names:
            raise UserError(f"{source}: model input {name!r} is not in the feature state")
        trained = entry.dtype
        if str(state.plan[name].dtype) != trained:
            raise UserError(
                f"{source}: model input {name!r} was {trained} in training but the feature state "
                f"makes {state.plan[name].dtype}; re-run the pipeline (dvc repro)"
            )


def model_inputs(
    card: ModelCard,
    state: FittedState,
    new_rows: pl.DataFrame,
    dataset: DatasetContract,
    history: pl.DataFrame | None = None,
    card_source: str = CARD_NAME,
) -> pl.DataFrame:
    """The model's input columns for ``new_rows`` (same order), computed with the saved state.

    Window features are computed over ``history`` plus the new rows (history rows with the key
    of a new row are replaced by it); without history a model using them is refused.
    """
    features = list(card.features)
    subplan = state.plan.restricted_to(features)
    window = subplan.names_of(Kind.WINDOW)
    if window and history is None:
        raise UserError(
            f"{card_source}: the model uses window feature(s) {', '.join(map(repr, window))} that "
            "need earlier orders; pass the history table (e.g. --history "
            "data/interim/sales.parquet) or train without them"
        )
    raw = needed_raw_columns(state.plan, features, dataset)
    rows = new_rows.select(raw).with_columns(pl.lit(True).alias(_NEW))
    if window and history is not None:
        key = list(dataset.row_key)
        past = history.select(raw).join(
            rows.select(key), on=key, how="anti", nulls_equal=True, maintain_order="left"
        )
        rows = pl.concat([past.with_columns(pl.lit(False).alias(_NEW)), rows])
    transformed = transform(rows, dataclasses.replace(state, plan=subplan))
    return transformed.filter(pl.col(_NEW)).select(features)


def known_categories(model: Any) -> dict[str, list[Any]]:
    """The training values of each categorical input, read from the fitted frame encoder of the
    pipeline's preprocessing step (empty for a model without one)."""
    steps = getattr(model, "named_steps", None)
    encoder = steps.get(PREPROCESS) if isinstance(steps, dict) else None
    columns = getattr(encoder, "categorical", None) or ()
    categories = getattr(encoder, "categories_", None) or ()
    return {str(column): list(values) for column, values in zip(columns, categories, strict=False)}


def unseen_flags(inputs: pl.DataFrame, known: dict[str, list[Any]]) -> dict[str, pl.Series]:
    """Per categorical input: True where a row holds a (non-null) value unseen in training."""
    flags: dict[str, pl.Series] = {}
    for name, values in known.items():
        if name not in inputs.columns:
            continue
        # compared as text, as the encoder does (booleans: "true"/"false")
        column = inputs.get_column(name).cast(pl.String)
        seen = pl.Series(values, dtype=pl.String, strict=False)
        flags[name] = column.is_not_null() & ~column.is_in(seen.drop_nulls().implode())
    return flags


def describe_unseen(inputs: pl.DataFrame, flags: dict[str, pl.Series]) -> str | None:
    """``2 row(s) hold a category unseen in training ('Item Type': 'Gadgets' (2))``; None if
    every value was seen."""
    if not flags:
        return None
    rows = int(pl.DataFrame(flags).select(pl.any_horizontal(pl.all()).sum()).item())
    if not rows:
        return None
    examples: list[str] = []
    for name, flag in flags.items():
        values = inputs.get_column(name).filter(flag).cast(pl.String).value_counts(sort=True)
        for value, count in values.iter_rows():
            examples.append(f"{name!r}: {value!r} ({count})")
    shown = ", ".join(examples[:SHOWN_UNSEEN]) + (", ..." if len(examples) > SHOWN_UNSEEN else "")
    columns = ", ".join(repr(name) for name, flag in flags.items() if flag.any())
    return (
        f"{rows} row(s) hold a category unseen in training in {columns} ({shown}); the model "
        f"has no data for them, so their predictions are guesses (column {UNSEEN} = true)"
    )


def predict_rows(
    model: Any, target: str, new_rows: pl.DataFrame, inputs: pl.DataFrame, key: Sequence[str]
) -> pl.DataFrame:
    """The ``key`` columns, the prediction of ``target`` and the ``unseen_category`` flag for
    each of ``new_rows``, from its model ``inputs`` (:func:`model_inputs`, same order)."""
    predicted = predict_in_batches(model, inputs)
    flags = unseen_flags(inputs, known_categories(model))
    unseen = (
        pl.DataFrame(flags).select(pl.any_horizontal(pl.all())).to_series()
        if flags
        else pl.repeat(False, inputs.height, eager=True)
    )
    return new_rows.select(key).with_columns(
        pl.Series(prediction_column(target), predicted), unseen.alias(UNSEEN)
    )


def predict_in_batches(model: Any, inputs: pl.DataFrame, batch: int = PREDICT_BATCH) -> np.ndarray:
    """``model.predict`` over row batches, with a progress bar on a terminal for large inputs.

    Predictions are row-wise, so batches give the values of one call.
    """
    if inputs.height <= batch:
        return np.asarray(model.predict(inputs), dtype=np.float64)
    parts: list[np.ndarray] = []
    with progress("predict", total=inputs.height) as advance:
        for offset in range(0, inputs.height, batch):
            chunk = inputs.slice(offset, batch)
            parts.append(np.asarray(model.predict(chunk), dtype=np.float64))
            advance(chunk.height)
    return np.concatenate(parts)
