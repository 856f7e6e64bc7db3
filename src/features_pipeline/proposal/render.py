"""The files ``init`` writes, as text: the feature spec (each kept feature with why), and the
params.yaml edits (contract, source, spec, model inputs, model, gates)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import yaml

from features_pipeline.proposal.gates import ProposedGate
from features_pipeline.proposal.params_edit import Edit
from features_pipeline.proposal.roles import Roles
from features_pipeline.proposal.screen import (
    SCREEN_MODEL,
    TREE_MODEL,
    Screening,
    all_specs,
    rmse,
)

AUTO = "auto"


def flow(entry: Mapping[str, Any]) -> str:
    """One spec entry as a YAML flow mapping on one line."""
    return yaml.safe_dump(dict(entry), default_flow_style=True, sort_keys=False, width=10_000)[:-1]


def _scalar(value: str) -> str:
    return yaml.safe_dump(value, default_style=None, width=10_000).removesuffix("\n...\n").strip()


def spec_text(screening: Screening, csv: str, target: str) -> str:
    """The proposed feature spec: kept features (and helpers) with why, the dropped ones listed
    in comments with the reason."""
    kept = screening.kept
    base = f"{rmse(screening.baseline):,.4g}" if screening.baseline else "-"
    lines = [
        f"# Features proposed by `features-pipeline init {csv} --target {target}`.",
        f"# Screened by {screening.folds}-fold cross-validation of {SCREEN_MODEL} on "
        f"{screening.rows:,} train rows: CV RMSE",
        f"# {base} with the raw columns alone, {rmse(screening.final):,.4g} with the "
        "features kept below (products and",
        f"# ratios ridge cannot use are tried with {TREE_MODEL} when trees fit better). Edit "
        "freely:",
        "# train.features in params.yaml lists the model inputs.",
        "features:",
    ]
    helpers = {str(h["name"]) for c in kept for h in c.helpers} - {c.name for c in kept}
    why = {v.candidate.name: v for v in screening.verdicts}
    for spec in all_specs(kept):
        name = str(spec["name"])
        if name in helpers:
            lines.append(f"  # helper (not a model input) of the feature below it: {name}")
        else:
            lines.append(f"  # {why[name].candidate.reason}: {why[name].why}")
        lines.append(f"  - {flow(spec)}")
    if not kept:
        lines[-1] = "features: []  # no proposed feature improved the cross-validation"
    dropped = [v for v in screening.verdicts if not v.kept]
    if dropped:
        lines += ["", "# Proposed and dropped (screening):"]
        lines += [f"#   {v.candidate.name}: {v.why}" for v in dropped]
    return "\n".join(lines) + "\n"


def inputs_block(roles: Roles, screening: Screening) -> tuple[str, ...]:
    """``train.features``: raw columns, then the kept features, each with why."""
    lines = [f"- {_scalar(name)}  # raw column" for name in roles.raw_inputs]
    lines += [f"- {_scalar(v.candidate.name)}  # {v.why}" for v in screening.verdicts if v.kept]
    lines += [f"# not inputs: {name} ({why})" for name, why in roles.left_out.items()]
    lines += [f"# not inputs: {name} (date: parts and differences only)" for name in roles.dates]
    lines += [
        f"# not inputs: {name} (identifier: its frequency only)" for name in roles.identifiers
    ]
    return tuple(lines)


def gates_block(gates: Sequence[ProposedGate], caveat: str | None) -> tuple[str, ...]:
    lines = [f"{g.metric}: {{{g.bound}: {g.value!r}}}  # {g.why}" for g in gates]
    if caveat:
        lines.append(f"# no mape gate: {caveat}")
    return tuple(lines)


def params_edits(
    contract: str,
    source: str,
    spec: str,
    inputs: Sequence[str],
    inputs_lines: tuple[str, ...],
    gates: Sequence[ProposedGate],
    gate_lines: tuple[str, ...],
) -> list[Edit]:
    """What ``init`` changes in params.yaml; every other key stays as the user left it."""
    return [
        Edit(("dataset", "contract"), contract, _scalar(contract)),
        Edit(("ingest", "source"), source, _scalar(source)),
        Edit(("features", "spec"), spec, _scalar(spec)),
        Edit(("train", "features"), list(inputs), block=inputs_lines),
        Edit(("train", "model", "name"), AUTO, AUTO),
        Edit(
            ("evaluate", "gates"),
            {g.metric: {g.bound: g.value} for g in gates},
            "{}",
            block=gate_lines if gates else None,
            comment="written by features-pipeline init: from cross-validation on train rows",
        ),
    ]


def contract_text(draft: str, csv: str, target: str) -> str:
    """The drafted contract with a header saying where it came from."""
    body = draft.split("\n", 2)[2]  # drop dataset infer's two header lines
    return (
        f"# Dataset contract drafted by `features-pipeline init {csv} --target {target}`:\n"
        "# read every line and fix the '# check' guesses (each names its evidence).\n" + body
    )
