"""Train/test split: hash-stable per key of the dataset contract (random) or by its row order
(time)."""

from __future__ import annotations

import hashlib
import math
from typing import Any, Literal

import narwhals.stable.v2 as nw
import numpy as np
import polars as pl

from features_pipeline.contracts.dataset import DatasetContract
from features_pipeline.contracts.split import SPLIT, TEST, TRAIN
from features_pipeline.errors import UserError

KEY_SEPARATOR = "\x1f"  # joins the values of a key of several columns before hashing

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


def stable_text_hash(keys: pl.Series) -> np.ndarray:
    """A 64-bit hash per text key that depends only on its UTF-8 bytes (BLAKE2b, hashed once
    per distinct value): the same on every platform, library version and engine."""
    distinct = keys.unique(maintain_order=True)
    digests = [
        int.from_bytes(hashlib.blake2b(value.encode(), digest_size=8).digest(), "little")
        for value in distinct.to_list()
    ]
    lookup = pl.DataFrame({"k": distinct, "h": pl.Series(digests, dtype=pl.UInt64)})
    hashed = keys.to_frame("k").join(lookup, on="k", how="left", maintain_order="left")
    return hashed.get_column("h").to_numpy()


def split_keys(frame: pl.DataFrame, columns: tuple[str, ...]) -> np.ndarray:
    """Integer keys to hash: a single integer column as is, anything else (text, dates, several
    columns) through :func:`stable_text_hash` of its text form."""
    if len(columns) == 1 and frame.schema[columns[0]].is_integer():
        return frame.get_column(columns[0]).to_numpy()
    text = frame.select(
        pl.concat_str([pl.col(name).cast(pl.String) for name in columns], separator=KEY_SEPARATOR)
    ).to_series()
    return stable_text_hash(text)


def random_split(
    frame: pl.DataFrame, test_size: float, seed: int, key: tuple[str, ...]
) -> pl.Series:
    """``test`` for rows whose hashed key falls below ``test_size``; stable on append, and rows
    sharing a key share a split."""
    keys = pl.Series(split_keys(frame, key))
    return split_labels(stable_unit_interval(keys, seed) < test_size)


def time_split(frame: pl.DataFrame, test_size: float, order: tuple[str, ...]) -> pl.Series:
    """``test`` for the latest ``test_size`` fraction of rows by ``order`` (last: a tie-breaker)."""
    latest = time_test_rows(frame.height, test_size)
    rank = pl.struct(*order).rank("ordinal", descending=True).alias("r")
    return split_labels(frame.select(rank).get_column("r") <= latest)


def time_cutoff(frame: nw.LazyFrame[Any], latest: int, order: tuple[str, str]) -> pl.DataFrame:
    """The time split's cutoff without the table in memory: the (order_by, tie-breaker) values of
    the ``latest``-th latest row of ``frame`` (any engine; nulls of order_by count as earliest,
    as :func:`time_split` ranks them), one row; no row when ``latest`` is 0."""
    newest = frame.select(*order).sort(*order, descending=True, nulls_last=True).head(latest)
    cutoff: pl.DataFrame = (
        newest.sort(*order, nulls_last=False).head(1).collect("polars").to_native()
    )
    return cutoff


def time_split_at(frame: pl.DataFrame, cutoff: pl.DataFrame, order: tuple[str, str]) -> pl.Series:
    """:func:`time_split`'s labels for a piece of the table, given the whole table's
    :func:`time_cutoff`: ``test`` at or after the cutoff row in (order_by, tie-breaker) order (the
    tie-breaker is unique: the contract's key or ``row_number``)."""
    if cutoff.height == 0:
        return split_labels(np.zeros(frame.height, dtype=bool))
    time, tie = (pl.col(name) for name in order)
    at = cutoff.select(pl.col(name).cast(frame.schema[name]) for name in order).row(0)
    if at[0] is None:  # the cutoff is among the rows without a time: every timed row is later
        test = time.is_not_null() | (time.is_null() & (tie >= at[1]))
    else:
        later = (time > pl.lit(at[0], frame.schema[order[0]])) | (
            (time == pl.lit(at[0], frame.schema[order[0]]))
            & (tie >= pl.lit(at[1], frame.schema[order[1]]))
        )
        test = later.fill_null(False)
    return split_labels(frame.select(test).to_series())


def assign_split(
    frame: pl.DataFrame,
    strategy: Literal["random", "time"],
    test_size: float,
    seed: int,
    dataset: DatasetContract,
    source: str = "params.yaml",
) -> pl.DataFrame:
    """Add the ``split`` column (``train``/``test``)."""
    if strategy == "random":
        split = random_split(frame, test_size, seed, dataset.split_key)
    else:
        split = time_split(frame, test_size, time_order(dataset, source))
    return frame.with_columns(split)


def time_order(dataset: DatasetContract, source: str) -> tuple[str, str]:
    """(order_by, tie-breaker) of the time split; UserError when the contract has no order_by."""
    if dataset.order_by is None:
        raise UserError(
            f"{source}: split.strategy: 'time' needs an order_by column in the dataset "
            "contract; declare one or use strategy 'random'"
        )
    return dataset.order_by, dataset.tie_breaker


def time_test_rows(rows: int, test_size: float) -> int:
    """How many rows the time split puts in test: the latest ceil(rows x test_size)."""
    return math.ceil(rows * test_size)
