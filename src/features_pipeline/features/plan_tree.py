"""The plan as a rich tree: levels, each feature's kind, dtype, inputs and target marks."""

from __future__ import annotations

from rich.tree import Tree

from features_pipeline.features.plan import Plan, PlannedFeature


def target_marks(planned: PlannedFeature, target: str) -> str:
    """Rich markup saying how a feature uses the target (empty if it does not)."""
    if planned.target_derived:
        return " [red]target-derived: never a model input[/]"
    if planned.depends_on_target:
        return f" [yellow]uses target {target!r} (fitted on train rows)[/]"
    return ""


def feature_label(planned: PlannedFeature, target: str) -> str:
    """One feature's line: name, type, kind, dtype, inputs and target marks."""
    inputs = ", ".join(planned.feature.inputs())
    return (
        f"[bold]{planned.name}[/] [cyan]{planned.feature.type}[/] {planned.kind} "
        f"-> {planned.dtype} [dim]({inputs})[/]{target_marks(planned, target)}"
    )


def plan_tree(plan: Plan) -> Tree:
    """A rich Tree of the plan: one branch per level, one leaf per feature."""
    tree = Tree(f"[bold]{plan.source}[/]: {len(plan.features)} features, {len(plan.levels)} levels")
    for depth, level in enumerate(plan.levels):
        branch = tree.add(f"level {depth} [dim]({len(level)} features, one with_columns)[/]")
        for planned in level:
            branch.add(feature_label(planned, plan.target))
    return tree
