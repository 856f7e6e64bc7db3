"""Train/test split: hash-stable per Order ID (random) or by Order Date (time)."""

from __future__ import annotations

import math
from typing import Literal

import numpy as np
import polars as pl

from features_pipeline import columns as c
from features_pipeline.contracts.split import SPLIT, TEST, TRAIN

_GOLDEN = np.uint64(0x9E3779B97F4A7C15)


def _splitmix64(values: np.ndarray) -> np.ndarray:
    """SplitMix64 finaliser: a fixed, version-independent 64-bit mix of each value."""
    z = values.astype(np.uint64) + _GOLDEN
    z = (z ^ (z >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
    z = (z ^ (z >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
    return z ^ (z >> np.uint64(31))


def stable_unit_interval(keys: pl.Series, seed: int) -> np.ndarray:
    """A uniform number in [0, 1) per key that depends only on (key, seed)."""
    with np.errstate(over="ignore"):
        salted = _splitmix64(keys.to_numpy().astype(np.uint64) ^ _splitmix64(np.array([seed]))[0])
        return (salted >> np.uint64(11)).astype(np.float64) / float(1 << 53)


def split_labels(is_test: pl.Series | np.ndarray) -> pl.Series:
    """``test`` where ``is_test``, else ``train`` (built by Polars: no numpy string array)."""
    mask = pl.Series(is_test, dtype=pl.Boolean)
    labels = pl.when(mask).then(pl.lit(TEST)).otherwise(pl.lit(TRAIN))
    return pl.select(labels.alias(SPLIT)).to_series()


def random_split(frame: pl.DataFrame, test_size: float, seed: int) -> pl.Series:
    """``test`` for orders whose hashed Order ID falls below ``test_size``; stable on append."""
    return split_labels(stable_unit_interval(frame.get_column(c.ORDER_ID), seed) < test_size)


def time_split(frame: pl.DataFrame, test_size: float) -> pl.Series:
    """``test`` for the latest ``test_size`` fraction of orders by (Order Date, Order ID)."""
    test_rows = math.ceil(frame.height * test_size)
    order = frame.select(
        pl.struct(c.ORDER_DATE, c.ORDER_ID).rank("ordinal", descending=True).alias("r")
    ).get_column("r")
    return split_labels(order <= test_rows)


def assign_split(
    frame: pl.DataFrame, strategy: Literal["random", "time"], test_size: float, seed: int
) -> pl.DataFrame:
    """Add the ``split`` column (``train``/``test``)."""
    if strategy == "random":
        split = random_split(frame, test_size, seed)
    else:
        split = time_split(frame, test_size)
    return frame.with_columns(split)
