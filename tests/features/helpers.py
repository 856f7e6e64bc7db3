"""Small helpers shared by the feature tests: plan and run specs on hand-made frames."""

from __future__ import annotations

import datetime as dt
import io
from collections.abc import Mapping, Sequence
from hashlib import sha256
from typing import Any

import polars as pl
from sales_columns import SALES_ORDER, sales_input_schema

from features_pipeline.features.engine import fit_transform
from features_pipeline.features.plan import Plan, build_plan
from features_pipeline.features.spec import parse_features
from features_pipeline.features.state import FittedState

SOURCE = "spec.yaml"
Spec = Mapping[str, Any]


def plan_for(
    specs: Sequence[Spec],
    schema: Mapping[str, pl.DataType] | pl.DataFrame | None = None,
    target: str = "Total Profit",
) -> Plan:
    """Parse and plan ``specs`` against ``schema`` (a frame's schema, or the interim default)."""
    if isinstance(schema, pl.DataFrame):
        schema = dict(schema.schema)
    schema = sales_input_schema() if schema is None else schema
    return build_plan(
        parse_features(list(specs), SOURCE), schema, target, SOURCE, order=SALES_ORDER
    )


def fit(frame: pl.DataFrame, *specs: Spec) -> tuple[pl.DataFrame, FittedState]:
    """Fit and compute ``specs`` on ``frame`` (every row is train unless it has a split column)."""
    if "split" not in frame.columns:
        frame = frame.with_columns(pl.lit("train").alias("split"))
    return fit_transform(frame, plan_for(specs, frame))


def compute(frame: pl.DataFrame, *specs: Spec) -> pl.DataFrame:
    """The output frame of ``fit``."""
    return fit(frame, *specs)[0]


def column(frame: pl.DataFrame, name: str) -> list[Any]:
    return frame.get_column(name).to_list()


def day(text: str) -> dt.date:
    return dt.date.fromisoformat(text)


def parquet_hash(frame: pl.DataFrame) -> str:
    """SHA-256 of the frame written as parquet (what the stage writes)."""
    buffer = io.BytesIO()
    frame.write_parquet(buffer)
    return sha256(buffer.getvalue()).hexdigest()
