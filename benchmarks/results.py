"""Timings collected during one benchmark run, and the ratios reported at its end.

Each benchmark stores its best time (seconds) under a key; ``ratio_table`` turns the pairs the
README reports into ratios of the same run (the machine is shared and noisy: ratios of timings
taken minutes apart on it mean little, absolute seconds even less).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

RESULTS: dict[str, float] = {}
EXTRA: dict[str, float] = {}  # throughputs etc., reported as they are

# (label, numerator key, denominator key): a ratio < 1 means the numerator is faster.
RATIOS: tuple[tuple[str, str, str], ...] = (
    (
        "ingest 10k: polars/pandas (CSV -> typed table)",
        "ingest/parse/polars/10k",
        "ingest/parse/pandas/10k",
    ),
    (
        "ingest 1M: polars/pandas (CSV -> typed table)",
        "ingest/parse/polars/1M",
        "ingest/parse/pandas/1M",
    ),
    ("features 10k: planned/pandas", "features/planned/10k", "features/pandas/10k"),
    ("features 1M: planned/pandas", "features/planned/1M", "features/pandas/1M"),
    ("features 10k: planned/sequential", "features/planned/10k", "features/sequential/10k"),
    ("features 1M: planned/sequential", "features/planned/1M", "features/sequential/1M"),
    ("validate/features 10k", "validate/10k", "validate/features/10k"),
    ("validate/features 1M", "validate/1M", "validate/features/1M"),
    ("train/features 1M (default model)", "train/1M", "features/planned/1M"),
    ("evaluate/features 1M", "evaluate/1M", "features/planned/1M"),
    ("dvc repro no-op / forced (10k)", "pipeline/noop", "pipeline/forced"),
    (
        "features 100k: new polars/previous engine (medians)",
        "engines/polars/median/100k",
        "engines/previous/median/100k",
    ),
    (
        "features 1M: new polars/previous engine (medians)",
        "engines/polars/median/1M",
        "engines/previous/median/1M",
    ),
    (
        "features 1M file: new polars/previous engine (medians)",
        "engines/file/polars/median/1M",
        "engines/file/previous/median/1M",
    ),
    (
        "engines 1M file: duckdb/polars",
        "engines/file/duckdb/1M",
        "engines/file/polars/1M",
    ),
    (
        "engines 1M file: duckdb in parts (700MB budget)/polars",
        "engines/file/duckdb-parts/1M",
        "engines/file/polars/1M",
    ),
    (
        "engines 1M file: duckdb in parts/duckdb's own plan",
        "engines/file/duckdb-parts/1M",
        "engines/file/duckdb/1M",
    ),
    (
        "engines 1M file: spark/polars",
        "engines/file/spark/1M",
        "engines/file/polars/1M",
    ),
    (
        "engines 1M file: spark/duckdb",
        "engines/file/spark/1M",
        "engines/file/duckdb/1M",
    ),
)


def remember(key: str, benchmark: Any) -> float | None:
    """Store the best time of ``benchmark`` (None when benchmarking is disabled)."""
    stats = getattr(benchmark, "stats", None)
    if stats is None:
        return None
    RESULTS[key] = stats.stats.min
    return RESULTS[key]


def load_average() -> float:
    """The machine's 1-minute load average (``/proc/loadavg``; 0 where there is none)."""
    try:
        return float(Path("/proc/loadavg").read_text().split()[0])
    except (OSError, ValueError, IndexError):
        return 0.0


def ratio(numerator: str, denominator: str) -> float | None:
    if numerator in RESULTS and denominator in RESULTS and RESULTS[denominator] > 0:
        return RESULTS[numerator] / RESULTS[denominator]
    return None


def type_ratios() -> list[tuple[str, float]]:
    """planned/pandas per feature type (1M rows), for the types measured in this run."""
    rows = []
    for key in sorted(RESULTS):
        parts = key.split("/")
        if parts[:2] == ["feature_type", "planned"]:
            value = ratio(key, key.replace("/planned/", "/pandas/"))
            if value is not None:
                rows.append((parts[2], value))
    return rows


def ratio_table() -> list[tuple[str, float]]:
    """Every ratio whose two timings were taken in this run."""
    rows = [(label, ratio(num, den)) for label, num, den in RATIOS]
    found = [(label, value) for label, value in rows if value is not None]
    found += [(f"feature type {name} 1M: planned/pandas", value) for name, value in type_ratios()]
    return found
