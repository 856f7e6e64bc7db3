"""Issue 23 on small data: the bounded paths give what the in-memory paths give, and the one
memory budget says what it cannot do in one line."""

from __future__ import annotations

import contextlib
from pathlib import Path
from typing import Any

import narwhals.stable.v2 as nw
import polars as pl
import pytest
from sales_columns import SALES
from support import Project, default_params, error_line, load_stage_module, write_sales_csv

from features_pipeline.contracts.split import SPLIT, TEST, TRAIN
from features_pipeline.engines.budget import (
    bounded,
    budget_rows,
    in_memory_if_fits,
    require_rows_in_budget,
)
from features_pipeline.engines.duckdb import duckdb_limit
from features_pipeline.engines.params import EngineParams, parse_bytes
from features_pipeline.engines.polars import PolarsExecutor
from features_pipeline.errors import UserError
from features_pipeline.ingest import csv_reader, synthetic
from features_pipeline.ingest.split import (
    assign_split,
    time_cutoff,
    time_split,
    time_split_at,
    time_test_rows,
)
from features_pipeline.ingest.synthetic import ORDER_ID, generate_sales, sales_chunks
from features_pipeline.model import sampling
from features_pipeline.model.sampling import sample_file, seeded_sample
from features_pipeline.runner import run_stage

INTERIM = Path("data/interim/sales.parquet")


def test_memory_sizes_parse_in_decimal_and_binary_units() -> None:
    assert parse_bytes("3GB") == 3 * 10**9
    assert parse_bytes("2GiB") == 2 * 2**30
    assert parse_bytes("1.5 MB") == 1_500_000
    with pytest.raises(ValueError, match="'lots' is not a memory size"):
        parse_bytes("lots")


def test_duckdb_gets_the_budget_less_the_process_reserve() -> None:
    assert duckdb_limit(None) is None
    assert duckdb_limit(3 * 10**9) == f"{(3 * 10**9 - 750_000_000) // 1024}KiB"  # a quarter
    assert duckdb_limit(700 * 10**6) == f"{350 * 10**6 // 1024}KiB"  # 350 MB kept back
    assert duckdb_limit(512 * 10**6) == f"{256 * 10**6 // 1024}KiB"  # at most half


def test_the_old_duckdb_key_says_where_it_went() -> None:
    with pytest.raises(ValueError, match=r"this key moved to engine\.memory_limit"):
        EngineParams.model_validate({"duckdb": {"memory_limit": "2GB"}})


def test_chunked_generation_is_the_concatenated_chunks_with_unique_ids(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(synthetic, "CHUNK_ROWS", 400)
    chunks = list(sales_chunks(1000, seed=7))
    assert [chunk.height for chunk in chunks] == [400, 400, 200]
    table = generate_sales(1000, seed=7)
    assert table.equals(pl.concat(chunks))
    assert table.equals(generate_sales(1000, seed=7))  # seeded: the same rows every run
    assert not table.equals(generate_sales(1000, seed=8))
    assert table.get_column(ORDER_ID).n_unique() == 1000
    assert table.get_column(ORDER_ID).is_between(100_000_000, 999_999_999).all()


def test_a_file_sample_is_the_seeded_sample_of_every_engine(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(sampling, "BATCH_ROWS", 37)  # many batches, a sample across them
    table = assign_split(generate_sales(900, seed=2), "random", 0.3, 42, SALES)
    path = tmp_path / "table.parquet"
    table.write_parquet(path)
    frame = PolarsExecutor().from_polars(table)
    for split, size in ((TRAIN, 100), (TEST, 50), (None, 900), (TRAIN, 5000)):
        rows = frame if split is None else frame.filter(nw.col(SPLIT) == split)
        expected = seeded_sample(rows, size, 11, [ORDER_ID]).select(ORDER_ID, "Units Sold")
        got, count = sample_file(
            path, size, 11, [ORDER_ID], split=split, columns=[ORDER_ID, "Units Sold"]
        )
        assert got.equals(expected), (split, size)
        assert count == (900 if split is None else int((table.get_column(SPLIT) == split).sum()))


def test_the_train_sample_is_sized_from_the_budget() -> None:
    assert budget_rows(None, 10) is None
    assert budget_rows(3 * 10**9, 14) == (3 * 10**9 - 500_000_000) // (14 * 48)
    with pytest.raises(ValueError, match=r"a fit of 1,000 rows x 14 columns needs about 0\.5 GB"):
        budget_rows(400 * 10**6, 14)


def test_local_tables_are_bounded_on_duckdb_or_under_a_budget_never_in_a_warehouse() -> None:
    """A cluster engine's tables are manifests of warehouse tables, not local parquet files: the
    batch-at-a-time file readers must not be chosen for them (train read a manifest as parquet)."""
    assert bounded(EngineParams(name="duckdb"))
    assert bounded(EngineParams(name="polars", memory_limit="1GB"))
    assert not bounded(EngineParams(name="polars"))
    assert not bounded(EngineParams(name="spark"))
    assert not bounded(EngineParams(name="spark", memory_limit="3GB"))


def test_an_out_of_core_engine_computes_in_memory_only_what_fits_its_budget(
    tmp_path: Path,
) -> None:
    """2,000 rows x (16 + 19) columns: about 161 MB in memory (with the margin, 201 MB)."""
    table = tmp_path / "interim.parquet"
    assign_split(generate_sales(2000, seed=1), "random", 0.2, 42, SALES).write_parquet(table)

    def chosen(**engine: Any) -> str:
        return in_memory_if_fits("features", EngineParams(**engine), table, added=19).name

    assert chosen(name="duckdb", memory_limit="202MB") == "polars"
    assert chosen(name="duckdb", memory_limit="200MB") == "duckdb"  # within the margin: spills
    assert chosen(name="duckdb") == "polars"  # no budget: a fixed 2 GB, the same on every machine
    assert chosen(name="duckdb", memory_limit="3GB", in_memory_if_fits=False) == "duckdb"
    assert chosen(name="polars", memory_limit="3GB") == "polars"
    assert chosen(name="spark", memory_limit="3GB") == "spark"  # a cluster engine stays itself


def test_an_in_memory_stage_over_budget_is_one_line_naming_it() -> None:
    engine = EngineParams(name="polars", memory_limit="1GB")
    require_rows_in_budget("ingest", engine, 60_000, 15)  # 0.17 GB: fits
    with pytest.raises(UserError) as raised:
        require_rows_in_budget("ingest", engine, 10_000_000, 15)
    assert str(raised.value) == (
        "ingest: engine.memory_limit: 1GB is not enough for engine.name: polars, which holds "
        "the 10,000,000 x 15 table in memory (about 2.0 GB needed); raise it, or set "
        "engine.name: duckdb (streams and spills within the budget)"
    )
    require_rows_in_budget("ingest", EngineParams(name="duckdb", memory_limit="1GB"), 10**7, 15)


@pytest.mark.parametrize("engine", ["polars", pytest.param("duckdb", marks=pytest.mark.duckdb)])
@pytest.mark.parametrize("test_size", [0.0, 0.1, 0.3, 0.55, 1.0])
def test_the_time_split_cut_on_the_engine_labels_pieces_as_on_the_whole_table(
    engine: str, test_size: float
) -> None:
    """Nulls (earliest), ties in the time broken by the key, cuts inside a run of equal times and
    inside the nulls: each piece labelled against the engine's cutoff as the whole table is."""
    times = [3, None, 1, 3, 2, None, 3, 1, 2, 2, None, 5, 4, 3, 3, 0, None, 1, 2, 3]
    frame = pl.DataFrame(
        {"t": times, "k": [17, 3, 8, 1, 5, 12, 9, 2, 14, 6, 0, 19, 4, 11, 7, 15, 18, 10, 13, 16]}
    )
    order = ("t", "k")
    expected = time_split(frame, test_size, order)
    latest = time_test_rows(frame.height, test_size)
    if engine == "duckdb":
        from features_pipeline.engines.duckdb import DuckDbExecutor

        with DuckDbExecutor() as executor:
            cutoff = time_cutoff(executor.from_polars(frame), latest, order)
    else:
        cutoff = time_cutoff(nw.from_native(frame.lazy()), latest, order)
    pieces = [frame.slice(start, 6) for start in range(0, frame.height, 6)]
    got = pl.concat([time_split_at(piece, cutoff, order) for piece in pieces])
    assert got.to_list() == expected.to_list()


@pytest.mark.duckdb
def test_chunked_ingest_writes_the_in_memory_table(
    project: Project, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr(synthetic, "CHUNK_ROWS", 700)
    stage = load_stage_module("ingest")
    tables = []
    for split in ({"strategy": "random"}, {"strategy": "time", "test_size": 0.3}):
        for engine in ({"name": "polars"}, {"name": "duckdb", "memory_limit": "512MB"}):
            project.write_params(default_params(engine=engine, ingest={"rows": 2000}, split=split))
            assert run_stage("ingest", stage.run, "", argv=["--params", "params.yaml"]) == 0
            tables.append(pl.read_parquet(project.root / INTERIM))
    assert tables[0].height == tables[2].height == 2000
    assert tables[1].equals(tables[0])
    assert tables[3].equals(tables[2])  # the time split's cut found on the written file
    assert tables[3].get_column(SPLIT).value_counts().sort(SPLIT).rows() == [
        (TEST, 600),
        (TRAIN, 1400),
    ]
    # a key repeated across chunks is the raw contract's one line, and nothing is written
    (project.root / INTERIM).unlink()
    repeated = generate_sales(2000, seed=3)
    monkeypatch.setattr(
        "features_pipeline.stages.ingest.sales_chunks",
        lambda rows, seed: iter([repeated.head(700), repeated.head(700)]),
    )
    assert run_stage("ingest", stage.run, "", argv=["--params", "params.yaml"]) == 1
    line = error_line(1, capsys.readouterr().err)
    assert "synthetic sample: column 'Order ID' fails check" in line, line
    assert not (project.root / INTERIM).exists()
    assert not list((project.root / INTERIM.parent).glob(".*.tmp"))


def test_the_running_sample_keeps_the_smallest_hashes_ties_by_row() -> None:
    import numpy as np

    rng = np.random.default_rng(0)
    hashes = np.round(rng.random(30_000), 2)  # a hundred distinct values: ties at every cut
    rows = np.arange(hashes.size)
    for size in (0, 7, 1_000, 29_999, 40_000):
        best = sampling.Smallest(size)
        for start in range(0, hashes.size, 1_234):
            best.add(hashes[start : start + 1_234], rows[start : start + 1_234])
        expected = np.sort(np.lexsort((rows, hashes))[:size])
        assert np.array_equal(best.rows_chosen(), expected), size


@pytest.mark.duckdb
def test_one_big_csv_is_read_a_batch_at_a_time(
    project: Project, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """Issue 23: a single CSV on the bounded path is parsed at most CSV_BATCH_ROWS rows at a
    time (never the whole file), gives the in-memory table, and a bad cell in a later batch is
    the same one line (file, line, column) as on the in-memory path."""
    monkeypatch.setattr(csv_reader, "CSV_BATCH_ROWS", 300)
    parsed: list[int] = []
    parse_strings = csv_reader.parse_strings

    def counting(path: Path, strings: pl.LazyFrame, *args: Any) -> pl.DataFrame:
        with contextlib.suppress(pl.exceptions.ComputeError):  # the whole file's scan, bad
            parsed.append(strings.select(pl.len()).collect().item())
        return parse_strings(path, strings, *args)

    monkeypatch.setattr(csv_reader, "parse_strings", counting)
    csv = write_sales_csv(project.root / "data/raw/sales.csv", generate_sales(1000, seed=5))
    stage = load_stage_module("ingest")
    tables, lines = [], []
    for engine in ({"name": "polars"}, {"name": "duckdb", "memory_limit": "512MB"}):
        parsed.clear()
        params = default_params(engine=engine, ingest={"source": "data/raw/sales.csv"})
        project.write_params(params)
        assert run_stage("ingest", stage.run, "", argv=["--params", "params.yaml"]) == 0
        tables.append(pl.read_parquet(project.root / INTERIM))
        if engine["name"] == "duckdb":
            assert parsed == [300, 300, 300, 100]  # never more than a batch parsed at once
    assert tables[0].height == 1000
    assert tables[1].equals(tables[0])
    lines_of = csv.read_text().splitlines()
    units = lines_of[0].split(",").index("Units Sold")
    cells = lines_of[900].split(",")  # line 901: the fourth batch
    cells[units] = "many"
    lines_of[900] = ",".join(cells)
    csv.write_text("\n".join(lines_of) + "\n")
    for engine in ({"name": "polars"}, {"name": "duckdb", "memory_limit": "512MB"}):
        project.write_params(default_params(engine=engine, ingest={"source": "data/raw/sales.csv"}))
        assert run_stage("ingest", stage.run, "", argv=["--params", "params.yaml"]) == 1
        lines.append(error_line(1, capsys.readouterr().err))
    assert lines[0] == (
        "error: data/raw/sales.csv: column 'Units Sold': 1 value(s) are not a whole number "
        "(line 901: 'many')"
    )
    assert lines[1] == lines[0]
    lines_of[900] += ",extra"  # a ragged line: the reader's failure, mid-file
    csv.write_text("\n".join(lines_of) + "\n")
    for engine in ({"name": "polars"}, {"name": "duckdb", "memory_limit": "512MB"}):
        project.write_params(default_params(engine=engine, ingest={"source": "data/raw/sales.csv"}))
        assert run_stage("ingest", stage.run, "", argv=["--params", "params.yaml"]) == 1
        lines.append(error_line(1, capsys.readouterr().err))
    assert lines[2] == lines[3], lines[2:]
    assert "data/raw/sales.csv: line 901" in lines[2], lines[2]
    assert not list((project.root / INTERIM.parent).glob(".*.tmp"))
