"""Shared inputs of the benchmark suites: generated Sales Records frames with a split."""

from __future__ import annotations

from pathlib import Path

import polars as pl
import pytest

from features_pipeline.features.plan import Plan, load_plan
from features_pipeline.ingest.split import assign_split
from features_pipeline.ingest.synthetic import generate_sales

SPEC = Path(__file__).resolve().parents[1] / "config" / "features.yaml"


def sales_with_split(rows: int) -> pl.DataFrame:
    """The interim table of ``rows`` synthetic orders (random split, fixed seeds)."""
    return assign_split(generate_sales(rows, seed=7), "random", 0.2, 42)


@pytest.fixture(scope="session")
def shipped_plan() -> Plan:
    return load_plan(SPEC)


@pytest.fixture(scope="session", params=[10_000, 1_000_000], ids=["10k", "1M"])
def sales(request: pytest.FixtureRequest) -> pl.DataFrame:
    return sales_with_split(request.param)
