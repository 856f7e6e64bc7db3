"""Which columns may be model inputs: no target, no target-derived features, no dates."""

from __future__ import annotations

from collections.abc import Sequence

from features_pipeline.contracts.paths import PLAN_FILE
from features_pipeline.contracts.plan_file import Kind, PlanEntry, PlanFile
from features_pipeline.contracts.split import SPLIT
from features_pipeline.contracts.text import did_you_mean
from features_pipeline.errors import UserError


def _why_derived(feature: PlanEntry, target: str) -> str:
    if feature.kind is Kind.WINDOW:
        return f"a window feature ({feature.type}) computed from the target {target!r}"
    return f"computed row by row ({feature.type}) from the target {target!r}"


def check_model_inputs(
    features: Sequence[str],
    target: str,
    columns: Sequence[str],
    plan: PlanFile,
    source: str = "params.yaml",
    outcome: Sequence[str] = (),
) -> list[str]:
    """Refuse inputs a model must not see; return warnings about suspicious but legal ones.

    Refused: the target itself, the split column, unknown columns, and features the planner
    marks ``target_derived`` (row-wise or window features computed from the target: they would
    not exist at prediction time). Fitted features learned on training rows are allowed.
    Warned: inputs among ``outcome`` (the contract's columns recorded with the target).
    """
    where = f"{source}: train.features"
    if target not in columns:
        raise UserError(f"{source}: target column {target!r} not in the feature table")
    for name in features:
        if name == target:
            raise UserError(f"{where}: {name!r} is the target itself; remove it from the inputs")
        if name == SPLIT:
            raise UserError(f"{where}: {name!r} is the train/test marker, not an input")
        if name not in columns:
            raise UserError(
                f"{where}: unknown column {name!r}{did_you_mean(name, columns)} "
                "(not in the feature table)"
            )
        planned = plan.get(name)
        if planned is not None and planned.target_derived:
            raise UserError(
                f"{where}: {name!r} is {_why_derived(planned, target)} (see {PLAN_FILE}); "
                "it would not exist at prediction time — remove it from train.features"
            )
    warnings = []
    siblings = [name for name in features if name in outcome and name != target]
    if siblings:
        warnings.append(
            f"{where}: {', '.join(map(repr, siblings))} is recorded with the outcome like "
            f"{target!r} (an outcome column of the dataset contract); metrics will look better "
            "than predictions made before the outcome is known can be"
        )
    return warnings
