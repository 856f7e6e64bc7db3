"""The ``features-pipeline`` command: stage runners and tools, sharing the stages' functions.

Heavy libraries are imported inside the subcommands so ``--help`` stays fast.
"""

from __future__ import annotations

import argparse
import importlib.util
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from types import ModuleType

from features_pipeline.errors import UserError
from features_pipeline.runner import EXIT_OK, EXIT_USER_ERROR, report_user_error, run_stage

STAGES = ("ingest", "features", "validate", "train", "evaluate")
STAGES_DIR = Path("stages")


def load_stage_module(name: str) -> ModuleType:
    """Import ``stages/<name>.py`` of the project in the current directory."""
    path = STAGES_DIR / f"{name}.py"
    if not path.exists():
        raise UserError(f"{path}: not found; run features-pipeline from the project root")
    spec = importlib.util.spec_from_file_location(f"stages_{name}", path)
    if spec is None or spec.loader is None:
        raise UserError(f"{path}: cannot be imported")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _common(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--params", type=Path, default=Path("params.yaml"), help="params file")
    parser.add_argument(
        "-v", "--verbose", action="store_const", const=1, default=0, dest="verbosity"
    )
    parser.add_argument("-q", "--quiet", action="store_const", const=-1, dest="verbosity")


def plan_tree(plan: object) -> object:
    """A rich Tree of the plan: levels, each feature's kind, dtype, inputs and target marks."""
    from rich.tree import Tree

    from features_pipeline.features.plan import Plan

    assert isinstance(plan, Plan)
    tree = Tree(f"[bold]{plan.source}[/]: {len(plan.features)} features, {len(plan.levels)} levels")
    for depth, level in enumerate(plan.levels):
        branch = tree.add(f"level {depth} [dim]({len(level)} features, one with_columns)[/]")
        for planned in level:
            marks = ""
            if planned.target_derived:
                marks = " [red]target-derived: never a model input[/]"
            elif planned.depends_on_target:
                marks = f" [yellow]uses target {plan.target!r} (fitted on train rows)[/]"
            inputs = ", ".join(planned.feature.inputs())
            branch.add(
                f"[bold]{planned.name}[/] [cyan]{planned.feature.type}[/] {planned.kind} "
                f"-> {planned.dtype} [dim]({inputs})[/]{marks}"
            )
    return tree


def features_check(args: argparse.Namespace) -> None:
    """Validate a feature spec (no data read) and print its plan."""
    from rich.console import Console

    from features_pipeline.features.plan import load_plan
    from features_pipeline.params import FeaturesParams, load_yaml, parse_section, target_column

    raw = load_yaml(args.params) if args.params.exists() else {}
    spec = args.spec or parse_section(raw, "features", FeaturesParams, args.params).spec
    plan = load_plan(spec, None, target_column(raw))
    Console().print(plan_tree(plan))


def compare_command(args: argparse.Namespace) -> None:
    """Print the comparison of workspace, commits and experiments."""
    from rich.console import Console

    from features_pipeline import compare as cmp

    metrics_file = None if args.all_metrics else args.metrics_file
    comparison = cmp.compare(cmp.read_exp_show(), args.sort_by, args.ascending, metrics_file)
    if args.format == "md":
        sys.stdout.write(cmp.to_markdown(comparison))
    elif args.format == "json":
        sys.stdout.write(cmp.to_json(comparison))
    else:
        Console().print(cmp.to_rich_table(comparison))
    if not comparison.has_experiments and args.format != "json":
        print("no experiments yet: try `dvc exp run -S train.model.name=ridge`", file=sys.stderr)


def predict_command(args: argparse.Namespace) -> None:
    """Predict Total Profit for new orders with the saved model and feature state."""
    from features_pipeline.predict import run

    run(args)


def _add_predict(commands: argparse._SubParsersAction) -> None:
    predict = commands.add_parser(
        "predict",
        help="predict for a CSV of new orders with the trained model and feature state",
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    predict.add_argument(
        "--model", type=Path, default=Path("models/model.skops"), help="skops model file"
    )
    predict.add_argument("--input", type=Path, required=True, help="CSV of new orders")
    predict.add_argument("--output", type=Path, required=True, help="CSV of predictions to write")
    predict.add_argument(
        "--card",
        type=Path,
        default=None,
        help="model card (default: model_card.json beside the model)",
    )
    predict.add_argument(
        "--state",
        type=Path,
        default=Path("data/features/state"),
        help="fitted feature state directory",
    )
    predict.add_argument(
        "--history",
        type=Path,
        default=None,
        help="earlier orders (parquet or CSV), needed by models with window features",
    )
    predict.add_argument(
        "--on-invalid",
        choices=("skip", "fail"),
        default="skip",
        help="rows failing the raw contract: skip and report them, or fail",
    )
    predict.add_argument(
        "--rejected",
        type=Path,
        default=None,
        help="write the skipped rows and their failures here (CSV)",
    )
    predict.add_argument(
        "-v", "--verbose", action="store_const", const=1, default=0, dest="verbosity"
    )
    predict.add_argument("-q", "--quiet", action="store_const", const=-1, dest="verbosity")


def _add_compare(commands: argparse._SubParsersAction) -> None:
    compare = commands.add_parser(
        "compare",
        help="compare workspace, commits and DVC experiments (metrics, differing params)",
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    compare.add_argument("--sort-by", default="rmse", help="metric to sort by (name or file.name)")
    direction = compare.add_mutually_exclusive_group()
    direction.add_argument(
        "--asc",
        dest="ascending",
        action="store_const",
        const=True,
        default=None,
        help="ascending (default: by metric name: rmse/mae/mape ascending, others descending)",
    )
    direction.add_argument(
        "--desc", dest="ascending", action="store_const", const=False, help="descending"
    )
    output = compare.add_mutually_exclusive_group()
    output.add_argument(
        "--md",
        dest="format",
        action="store_const",
        const="md",
        default="table",
        help="Markdown (for CI comments)",
    )
    output.add_argument(
        "--json", dest="format", action="store_const", const="json", help="JSON (for scripts)"
    )
    compare.add_argument(
        "--metrics-file", default="metrics/metrics.json", help="metrics file to show"
    )
    compare.add_argument(
        "--all-metrics", action="store_true", help="show metrics of every metrics file"
    )
    compare.add_argument(
        "-v", "--verbose", action="store_const", const=1, default=0, dest="verbosity"
    )
    compare.add_argument("-q", "--quiet", action="store_const", const=-1, dest="verbosity")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="features-pipeline",
        description="Reproducible sales-profit pipeline: run stages and inspect the feature plan.",
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for name in STAGES:
        stage = commands.add_parser(
            name,
            help=f"run the {name} stage (same code as stages/{name}.py)",
            formatter_class=argparse.ArgumentDefaultsHelpFormatter,
        )
        _common(stage)
        if name == "features":
            actions = stage.add_subparsers(dest="action", metavar="ACTION")
            check = actions.add_parser(
                "check",
                help="validate a feature spec and print the plan as a tree",
                formatter_class=argparse.ArgumentDefaultsHelpFormatter,
            )
            _common(check)
            check.add_argument(
                "--spec",
                type=Path,
                default=None,
                help="spec file (default: features.spec of params)",
            )
    _add_predict(commands)
    _add_compare(commands)
    return parser


def _guarded(body: Callable[[argparse.Namespace], None], args: argparse.Namespace) -> int:
    from features_pipeline.logs import setup_logging

    setup_logging(args.verbosity)
    try:
        body(args)
    except UserError as error:
        report_user_error(error)
        return EXIT_USER_ERROR
    return EXIT_OK


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the console script; returns the exit code (0 ok, 1 user error, 2 usage)."""
    args = build_parser().parse_args(argv)
    if args.command == "features" and getattr(args, "action", None) == "check":
        return _guarded(features_check, args)
    if args.command == "compare":
        return _guarded(compare_command, args)
    if args.command == "predict":
        return _guarded(predict_command, args)
    if args.command in STAGES:
        try:
            module = load_stage_module(args.command)
        except UserError as error:
            report_user_error(error)
            return EXIT_USER_ERROR
        forwarded = ["--params", str(args.params)]
        forwarded += ["-v"] if args.verbosity > 0 else ["-q"] if args.verbosity < 0 else []
        return run_stage(args.command, module.run, module.__doc__ or "", forwarded)
    return EXIT_OK


if __name__ == "__main__":
    sys.exit(main())
