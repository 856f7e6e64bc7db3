"""Polars dtypes by name, as plan.json, the feature state and the model card write them."""

from __future__ import annotations

import polars as pl


def dtype_name(dtype: pl.DataType) -> str:
    """``Float64``, ``String``, ``Datetime(time_unit='us', time_zone=None)``: ``str(dtype)``."""
    return str(dtype)


def parse_dtype(text: str) -> pl.DataType | None:
    """The polars dtype named by ``str(dtype)`` (``Float64``, ``String``, ...), None if not simple.

    Parameterised dtypes (``Datetime(time_unit='us', ...)``) are compared as strings instead.
    """
    candidate = getattr(pl, text, None) if text.isidentifier() else None
    if isinstance(candidate, type) and issubclass(candidate, pl.DataType):
        try:
            dtype = candidate()
        except TypeError:
            return None
        return dtype if str(dtype) == text else None
    return None
