"""Fixtures of the feature tests: a generated interim table and the shipped spec."""

from __future__ import annotations

from pathlib import Path

import polars as pl
import pytest
from sales_columns import SALES

from features_pipeline.ingest.split import assign_split
from features_pipeline.ingest.synthetic import generate_sales

REPO_ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="session")
def shipped_spec() -> Path:
    return REPO_ROOT / "config" / "features.yaml"


@pytest.fixture(scope="session")
def interim() -> pl.DataFrame:
    """3000 generated orders with a split column: what data/interim/sales.parquet holds."""
    return assign_split(generate_sales(3000, seed=21), "random", 0.2, 42, SALES)


@pytest.fixture(scope="session")
def interim_small() -> pl.DataFrame:
    """400 generated orders with a split column, for tests that edit rows."""
    return assign_split(generate_sales(400, seed=5), "random", 0.25, 7, SALES)
