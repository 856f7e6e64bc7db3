"""Stage ingest: synthetic sample or CSV -> raw-contract-checked table with a split column."""

from __future__ import annotations

import argparse
from pathlib import Path

import polars as pl

from features_pipeline import columns as c
from features_pipeline.errors import UserError
from features_pipeline.ingest.contract import check_raw_contract
from features_pipeline.ingest.csv_reader import FIRST_DATA_LINE, read_sales_csv
from features_pipeline.ingest.split import assign_split
from features_pipeline.ingest.synthetic import generate_sales
from features_pipeline.io import write_parquet_atomic
from features_pipeline.logs import get_logger, status, timed
from features_pipeline.params import (
    RAW_DATA_DIR,
    IngestParams,
    SplitParams,
    load_yaml,
    parse_section,
)
from features_pipeline.paths import INTERIM_TABLE as OUTPUT
from features_pipeline.runner import StageFacts, main_for

log = get_logger("stages.ingest")


def source_path(params: IngestParams, params_file: Path) -> Path:
    """The CSV path; it must live under data/raw/ so that DVC tracks it as a dependency."""
    path = Path(params.source)
    inside = (Path.cwd() / path).resolve().is_relative_to((Path.cwd() / RAW_DATA_DIR).resolve())
    if not inside:
        raise UserError(
            f"{params_file}: ingest.source: {params.source!r} is outside {RAW_DATA_DIR}/; "
            f"copy the CSV into {RAW_DATA_DIR}/ so DVC re-runs ingest when it changes"
        )
    return path


def load_source(params: IngestParams, params_file: Path) -> pl.DataFrame:
    """Generate the synthetic sample or read and check the CSV named by ``ingest.source``."""
    if params.is_synthetic:
        with (
            timed(log, "generate_synthetic", rows=params.rows, seed=params.seed) as fields,
            status(f"generating {params.rows:,} synthetic orders"),
        ):
            frame = generate_sales(params.rows, params.seed)
            fields.update(cols=frame.width)
        with status("checking the raw contract"):
            return check_raw_contract(frame, "synthetic sample", params.required_columns)
    path = source_path(params, params_file)
    with timed(log, "read_csv", path=path) as fields, status(f"reading {path}"):
        frame = read_sales_csv(path)
        fields.update(rows=frame.height, cols=frame.width)
    with status("checking the raw contract"):
        return check_raw_contract(
            frame, str(path), params.required_columns, first_row=FIRST_DATA_LINE, row_word="line"
        )


def run(args: argparse.Namespace) -> StageFacts:
    raw = load_yaml(args.params)
    ingest = parse_section(raw, "ingest", IngestParams, args.params)
    split = parse_section(raw, "split", SplitParams, args.params)
    with timed(log, "ingest", source=ingest.source) as fields:
        frame = assign_split(load_source(ingest, args.params), **split.model_dump())
        write_parquet_atomic(frame, OUTPUT)
        counts = dict(frame.get_column(c.SPLIT).value_counts().sort(c.SPLIT).iter_rows())
        fields.update(rows=frame.height, cols=frame.width, **counts)
    log.info("wrote %s", OUTPUT)
    return {"rows": frame.height, "cols": frame.width}


if __name__ == "__main__":
    main_for("ingest", run, __doc__ or "")
