"""Everything ``init`` proposes for a typed table, as the texts of the files it writes."""

from __future__ import annotations

from dataclasses import dataclass

import polars as pl

from features_pipeline.contracts.dataset import DatasetContract
from features_pipeline.contracts.split import SPLIT, TRAIN
from features_pipeline.model.metrics import mape_caveat
from features_pipeline.proposal.candidates import propose
from features_pipeline.proposal.gates import ProposedGate, propose_gates
from features_pipeline.proposal.params_edit import edit_yaml
from features_pipeline.proposal.render import (
    gates_block,
    inputs_block,
    params_edits,
    spec_text,
)
from features_pipeline.proposal.roles import Roles, table_roles
from features_pipeline.proposal.screen import (
    SCREEN_MODEL,
    Screening,
    compute,
    plan_candidates,
    screen,
)


@dataclass(frozen=True)
class Proposal:
    roles: Roles
    screening: Screening
    gates: list[ProposedGate]
    inputs: list[str]
    spec: str  # the feature spec's text
    params: str  # params.yaml's new text


@dataclass(frozen=True)
class Targets:
    """Where ``init`` writes, as params.yaml names them (project-relative)."""

    csv: str
    contract: str
    spec: str
    params: str


def propose_setup(
    frame: pl.DataFrame,
    dataset: DatasetContract,
    params_text: str,
    where: Targets,
    folds: int,
    seed: int,
) -> Proposal:
    """Roles, candidates, screening and gates for ``frame`` (typed, split), and the texts."""
    roles = table_roles(frame, dataset)
    candidates = propose(frame, roles)
    plan = plan_candidates(candidates, frame.schema, dataset, where.spec)
    table = compute(frame, plan)
    screening = screen(table, roles.raw_inputs, candidates, dataset.target, folds, seed)
    train_target = frame.filter(pl.col(SPLIT) == TRAIN).get_column(dataset.target)
    caveat = mape_caveat(train_target.cast(pl.Float64).to_numpy())
    gates = propose_gates(screening.final, train_target.cast(pl.Float64).to_numpy(), SCREEN_MODEL)
    inputs = [*roles.raw_inputs, *(c.name for c in screening.kept)]
    edits = params_edits(
        where.contract,
        where.csv,
        where.spec,
        inputs,
        inputs_block(roles, screening),
        gates,
        gates_block(gates, caveat),
    )
    return Proposal(
        roles=roles,
        screening=screening,
        gates=gates,
        inputs=inputs,
        spec=spec_text(screening, where.csv, dataset.target),
        params=edit_yaml(params_text, edits, where.params),
    )
