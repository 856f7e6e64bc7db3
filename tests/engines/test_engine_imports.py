"""The default Polars path imports neither DuckDB nor Spark (start-up unchanged by the extras)."""

from __future__ import annotations

import subprocess
import sys

import pytest

OPTIONAL = ("duckdb", "pyspark")


@pytest.mark.parametrize("stage", ["ingest", "features", "validate", "train", "evaluate"])
def test_a_stage_imports_no_optional_engine(stage: str) -> None:
    code = (
        f"import sys, features_pipeline.stages.{stage}, features_pipeline.engines.registry\n"
        f"print(sorted({{m.split('.')[0] for m in sys.modules}} & {set(OPTIONAL)!r}))"
    )
    loaded = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout
    assert loaded.strip() == "[]"
