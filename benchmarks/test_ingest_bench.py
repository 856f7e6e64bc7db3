"""Ingest: CSV -> typed, contract-checked parquet (MB/s), and parsing against pandas.read_csv.

The 10k and a generated 1M-row CSV (M/D/YYYY dates, as in the public files). ``full`` is the
ingest stage's work for a CSV source: read and type every cell, check the raw contract, add the
split, write parquet. ``parse`` is reading + typing alone, the part pandas does too.
``typed vs bare`` is the reader + parquet against bare ``pl.read_csv`` with the declared schema
(+ ``str.to_date`` with the contract's format) + the same parquet writer, interleaved round by
round, CPU time (all threads, ``time.process_time``) as the primary figure.
"""

from __future__ import annotations

import statistics
import time
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl
from conftest import SIZES
from pandas_baseline import pandas_read_sales_csv
from results import EXTRA, RESULTS, load_average, remember

from features_pipeline.contracts.dataset import load_contract
from features_pipeline.ingest import synthetic as c
from features_pipeline.ingest.contract import check_raw_contract
from features_pipeline.ingest.csv_reader import (
    open_csv,
    parse_strings,
    read_csv_table,
    read_typed,
    scan_raw_strings,
)
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


TEMPORAL = ("date", "datetime")
INTERLEAVED_ROUNDS = {"10k": 15, "1M": 7}


def bare_typed_read(path: Path, output: Path) -> pl.DataFrame:
    """The baseline: ``pl.read_csv`` with the declared schema (dates as text, then one
    ``str.to_date`` with the contract's first format), no checks, the same parquet writer."""
    schema = {n: pl.String() if s.type in TEMPORAL else s.dtype for n, s in SALES.columns.items()}
    frame = pl.read_csv(path, schema=schema).with_columns(
        pl.col(name).str.to_date(spec.date_formats[0])
        for name, spec in SALES.columns.items()
        if spec.type == "date"
    )
    write_parquet_atomic(frame, output)
    return frame


def reader_to_parquet(path: Path, output: Path) -> pl.DataFrame:
    """Ours: the ingest reader (typed read, every check of the text path) + parquet."""
    frame = read_sales_csv(path)
    write_parquet_atomic(frame, output)
    return frame


def text_path_to_parquet(path: Path, output: Path) -> pl.DataFrame:
    """The reader before the typed read (every cell as text, then cast) + parquet."""
    frame = parse_strings(path, scan_raw_strings(path, SALES), SALES)
    write_parquet_atomic(frame, output)
    return frame


def test_typed_read_vs_bare_read_csv(benchmark: Any, sales_csv: Path, tmp_path: Path) -> None:
    label = size_of(sales_csv)
    separator, mapping = open_csv(sales_csv, SALES)
    assert read_typed(sales_csv, separator, mapping, SALES) is not None  # no text fallback
    ours, bare = tmp_path / "ours.parquet", tmp_path / "bare.parquet"
    text = tmp_path / "text.parquet"
    cpu: dict[str, list[float]] = {"ours": [], "bare": [], "text": []}
    wall: dict[str, list[float]] = {"ours": [], "bare": [], "text": []}
    load = load_average()

    def run_others() -> tuple[tuple[Path, Path], dict[str, Any]]:
        """Times the baseline and the text path (CPU and wall) before each round of ours."""
        for who, run, output in (
            ("bare", bare_typed_read, bare),
            ("text", text_path_to_parquet, text),
        ):
            start, start_cpu = time.perf_counter(), time.process_time()
            run(sales_csv, output)
            cpu[who].append(time.process_time() - start_cpu)
            wall[who].append(time.perf_counter() - start)
        return (sales_csv, ours), {}

    def run_ours(path: Path, output: Path) -> pl.DataFrame:
        start, start_cpu = time.perf_counter(), time.process_time()
        frame = reader_to_parquet(path, output)
        cpu["ours"].append(time.process_time() - start_cpu)
        wall["ours"].append(time.perf_counter() - start)
        return frame

    benchmark.group = f"ingest {label}: reader + parquet vs bare pl.read_csv + parquet"
    frame = benchmark.pedantic(
        run_ours, setup=run_others, rounds=INTERLEAVED_ROUNDS[label], warmup_rounds=1
    )
    assert frame.equals(pl.read_parquet(bare))  # the same table: a fair comparison
    assert pl.read_parquet(ours).equals(frame)
    assert pl.read_parquet(text).equals(frame)
    load = max(load, load_average())
    figures: dict[str, float] = {"load_average_1min": load}
    for kind, seconds in (("cpu", cpu), ("wall", wall)):
        timed = {who: values[1:] or values for who, values in seconds.items()}  # no warm-up
        for who, values in timed.items():
            figures[f"{kind}_{who}_min_s"] = min(values)
            figures[f"{kind}_{who}_median_s"] = statistics.median(values)
            RESULTS[f"ingest/typed_vs_bare/{kind}/{who}/{label}"] = min(values)
        for who in ("ours", "text"):
            figures[f"{kind}_ratio_{who}_min"] = min(timed[who]) / min(timed["bare"])
            figures[f"{kind}_ratio_{who}_median"] = statistics.median(
                timed[who]
            ) / statistics.median(timed["bare"])
            reader = "reader" if who == "ours" else "text-path reader"
            EXTRA[f"ingest {label} {kind}: {reader}+parquet / bare read_csv+parquet, %"] = (
                100 * figures[f"{kind}_ratio_{who}_min"]
            )
    EXTRA[f"ingest {label}: load average 1 min"] = load
    benchmark.extra_info.update({key: round(value, 4) for key, value in figures.items()})
