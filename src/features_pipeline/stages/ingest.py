"""Stage ingest: synthetic sample or CSV -> raw-contract-checked table with a split column."""

from __future__ import annotations

import argparse
from pathlib import Path

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
from features_pipeline.errors import UserError
from features_pipeline.ingest.contract import check_raw_contract
from features_pipeline.ingest.csv_reader import FIRST_DATA_LINE, read_csv_table
from features_pipeline.ingest.params import IngestParams, SplitParams
from features_pipeline.ingest.split import assign_split
from features_pipeline.ingest.synthetic import generate_sales
from features_pipeline.ingest.table import synthetic_as_declared, with_row_number
from features_pipeline.io import write_parquet_atomic
from features_pipeline.logs import get_logger, status, timed
from features_pipeline.runner import StageFacts, main_for

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
    params: IngestParams, params_file: Path, dataset: DatasetContract, contract: Path
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


def run(args: argparse.Namespace) -> StageFacts:
    params = read_params(args.params)
    ingest = params.section("ingest", IngestParams)
    split = params.section("split", SplitParams)
    contract = params.section("dataset", DatasetParams).contract
    dataset = load_contract(contract)
    output = paths.INTERIM_TABLE.path
    with timed(log, "ingest", source=ingest.source) as fields:
        frame = load_source(ingest, args.params, dataset, contract)
        frame = assign_split(frame, **split.model_dump(), dataset=dataset, source=str(args.params))
        write_parquet_atomic(frame, output)
        counts = dict(frame.get_column(SPLIT).value_counts().sort(SPLIT).iter_rows())
        fields.update(rows=frame.height, cols=frame.width, **counts)
    log.info("wrote %s", output)
    return {"rows": frame.height, "cols": frame.width}


def main() -> None:
    main_for("ingest", run, __doc__ or "")
