"""Stage ingest: synthetic sample or CSV -> raw-contract-checked table with a split column."""

from __future__ import annotations

import argparse
import os
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import polars as pl

from features_pipeline.contracts import paths
from features_pipeline.contracts.dataset import (
    ROW_NUMBER,
    DatasetContract,
    DatasetParams,
    load_contract,
)
from features_pipeline.contracts.params import read_params
from features_pipeline.contracts.split import SPLIT
from features_pipeline.engines.budget import require_rows_in_budget
from features_pipeline.engines.params import EngineParams
from features_pipeline.engines.registry import capabilities, engine_names
from features_pipeline.errors import UserError
from features_pipeline.ingest.contract import check_raw_contract
from features_pipeline.ingest.csv_reader import (
    CSV_BATCH_ROWS,
    FIRST_DATA_LINE,
    read_csv_batches,
    read_csv_table,
)
from features_pipeline.ingest.params import IngestParams, SplitParams
from features_pipeline.ingest.split import (
    assign_split,
    time_cutoff,
    time_order,
    time_split_at,
    time_test_rows,
)
from features_pipeline.ingest.synthetic import generate_sales, sales_chunks
from features_pipeline.ingest.table import synthetic_as_declared, with_row_number
from features_pipeline.io import append_pieces, parquet_batches, write_parquet_atomic
from features_pipeline.logs import get_logger, status, timed
from features_pipeline.runner import StageFacts, main_for

if TYPE_CHECKING:
    import narwhals.stable.v2 as nw

    from features_pipeline.engines.spark import SparkExecutor

log = get_logger("stages.ingest")


def source_path(params: IngestParams, params_file: Path) -> Path:
    """The CSV path, folder or glob; it must live under data/raw/ so that DVC tracks it."""
    path = Path(params.source)
    raw_dir = paths.RAW_DATA_DIR
    try:
        inside = (Path.cwd() / path).resolve().is_relative_to((Path.cwd() / raw_dir).resolve())
    except (RuntimeError, OSError):  # a symbolic link loop
        raise UserError(f"{path}: symbolic link loop (the link points back to itself)") from None
    if not inside:
        raise UserError(
            f"{params_file}: ingest.source: {params.source!r} is outside {raw_dir}/; "
            f"copy the CSV into {raw_dir}/ so DVC re-runs ingest when it changes"
        )
    return path


GLOB_CHARS = frozenset("*?[")


def source_files(path: Path, params_file: Path) -> list[Path]:
    """The CSV files ``ingest.source`` names: itself, every ``*.csv`` of a folder, or the matches
    of a glob (sorted: the row order is the same on every machine); none is one clear line."""
    if GLOB_CHARS & set(str(path)):
        files = sorted(p for p in Path.cwd().glob(str(path)) if p.is_file())
        files = [p.relative_to(Path.cwd()) for p in files]
        what = "no file matches the pattern"
    elif path.is_dir():
        files = sorted(path.glob("*.csv"))
        what = "the folder holds no .csv file"
    else:
        return [path]
    if not files:
        raise UserError(f"{params_file}: ingest.source: {str(path)!r}: {what}")
    return files


def read_checked(path: Path, dataset: DatasetContract, contract: Path) -> pl.DataFrame:
    """One CSV read and checked against the raw contract (errors name its lines)."""
    with timed(log, "read_csv", path=path) as fields, status(f"reading {path}"):
        frame = read_csv_table(path, dataset, str(contract))
        fields.update(rows=frame.height, cols=frame.width)
    with status("checking the raw contract"):
        numbered = with_row_number(frame, dataset)
        checked = check_raw_contract(
            numbered, str(path), dataset, first_row=FIRST_DATA_LINE, row_word="line"
        )
    return checked.drop(ROW_NUMBER) if dataset.adds_row_number else checked


def load_source(
    params: IngestParams, params_file: Path, *, dataset: DatasetContract, contract: Path
) -> pl.DataFrame:
    """Generate the synthetic sample or read the CSV named by ``ingest.source``, then check it
    against the raw contract of ``dataset``."""
    if params.is_synthetic:
        with (
            timed(log, "generate_synthetic", rows=params.rows, seed=params.seed) as fields,
            status(f"generating {params.rows:,} synthetic orders"),
        ):
            generated = generate_sales(params.rows, params.seed)
            frame = synthetic_as_declared(generated, dataset, str(params_file), str(contract))
            fields.update(cols=frame.width)
        with status("checking the raw contract"):
            return check_raw_contract(with_row_number(frame, dataset), "synthetic sample", dataset)
    path = source_path(params, params_file)
    files = source_files(path, params_file)
    if len(files) == 1:
        return with_row_number(read_checked(files[0], dataset, contract), dataset)
    parts = [read_checked(file, dataset, contract) for file in files]
    frame = with_row_number(pl.concat(parts, how="diagonal"), dataset)
    with status("checking the raw contract across the parts"):  # e.g. a key in two parts
        return check_raw_contract(frame, f"{path} ({len(files)} files)", dataset)


def source_chunks(
    params: IngestParams, params_file: Path, *, dataset: DatasetContract, contract: Path
) -> Iterator[pl.DataFrame]:
    """The source a bounded piece at a time, typed as declared, with row numbers counted across
    the pieces: the synthetic sample a chunk at a time (:func:`sales_chunks`: the same rows as
    :func:`generate_sales`), a CSV source a file at a time and each file a batch of rows at a
    time (:func:`read_checked_batches`: a single CSV bigger than memory is bounded too)."""
    start = 1
    if params.is_synthetic:
        for chunk in sales_chunks(params.rows, params.seed):
            frame = synthetic_as_declared(chunk, dataset, str(params_file), str(contract))
            del chunk  # one chunk alive at a time: none held while the next is generated
            yield with_row_number(frame, dataset, start)
            start += frame.height
            del frame
        return
    for file in source_files(source_path(params, params_file), params_file):
        for frame in read_checked_batches(file, dataset, contract):
            yield with_row_number(frame, dataset, start)
            start += frame.height


def read_checked_batches(
    path: Path, dataset: DatasetContract, contract: Path
) -> Iterator[pl.DataFrame]:
    """One CSV a batch of rows at a time (:func:`read_csv_batches`), each checked against the
    raw contract as :func:`read_checked` checks the whole file (errors name its lines; a key
    repeated across batches is caught on the written table)."""
    line = FIRST_DATA_LINE
    with timed(log, "read_csv_batches", path=path) as fields, status(f"reading {path}"):
        for frame in read_csv_batches(path, dataset, str(contract)):
            numbered = with_row_number(frame, dataset)
            checked = check_raw_contract(
                numbered, str(path), dataset, first_row=line, row_word="line"
            )
            yield checked.drop(ROW_NUMBER) if dataset.adds_row_number else checked
            line += frame.height
        fields.update(rows=line - FIRST_DATA_LINE)


def ingest_in_chunks(
    params: IngestParams,
    split: SplitParams,
    params_file: Path,
    *,
    dataset: DatasetContract,
    contract: Path,
    engine: EngineParams,
) -> tuple[int, int, dict[str, int]]:
    """Ingest bounded in memory (an out-of-core engine): each piece of :func:`source_chunks`
    split (random: per row, the same labels as on the whole table) and appended to a temporary
    parquet file; the raw contract across the pieces (a key in two chunks) is checked by the
    engine on that file, then it replaces the output. A time split needs the whole table's
    cutoff first: the engine finds it on the written file, and :func:`label_in_batches` adds the
    labels a batch at a time. Returns (rows, cols, rows per split)."""
    import narwhals.stable.v2 as nw

    from features_pipeline.engines.base import ROW
    from features_pipeline.engines.registry import open_executor
    from features_pipeline.ingest.contract_on_engine import check_raw_contract_lazy

    output = paths.INTERIM_TABLE.path
    output.parent.mkdir(parents=True, exist_ok=True)
    temporary = output.with_name(f".{output.name}.{os.getpid()}.tmp")
    labelled = output.with_name(f".{output.name}.{os.getpid()}.labelled.tmp")
    by_time = split.strategy == "time"
    order = time_order(dataset, str(params_file)) if by_time else ("", "")
    try:
        pieces = source_chunks(params, params_file, dataset=dataset, contract=contract)
        if not by_time:  # a row's random label needs only its own key
            pieces = randomly_split(pieces, split, params_file, dataset=dataset)
        cols = append_pieces(pieces, temporary)
        with open_executor(engine) as executor, status("checking the raw contract"):
            written = executor.scan_parquet(temporary)
            check_raw_contract_lazy(written.drop(ROW), named_source(params), dataset)
            if by_time:
                rows = int(written.select(nw.len()).collect().item())
                cutoff = time_cutoff(written, time_test_rows(rows, split.test_size), order)
            else:
                counted = written.group_by(SPLIT).agg(nw.len().alias("n")).collect().rows()
        if by_time:
            counted = label_in_batches(temporary, labelled, cutoff, order=order)
            cols += 1
        os.replace(labelled if by_time else temporary, output)
    finally:
        temporary.unlink(missing_ok=True)
        labelled.unlink(missing_ok=True)
    counts = {str(name): int(n) for name, n in sorted(counted)}
    return sum(counts.values()), cols, counts


def randomly_split(
    pieces: Iterator[pl.DataFrame],
    split: SplitParams,
    params_file: Path,
    *,
    dataset: DatasetContract,
) -> Iterator[pl.DataFrame]:
    """Each piece with its random split labels (the same as on the whole table)."""
    for piece in pieces:
        table = assign_split(piece, **split.model_dump(), dataset=dataset, source=str(params_file))
        del piece  # one piece alive at a time: none held while the next is made
        yield table
        del table


def label_in_batches(
    source: Path, target: Path, cutoff: pl.DataFrame, *, order: tuple[str, str]
) -> list[tuple[str, int]]:
    """The parquet ``source`` with the time split's labels (:func:`time_split_at`) written to
    ``target`` a batch at a time; returns (label, rows) pairs."""
    counts: dict[str, int] = {}

    def labelled() -> Iterator[pl.DataFrame]:
        for piece in parquet_batches(source, CSV_BATCH_ROWS):
            piece = piece.with_columns(time_split_at(piece, cutoff, order))
            for label, n in piece.get_column(SPLIT).value_counts().iter_rows():
                counts[label] = counts.get(label, 0) + n
            yield piece

    append_pieces(labelled(), target)
    return list(counts.items())


def named_source(params: IngestParams) -> str:
    """How errors name the source."""
    return "synthetic sample" if params.is_synthetic else str(params.source)


def is_uri(source: str) -> bool:
    """Whether ``ingest.source`` names cluster storage (``s3a://``, ``hdfs://``, ``file://``)."""
    return "://" in source


def spark_sources(params: IngestParams, params_file: Path) -> tuple[list[str], str]:
    """What Spark reads for ``ingest.source``, and how errors name it: a storage URI (a file,
    folder or glob: Spark lists it, DVC cannot see it) as it is, or the local CSV files under
    data/raw/ as absolute paths, in name order."""
    if is_uri(params.source):
        return [params.source], params.source
    files = source_files(source_path(params, params_file), params_file)
    return [str(file.resolve()) for file in files], str(params.source)


def ingest_on_spark(
    params: IngestParams,
    split: SplitParams,
    params_file: Path,
    *,
    dataset: DatasetContract,
    contract: Path,
    engine: EngineParams,
) -> tuple[int, int, dict[str, int]]:
    """Ingest on an engine whose tables live in a warehouse (Spark SQL reads the CSV: another
    such engine brings its own reader): the CSV read, the raw contract checked and the split
    assigned on the cluster, the table written to the warehouse (its manifest at
    data/interim/); the synthetic sample is generated here and shipped. Returns (rows, cols,
    rows per split)."""
    import narwhals.stable.v2 as nw

    from features_pipeline.engines.spark import SparkExecutor

    output = paths.INTERIM_TABLE.path
    executor = SparkExecutor.open(engine)
    with executor:
        if params.is_synthetic:
            frame = load_source(params, params_file, dataset=dataset, contract=contract)
            frame = assign_split(
                frame, **split.model_dump(), dataset=dataset, source=str(params_file)
            )
            table = executor.from_polars(frame)
        else:
            table = read_on_spark(
                executor, params, split, params_file=params_file, dataset=dataset, contract=contract
            )
        rows, cols = executor.write_parquet(table, output)
        written = executor.scan_parquet(output)
        per_split = written.group_by(SPLIT).agg(nw.len().alias("n")).collect().rows()
    return rows, cols, {str(name): int(n) for name, n in sorted(per_split)}


def read_on_spark(
    executor: SparkExecutor,
    params: IngestParams,
    split: SplitParams,
    *,
    params_file: Path,
    dataset: DatasetContract,
    contract: Path,
) -> nw.LazyFrame[Any]:
    """The CSV read by Spark, checked against the raw contract and split, on the cluster."""
    import narwhals.stable.v2 as nw

    from features_pipeline.ingest.contract_on_engine import check_raw_contract_lazy
    from features_pipeline.ingest.spark_csv import (
        list_csv_parts,
        read_csv_spark,
        with_row_number_spark,
    )
    from features_pipeline.ingest.spark_split import assign_split_spark

    sources, named = spark_sources(params, params_file)
    if is_uri(params.source):
        sources = list_csv_parts(executor.spark, params.source)
    read = read_csv_spark(executor.spark, sources, dataset, str(contract))
    table = nw.from_native(with_row_number_spark(read, dataset))
    one_file = len(sources) == 1
    with status("checking the raw contract on the cluster"):
        check_raw_contract_lazy(
            table,
            named,
            dataset,
            first_row=FIRST_DATA_LINE if one_file else 1,
            row_word="line" if one_file else "row",
        )
    split_table = assign_split_spark(
        table.to_native(), **split.model_dump(), dataset=dataset, source=str(params_file)
    )
    return nw.from_native(split_table)


def run(args: argparse.Namespace) -> StageFacts:
    params = read_params(args.params)
    ingest = params.section("ingest", IngestParams)
    split = params.section("split", SplitParams)
    contract = params.section("dataset", DatasetParams).contract
    engine = params.section("engine", EngineParams)
    dataset = load_contract(contract)
    output = paths.INTERIM_TABLE.path
    if capabilities(engine.name).warehouse_tables:
        with timed(log, "ingest", source=ingest.source, engine=engine.name) as fields:
            rows, cols, counts = ingest_on_spark(
                ingest, split, args.params, dataset=dataset, contract=contract, engine=engine
            )
            fields.update(rows=rows, cols=cols, **counts)
        log.info("wrote %s (the table is in %s)", output, engine.spark.warehouse)
        return {"rows": rows, "cols": cols}
    if is_uri(ingest.source):
        raise UserError(
            f"{args.params}: ingest.source: {ingest.source!r} is cluster storage, which only "
            f"engine.name: {' or '.join(engine_names(lambda can: can.warehouse_tables))} reads; "
            "copy the CSV into data/raw/ for the local engines"
        )
    if capabilities(engine.name).out_of_core:
        with timed(log, "ingest", source=ingest.source, engine=engine.name) as fields:
            rows, cols, counts = ingest_in_chunks(
                ingest, split, args.params, dataset=dataset, contract=contract, engine=engine
            )
            fields.update(rows=rows, cols=cols, **counts)
        log.info("wrote %s", output)
        return {"rows": rows, "cols": cols}
    if ingest.is_synthetic:
        require_rows_in_budget("ingest", engine, ingest.rows, len(dataset.columns))
    with timed(log, "ingest", source=ingest.source) as fields:
        frame = load_source(ingest, args.params, dataset=dataset, contract=contract)
        frame = assign_split(frame, **split.model_dump(), dataset=dataset, source=str(args.params))
        write_parquet_atomic(frame, output)
        counts = dict(frame.get_column(SPLIT).value_counts().sort(SPLIT).iter_rows())
        fields.update(rows=frame.height, cols=frame.width, **counts)
    log.info("wrote %s", output)
    return {"rows": frame.height, "cols": frame.width}


def main() -> None:
    main_for("ingest", run, __doc__ or "")
