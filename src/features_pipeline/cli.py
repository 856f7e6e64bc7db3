"""The ``features-pipeline`` command: stage runners and tools, sharing the stages' functions.

Each stage subcommand imports ``stages/<name>.py`` and runs its ``run`` through the same
``runner.run_stage`` as ``python stages/<name>.py`` (what ``dvc repro`` calls): one implementation.
Exit codes: 0 ok, 1 user error (bad data, config, params), 2 usage error (bad command line).
Heavy libraries are imported inside the subcommands so ``--help`` stays fast.
"""

from __future__ import annotations

import argparse
import importlib.util
import sys
from collections.abc import Callable, Sequence
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from types import ModuleType

from features_pipeline.errors import UserError
from features_pipeline.paths import FEATURE_STATE, MODEL_FILE
from features_pipeline.runner import (
    EXIT_OK,
    EXIT_USER_ERROR,
    add_common_arguments,
    add_verbosity_arguments,
    report_user_error,
    run_stage,
)

PROG = "features-pipeline"
STAGES_DIR = Path("stages")
STAGE_HELP = {
    "ingest": "synthetic sample or CSV -> data/interim/sales.parquet (raw contract checked)",
    "features": "config/features.yaml -> data/features/ (table, fitted state, plan)",
    "validate": "check the feature table (pandera) -> metrics/validation.json",
    "train": "cross-validate and fit the model -> models/, metrics/train.json",
    "evaluate": "score the test split, apply metric gates -> metrics/metrics.json, reports/",
}
STAGES = tuple(STAGE_HELP)
EXIT_INTERRUPTED = 130

DESCRIPTION = """\
Reproducible sales-profit pipeline (ingest -> features -> validate -> train -> evaluate).

`dvc repro` runs the stages that changed; the stage subcommands below run one stage directly,
with the same code (stages/<name>.py). Exit codes: 0 ok, 1 user error, 2 usage error.
Logging: -v (debug), -q (warnings only) or the LOG_LEVEL environment variable."""

EPILOG = """\
examples:
  features-pipeline features check              # validate the feature spec, print its plan
  features-pipeline train -v                    # run one stage with debug logging
  features-pipeline compare                     # workspace, commits, experiments; best marked
  features-pipeline compare --md --sort-by r2   # Markdown for a CI comment
  features-pipeline predict --input new_orders.csv --output predictions.csv

`features-pipeline COMMAND --help` shows each command's options and defaults."""


class HelpFormatter(argparse.RawDescriptionHelpFormatter):
    """Keeps the description's line breaks; appends ``(default: X)`` where a default exists."""

    def _get_help_string(self, action: argparse.Action) -> str:
        text = action.help or ""
        default = action.default
        shown = (
            "%(default)" not in text
            and default not in (None, False, argparse.SUPPRESS)
            and not action.required
            and not isinstance(action, argparse._StoreConstAction)
            and action.option_strings
        )
        return f"{text} (default: %(default)s)" if shown else text


def _parser(
    commands: argparse._SubParsersAction, name: str, summary: str, **kwargs: str
) -> argparse.ArgumentParser:
    """A subcommand parser: ``summary`` in the command list, defaults shown in its help."""
    return commands.add_parser(
        name,
        help=summary,
        description=kwargs.pop("description", summary),
        formatter_class=HelpFormatter,
        **kwargs,
    )


def load_stage_module(name: str) -> ModuleType:
    """Import ``stages/<name>.py`` of the project in the current directory."""
    path = STAGES_DIR / f"{name}.py"
    if not path.exists():
        raise UserError(f"{path}: not found; run {PROG} from the project root")
    spec = importlib.util.spec_from_file_location(f"stages_{name}", path)
    if spec is None or spec.loader is None:
        raise UserError(f"{path}: cannot be imported")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


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


def _stdout_console() -> object:
    """Rich console on stdout; when piped it is as wide as the table needs (no wrapped cells)."""
    from rich.console import Console

    console = Console()
    return console if console.is_terminal else Console(width=10_000)


def compare_command(args: argparse.Namespace) -> None:
    """Print the comparison of workspace, commits and experiments."""
    from features_pipeline import compare as cmp

    metrics_file = None if args.all_metrics else args.metrics_file
    entries = cmp.read_exp_show(num=args.num, all_commits=args.all_commits)
    comparison = cmp.compare(entries, args.sort_by, args.ascending, metrics_file)
    if args.best:
        best = comparison.best_experiment
        if best is None:
            raise UserError(
                "compare: --best: no finished experiment yet; run one, e.g. "
                "`dvc exp run -S train.model.name=ridge`"
            )
        print(best.name)
        return
    if args.format == "md":
        sys.stdout.write(cmp.to_markdown(comparison))
    elif args.format == "json":
        sys.stdout.write(cmp.to_json(comparison))
    else:
        _stdout_console().print(cmp.to_rich_table(comparison))  # type: ignore[attr-defined]
    if not comparison.has_experiments and args.format != "json":
        print(
            "no experiments yet: try `dvc exp run -S train.model.name=ridge`, then compare again",
            file=sys.stderr,
        )


def predict_command(args: argparse.Namespace) -> None:
    """Predict Total Profit for new orders with the saved model and feature state."""
    from features_pipeline.predict import run

    run(args)


def _add_stages(commands: argparse._SubParsersAction) -> None:
    for name, summary in STAGE_HELP.items():
        stage = _parser(
            commands,
            name,
            summary,
            description=f"Run the {name} stage: {summary}.\nSame code as `python "
            f"stages/{name}.py` (what `dvc repro` runs); the stage's wall-clock\ntime goes to "
            f"metrics/timing/{name}.json.",
        )
        add_common_arguments(stage)
        if name == "features":
            actions = stage.add_subparsers(dest="action", metavar="ACTION")
            check = _parser(
                actions,
                "check",
                "validate a feature spec (no data read) and print its plan as a tree",
            )
            add_common_arguments(check)
            check.add_argument(
                "--spec",
                type=Path,
                default=None,
                help="spec file (default: features.spec of the params file)",
            )


def _add_predict(commands: argparse._SubParsersAction) -> None:
    predict = _parser(
        commands,
        "predict",
        "predict for a CSV of new orders with the trained model and feature state",
        description="Predict the target for new orders: parse the CSV as ingest does, compute "
        "the features\nwith the saved training state, apply the model. Rows breaking the raw "
        "contract are\nreported by line and skipped (or fail the run with --on-invalid fail).",
    )
    predict.add_argument("--model", type=Path, default=MODEL_FILE, help="skops model file")
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
        default=FEATURE_STATE,
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
    add_verbosity_arguments(predict)


def _positive(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected a positive number, got {text}")
    return value


def _add_compare(commands: argparse._SubParsersAction) -> None:
    compare = _parser(
        commands,
        "compare",
        "compare workspace, commits and DVC experiments (metrics, differing params)",
        description="Compare the workspace, commits and DVC experiments (from `dvc exp show "
        "--json`):\nthe metrics that differ, the summed stage seconds and the params that "
        "differ,\nsorted by a metric, the best marked with ★. Failed or queued experiments "
        "are listed last.",
        epilog="examples:\n"
        "  features-pipeline compare --sort-by r2\n"
        '  features-pipeline compare --md >> "$GITHUB_STEP_SUMMARY"\n'
        '  dvc exp apply "$(features-pipeline compare --best)"',
    )
    compare.add_argument(
        "--sort-by", default="rmse", help="metric to sort by (name; file.name with --all-metrics)"
    )
    direction = compare.add_mutually_exclusive_group()
    direction.add_argument(
        "--asc",
        dest="ascending",
        action="store_const",
        const=True,
        default=None,
        help="ascending (default: from the metric's name: rmse, mae, mape, seconds ascending; "
        "others descending)",
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
        help="print Markdown (for CI comments and job summaries)",
    )
    output.add_argument(
        "--json", dest="format", action="store_const", const="json", help="print JSON (scripts)"
    )
    output.add_argument(
        "--best",
        action="store_true",
        help="print only the name of the best finished experiment (for dvc exp apply/branch)",
    )
    scope = compare.add_mutually_exclusive_group()
    scope.add_argument(
        "-n",
        "--num",
        type=_positive,
        default=3,
        help="show the last NUM commits from HEAD and their experiments",
    )
    scope.add_argument(
        "-A", "--all-commits", action="store_true", help="show every commit and its experiments"
    )
    compare.add_argument(
        "--metrics-file", default="metrics/metrics.json", help="metrics file to show"
    )
    compare.add_argument(
        "--all-metrics",
        action="store_true",
        help="metrics of every metrics file, named file.key (e.g. train.cv.rmse_mean)",
    )
    add_verbosity_arguments(compare)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog=PROG, description=DESCRIPTION, epilog=EPILOG, formatter_class=HelpFormatter
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {_version()}")
    commands = parser.add_subparsers(
        dest="command", required=True, metavar="COMMAND", title="commands"
    )
    _add_stages(commands)
    _add_predict(commands)
    _add_compare(commands)
    return parser


def _version() -> str:
    try:
        return version("features-pipeline")
    except PackageNotFoundError:  # pragma: no cover - running from a source tree
        return "unknown"


def _guarded(body: Callable[[argparse.Namespace], None], args: argparse.Namespace) -> int:
    """Run a tool subcommand: a UserError becomes one line and exit 1 (traceback with -v)."""
    from features_pipeline.logs import setup_logging

    logger = setup_logging(args.verbosity)
    try:
        body(args)
    except UserError as error:
        if args.verbosity > 0:
            logger.exception("user error")
        report_user_error(error)
        return EXIT_USER_ERROR
    return EXIT_OK


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the console script; returns the exit code (0 ok, 1 user error, 2 usage)."""
    args = build_parser().parse_args(argv)  # a usage error exits 2 here
    try:
        if args.command == "features" and getattr(args, "action", None) == "check":
            return _guarded(features_check, args)
        if args.command == "compare":
            return _guarded(compare_command, args)
        if args.command == "predict":
            return _guarded(predict_command, args)
        try:
            module = load_stage_module(args.command)
        except UserError as error:
            report_user_error(error)
            return EXIT_USER_ERROR
        forwarded = ["--params", str(args.params)]
        forwarded += ["-v"] if args.verbosity > 0 else ["-q"] if args.verbosity < 0 else []
        return run_stage(args.command, module.run, module.__doc__ or "", forwarded)
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED


if __name__ == "__main__":
    sys.exit(main())
