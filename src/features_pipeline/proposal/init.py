"""The I/O edge of ``features-pipeline init``: read the CSV and params.yaml, propose, write the
contract, the spec and params.yaml atomically (nothing is written when anything fails)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import polars as pl
import yaml

from features_pipeline.contracts.dataset import DatasetContract, parse_contract
from features_pipeline.contracts.params import read_params
from features_pipeline.contracts.paths import RAW_DATA_DIR
from features_pipeline.contracts.text import did_you_mean
from features_pipeline.errors import UserError
from features_pipeline.ingest.contract import check_raw_contract
from features_pipeline.ingest.csv_reader import read_csv_table
from features_pipeline.ingest.infer import draft_contract, infer_column, read_sample
from features_pipeline.ingest.params import SplitParams
from features_pipeline.ingest.split import assign_split
from features_pipeline.ingest.table import with_row_number
from features_pipeline.io import write_text_atomic
from features_pipeline.model.params import TrainParams
from features_pipeline.model.threads import model_threads
from features_pipeline.proposal.candidates import slug
from features_pipeline.proposal.render import contract_text
from features_pipeline.proposal.roles import outcome_columns
from features_pipeline.proposal.setup import Targets, propose_setup

NUMERIC = ("integer", "float", "money")
CONFIG_DIR = Path("config")


def check_source(csv: Path) -> None:
    """The CSV must exist under data/raw/ (where ingest reads and DVC tracks)."""
    if not csv.is_file():
        raise UserError(f"{csv}: file not found (copy the CSV into {RAW_DATA_DIR}/ first)")
    if csv.is_absolute() or not csv.is_relative_to(RAW_DATA_DIR):
        raise UserError(
            f"{csv}: outside {RAW_DATA_DIR}/; copy it there first (cp {csv} {RAW_DATA_DIR}/) "
            "so that DVC tracks it and ingest reads it"
        )


def check_target(csv: Path, sample: pl.DataFrame, target: str) -> None:
    """The target is a column of the CSV holding numbers."""
    if target not in sample.columns:
        raise UserError(
            f"{csv}: --target: no column {target!r}{did_you_mean(target, sample.columns)}"
        )
    column = infer_column(target, sample.get_column(target))
    if column.type not in NUMERIC:
        values = sample.get_column(target).drop_nulls().unique(maintain_order=True).head(3)
        shown = ", ".join(repr(value) for value in values)
        raise UserError(
            f"{csv}: --target: column {target!r} holds {column.type} values (e.g. {shown}); "
            "the target must be numbers"
        )


def _contract(draft: str, source: str) -> DatasetContract:
    return parse_contract(yaml.safe_load(draft), source)


def read_table(csv: Path, dataset: DatasetContract, source: str) -> pl.DataFrame:
    """The whole CSV typed and checked by the drafted contract, as ingest will read it."""
    frame = with_row_number(read_csv_table(csv, dataset, source), dataset)
    return check_raw_contract(frame, str(csv), dataset, first_row=2, row_word="line")


def run_init(csv: Path, target: str, params_path: Path) -> list[str]:
    """Propose and write; returns the lines to print (what was written, what to check)."""
    check_source(csv)
    if not params_path.is_file():
        raise UserError(f"{params_path}: file not found (run init in the project's root folder)")
    params_text = params_path.read_text(encoding="utf-8")
    params = read_params(params_path)
    split = params.section("split", SplitParams)
    train = params.section("train", TrainParams)
    sample = read_sample(csv)
    check_target(csv, sample, target)
    stem = slug(csv.stem)
    where = Targets(
        csv=csv.as_posix(),
        contract=(CONFIG_DIR / f"{stem}_dataset.yaml").as_posix(),
        spec=(CONFIG_DIR / f"{stem}_features.yaml").as_posix(),
        params=params_path.as_posix(),
    )
    draft = draft_contract(sample, csv.stem, target)
    dataset = _contract(draft, where.contract)
    frame = read_table(csv, dataset, where.contract)
    numeric = [name for name, spec in dataset.columns.items() if spec.type in NUMERIC]
    outcomes = outcome_columns(frame, target, numeric)
    if outcomes:
        draft = draft_contract(sample, csv.stem, target, outcomes)
        dataset = _contract(draft, where.contract)
    split_args: dict[str, Any] = split.model_dump()
    frame = assign_split(frame, **split_args, dataset=dataset, source=str(params_path))
    with model_threads(train.threads):  # as train fits: one thread unless params say otherwise
        proposal = propose_setup(frame, dataset, params_text, where, train.cv_folds, train.seed)
    contract = contract_text(draft, where.csv, target)
    CONFIG_DIR.mkdir(exist_ok=True)
    write_text_atomic(contract, Path(where.contract))
    write_text_atomic(proposal.spec, Path(where.spec))
    write_text_atomic(proposal.params, params_path)  # last: it switches the project over
    checks = sum("# check:" in line for line in contract.splitlines())
    kept = len(proposal.screening.kept)
    proposed = len(proposal.screening.verdicts)
    gates = ", ".join(
        f"{g.metric} {'>=' if g.bound == 'min' else '<='} {g.value!r}" for g in proposal.gates
    )
    return [
        f"wrote {where.contract} (dataset contract: {checks} guess(es) marked '# check')",
        f"wrote {where.spec} ({kept} of {proposed} proposed features kept by cross-validation)",
        f"updated {where.params}: ingest.source, dataset.contract, features.spec, "
        f"train.features ({len(proposal.inputs)} inputs), train.model.name: auto, "
        f"evaluate.gates ({gates or 'none'})",
        "next: read the '# check' lines, then run `dvc repro`",
    ]
