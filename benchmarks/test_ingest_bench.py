"""Ingest: CSV -> typed, contract-checked parquet (MB/s), and parsing against pandas.read_csv.

The 10k and a generated 1M-row CSV (M/D/YYYY dates, as in the public files). ``full`` is the
ingest stage's work for a CSV source: read and type every cell, check the raw contract, add the
split, write parquet. ``parse`` is reading + typing alone, the part pandas does too.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import polars as pl
from conftest import SIZES
from pandas_baseline import pandas_read_sales_csv
from results import EXTRA, remember

from features_pipeline.contracts.dataset import load_contract
from features_pipeline.ingest import synthetic as c
from features_pipeline.ingest.contract import check_raw_contract
from features_pipeline.ingest.csv_reader import read_csv_table
from features_pipeline.ingest.split import assign_split
from features_pipeline.io import write_parquet_atomic

SALES = load_contract(Path(__file__).resolve().parents[1] / "config" / "dataset.yaml")


def read_sales_csv(path: Path) -> pl.DataFrame:
    """The ingest reader with the shipped contract."""
    return read_csv_table(path, SALES)


MB = 1024 * 1024


def size_of(path: Path) -> str:
    """``10k`` or ``1M``, from the file name the fixture gave."""
    return path.stem.removeprefix("sales_")


def ingest_csv(path: Path, output: Path) -> pl.DataFrame:
    """What the ingest stage does with a CSV source."""
    frame = check_raw_contract(read_sales_csv(path), str(path), SALES, first_row=2, row_word="line")
    frame = assign_split(frame, "random", 0.2, 42, SALES)
    write_parquet_atomic(frame, output)
    return frame


def rounds(path: Path) -> int:
    return 5 if path.stat().st_size < 10 * MB else 3


def test_ingest_csv_to_parquet(benchmark, sales_csv: Path, tmp_path: Path) -> None:
    label = size_of(sales_csv)
    benchmark.group = f"ingest {label}"
    output = tmp_path / "sales.parquet"
    frame = benchmark.pedantic(
        ingest_csv, args=(sales_csv, output), rounds=rounds(sales_csv), warmup_rounds=1
    )
    assert frame.height == SIZES[label]
    assert pl.read_parquet(output).equals(frame)
    seconds = remember(f"ingest/full/polars/{label}", benchmark)
    if seconds:
        throughput = sales_csv.stat().st_size / MB / seconds
        EXTRA[f"ingest {label}: CSV -> parquet MB/s"] = throughput
        benchmark.extra_info["MB_per_s"] = round(throughput, 1)


def test_parse_polars(benchmark, sales_csv: Path) -> None:
    label = size_of(sales_csv)
    benchmark.group = f"ingest {label}"
    frame = benchmark.pedantic(
        read_sales_csv, args=(sales_csv,), rounds=rounds(sales_csv), warmup_rounds=1
    )
    assert frame.height == SIZES[label]
    remember(f"ingest/parse/polars/{label}", benchmark)


def test_parse_pandas(benchmark, sales_csv: Path) -> None:
    label = size_of(sales_csv)
    benchmark.group = f"ingest {label}"
    frame = benchmark.pedantic(
        pandas_read_sales_csv, args=(sales_csv,), rounds=rounds(sales_csv), warmup_rounds=1
    )
    remember(f"ingest/parse/pandas/{label}", benchmark)
    # the same table: a fair comparison
    ours = read_sales_csv(sales_csv)
    for name in tuple(c.SALES_SCHEMA):
        expected = ours.get_column(name)
        actual = frame[name].to_numpy()
        if expected.dtype == pl.Date:
            actual = actual.astype("datetime64[D]")
            assert np.array_equal(actual, expected.to_numpy()), name
        elif expected.dtype == pl.String:
            assert actual.astype(str).tolist() == expected.to_list(), name
        else:
            assert np.array_equal(actual, expected.to_numpy()), name
