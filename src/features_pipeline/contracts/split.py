"""The split vocabulary: the ``split`` column, its two values, and selecting a split's rows."""

from __future__ import annotations

import polars as pl

from features_pipeline.errors import UserError

SPLIT = "split"
TRAIN = "train"
TEST = "test"
SPLIT_VALUES: tuple[str, str] = (TRAIN, TEST)


def split_rows(frame: pl.DataFrame, split: str, source: str) -> pl.DataFrame:
    """The rows of ``frame`` whose split column is ``split``; UserError when there are none."""
    if SPLIT not in frame.columns:
        raise UserError(f"{source}: column {SPLIT!r} missing (expected 'train'/'test' rows)")
    rows = frame.filter(pl.col(SPLIT) == split)
    if rows.height == 0:
        raise UserError(f"{source}: no {split!r} rows")
    return rows
