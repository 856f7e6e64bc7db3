"""Shape a read or generated table as the dataset contract declares it."""

from __future__ import annotations

import polars as pl

from features_pipeline.contracts.dataset import ROW_NUMBER, DatasetContract
from features_pipeline.errors import UserError


def with_row_number(frame: pl.DataFrame, dataset: DatasetContract, start: int = 1) -> pl.DataFrame:
    """``frame`` with ``row_number`` (``start``, ``start`` + 1, ... in source order: 1 for a whole
    table, the chunk's first row for a chunk) when the contract has no single-column key: a
    stable row identity for the split, window ties and predictions."""
    if not dataset.adds_row_number:
        return frame
    numbers = pl.int_range(start, pl.len() + start, dtype=pl.Int64)
    return frame.with_columns(numbers.alias(ROW_NUMBER))


def synthetic_as_declared(
    generated: pl.DataFrame, dataset: DatasetContract, params_file: str, contract: str
) -> pl.DataFrame:
    """The declared columns of the built-in Sales Records sample; a contract declaring a column
    the sample lacks (or with another type) needs a CSV source instead: one line says so."""
    for name, spec in dataset.columns.items():
        if name not in generated.columns:
            if not spec.required:
                continue
            problem = f"declares column {name!r}, which the built-in Sales Records sample lacks"
        elif generated.schema[name] != spec.dtype:
            found = generated.schema[name]
            problem = f"declares {name!r} as {spec.type}; the built-in sample has {found}"
        else:
            continue
        raise UserError(
            f"{params_file}: ingest.source: 'synthetic': {contract} {problem}; set ingest.source "
            "to your CSV under data/raw/"
        )
    return generated.select(name for name in dataset.columns if name in generated.columns)
