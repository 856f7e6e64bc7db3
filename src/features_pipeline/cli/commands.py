"""The bodies of the ``features-pipeline`` subcommands.

Stage subcommands run ``features_pipeline.stages.<name>.run`` through ``runner.run_stage``, the
same as ``python stages/<name>.py`` (what ``dvc repro`` calls), from the project root. Tool
subcommands (``features check``, ``compare``, ``predict``) run in the current folder. Heavy
libraries are imported inside the bodies so ``--help`` stays fast.
"""

from __future__ import annotations

import argparse
import importlib
import os
import sys
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from features_pipeline.contracts.paths import DEFAULT_PARAMS, PROJECT_FILE, find_project_root
from features_pipeline.contracts.text import did_you_mean
from features_pipeline.errors import UserError
from features_pipeline.runner import EXIT_OK, EXIT_USER_ERROR, report_user_error, run_stage

if TYPE_CHECKING:
    from rich.console import Console

Command = Callable[[argparse.Namespace], None]


def project_root() -> Path:
    """The project this command runs in: the nearest folder at or above the current one that
    holds dvc.yaml."""
    cwd = Path.cwd()
    root = find_project_root(cwd)
    if root is None:
        raise UserError(
            f"{cwd}: not inside a features-pipeline project (no {PROJECT_FILE} here or in a "
            "parent folder); cd into the project first"
        )
    return root


def in_project(path: Path, root: Path) -> Path:
    """``path`` as given on the command line (relative to the current folder), made relative to
    the project root when it lies inside it (messages then name it as the stages do)."""
    absolute = (Path.cwd() / path).resolve()
    return absolute.relative_to(root) if absolute.is_relative_to(root) else absolute


def stage_command(args: argparse.Namespace) -> int:
    """Run stage ``args.command`` from the project root, as ``dvc repro`` would."""
    try:
        root = project_root()
    except UserError as error:
        report_user_error(error)
        return EXIT_USER_ERROR
    # not given: the project's params.yaml; given: a path relative to the current folder
    given = args.params is not DEFAULT_PARAMS  # argparse hands its default object on as is
    params = in_project(args.params, root) if given else DEFAULT_PARAMS
    os.chdir(root)  # stages read and write project-relative paths, as under dvc repro
    module = importlib.import_module(f"features_pipeline.stages.{args.command}")
    forwarded = ["--params", str(params)]
    forwarded += ["-v"] if args.verbosity > 0 else ["-q"] if args.verbosity < 0 else []
    return run_stage(args.command, module.run, module.__doc__ or "", forwarded)


def tool_command(body: Command, args: argparse.Namespace) -> int:
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


def features_check(args: argparse.Namespace) -> None:
    """Validate a feature spec (no data read) and print its plan."""
    from rich.console import Console

    from features_pipeline.contracts.dataset import read_contract
    from features_pipeline.contracts.params import ParamsFile, read_params
    from features_pipeline.engines.params import EngineParams
    from features_pipeline.features.params import FeaturesParams
    from features_pipeline.features.plan import input_schema_of, load_plan
    from features_pipeline.features.plan_tree import plan_tree

    params = read_params(args.params) if args.params.exists() else ParamsFile(args.params, {})
    spec = args.spec or params.section("features", FeaturesParams).spec
    engine = args.engine or params.section("engine", EngineParams).name
    dataset = read_contract(params)
    plan = load_plan(spec, input_schema_of(dataset), dataset, engine)
    Console().print(plan_tree(plan))


def features_types(args: argparse.Namespace) -> None:
    """Print the catalog of feature types (from the types' own classes) as Markdown."""
    from features_pipeline.features.catalog import catalog_markdown

    sys.stdout.write(catalog_markdown())


def stdout_console() -> Console:
    """Rich console on stdout; when piped it is as wide as the table needs (no wrapped cells)."""
    from rich.console import Console

    console = Console()
    return console if console.is_terminal else Console(width=10_000)


def compare_command(args: argparse.Namespace) -> None:
    """Print the comparison of workspace, commits and experiments."""
    from features_pipeline.compare import exp_show
    from features_pipeline.compare.comparison import compare
    from features_pipeline.compare.render import to_json, to_markdown, to_rich_table

    metrics_file = None if args.all_metrics else args.metrics_file
    entries = exp_show.read_exp_show(num=args.num, all_commits=args.all_commits)
    comparison = compare(entries, args.sort_by, args.ascending, metrics_file)
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
        sys.stdout.write(to_markdown(comparison))
    elif args.format == "json":
        sys.stdout.write(to_json(comparison))
    else:
        stdout_console().print(to_rich_table(comparison))
    if not comparison.has_experiments and args.format != "json":
        print(
            "no experiments yet: try `dvc exp run -S train.model.name=ridge`, then compare again",
            file=sys.stderr,
        )


def predict_command(args: argparse.Namespace) -> None:
    """Predict the target for new rows with the saved model and feature state."""
    from features_pipeline.predict.run import run

    run(args)


def doctor_command(args: argparse.Namespace) -> None:
    """Report (and unless ``--check`` repair) what a killed run left; UserError if any is left."""
    from features_pipeline.doctor import diagnose, summary, unresolved

    repair = not args.check
    findings = diagnose(project_root(), repair)
    for finding in findings:
        print(f"doctor: {finding.line()}")
    if unresolved(findings):
        raise UserError(summary(findings, repair))
    print(summary(findings, repair))


def dataset_infer(args: argparse.Namespace) -> None:
    """Print a draft dataset contract for the CSV ``args.csv``."""
    from features_pipeline.ingest.infer import draft_contract, read_sample

    sample = read_sample(args.csv, args.rows)
    if args.target is not None and args.target not in sample.columns:
        hint = did_you_mean(args.target, sample.columns)
        raise UserError(f"{args.csv}: --target: no column {args.target!r}{hint}")
    sys.stdout.write(draft_contract(sample, args.name or args.csv.stem, args.target))


def init_command(args: argparse.Namespace) -> None:
    """Propose a complete set-up for the CSV ``args.csv`` and point params.yaml at it."""
    from features_pipeline.proposal.init import run_init

    root = project_root()
    csv = in_project(args.csv, root)
    os.chdir(root)  # params.yaml and the paths it names are project-relative
    for line in run_init(csv, args.target, DEFAULT_PARAMS):
        print(line)


def tool_for(args: argparse.Namespace) -> Command | None:
    """The body of a tool subcommand; None for a stage subcommand."""
    if args.command == "features" and getattr(args, "action", None) is not None:
        return {"check": features_check, "types": features_types}[args.action]
    if args.command == "dataset":
        return {"infer": dataset_infer}[args.action]
    tools = {
        "compare": compare_command,
        "predict": predict_command,
        "doctor": doctor_command,
        "init": init_command,
    }
    return tools.get(args.command)
