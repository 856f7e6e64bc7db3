"""The bodies of the ``features-pipeline`` subcommands, and the project they run in.

Every subcommand that works on the project (the stages, ``compare``, ``doctor``, ``params
check``; ``predict`` and ``features check`` when there is one) runs in the project root that
:func:`contracts.paths.find_project_root` finds from the current folder, as ``dvc repro`` runs
the stages: paths given on the command line stay relative to the folder the user typed them in,
defaults are project paths. ``predict`` and ``features check`` outside any project, ``features
types`` and ``dataset infer`` run in the current folder. Stage
subcommands run ``features_pipeline.stages.<name>.run`` through ``runner.run_stage``, the same as
``python stages/<name>.py``. Heavy libraries are imported inside the bodies so ``--help`` stays
fast."""

from __future__ import annotations

import argparse
import importlib
import os
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

from features_pipeline.contracts.paths import (
    DEFAULT_PARAMS,
    FEATURE_STATE,
    MODEL_FILE,
    find_project_root,
    is_uri,
    not_in_a_project,
)
from features_pipeline.contracts.text import did_you_mean
from features_pipeline.errors import UserError
from features_pipeline.runner import EXIT_OK, EXIT_USER_ERROR, report_user_error, run_stage

if TYPE_CHECKING:
    from rich.console import Console

Command = Callable[[argparse.Namespace], None]

# options naming a file or folder; given on the command line they are relative to the current
# folder, their defaults (these very objects: argparse hands a default on as is) to the project
# (predict's --input and --output are text: with --engine spark, URIs are left as they are)
PATH_OPTIONS = (
    *("params", "spec", "model", "card", "state", "history", "rejected"),
    *("input", "output", "csv"),
)
PROJECT_DEFAULTS = (DEFAULT_PARAMS, MODEL_FILE.path, FEATURE_STATE.path)
WITHOUT_PROJECT = {("features", "types"), ("dataset", "infer"), ("cluster", "pack")}
# every input can be given as an option (a model and its files copied anywhere): outside any
# project these run in the current folder
PROJECT_IF_ANY = {("predict", None), ("features", "check")}


def project_use(args: argparse.Namespace) -> str:
    """How the subcommand uses the project: ``required``, ``optional`` or ``none``."""
    command = (args.command, getattr(args, "action", None))
    if command in WITHOUT_PROJECT:
        return "none"
    return "optional" if command in PROJECT_IF_ANY else "required"


def in_project(path: Path, root: Path, cwd: Path) -> Path:
    """``path`` as given in the folder ``cwd``, made relative to the project ``root`` when it lies
    inside it (messages then name it as the stages do), else absolute."""
    absolute = (cwd / path).resolve()
    return absolute.relative_to(root) if absolute.is_relative_to(root) else absolute


def relocated(args: argparse.Namespace, root: Path, cwd: Path) -> argparse.Namespace:
    """``args`` with every path option given on the command line (relative to ``cwd``) made a
    path from the project ``root``; defaults (project paths) and URIs are left as they are."""
    changes: dict[str, object] = {}
    for name in PATH_OPTIONS:
        value = getattr(args, name, None)
        if value is None or any(value is default for default in PROJECT_DEFAULTS):
            continue
        if isinstance(value, str):
            if not is_uri(value):
                changes[name] = str(in_project(Path(value), root, cwd))
        else:
            changes[name] = in_project(value, root, cwd)
    return argparse.Namespace(**{**vars(args), **changes})


@contextmanager
def working_directory(folder: Path) -> Iterator[None]:
    """Run the block in ``folder``, then return to the folder it started in."""
    before = Path.cwd()
    os.chdir(folder)
    try:
        yield
    finally:
        os.chdir(before)


def run(args: argparse.Namespace) -> int:
    """Run the parsed subcommand: in the project root when it needs the project."""
    tool = tool_for(args)
    use = project_use(args)
    cwd = Path.cwd()
    root = find_project_root(cwd) if use != "none" else None
    if root is None and use == "required":
        report_user_error(not_in_a_project(cwd))
        return EXIT_USER_ERROR
    if root is None:
        assert tool is not None  # every stage requires the project
        return tool_command(tool, args)
    args = relocated(args, root.resolve(), cwd)
    with working_directory(root):  # project-relative paths, as under dvc repro
        return tool_command(tool, args) if tool is not None else stage_command(args)


def stage_command(args: argparse.Namespace) -> int:
    """Run stage ``args.command`` (in the project root), as ``dvc repro`` would."""
    module = importlib.import_module(f"features_pipeline.stages.{args.command}")
    forwarded = ["--params", str(args.params)]
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


PIPED_WIDTH = 120  # columns of the compare table when stdout is not a terminal


def stdout_console() -> Console:
    """Rich console on stdout: as wide as the terminal, or :data:`PIPED_WIDTH` when piped."""
    from rich.console import Console

    console = Console()
    return console if console.is_terminal else Console(width=PIPED_WIDTH)


def compare_command(args: argparse.Namespace) -> None:
    """Print the comparison of workspace, commits and experiments."""
    from features_pipeline.compare import exp_show
    from features_pipeline.compare.comparison import compare
    from features_pipeline.compare.render import to_json, to_markdown, to_rich_tables

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
        console = stdout_console()
        for table in to_rich_tables(comparison, console):
            console.print(table)
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
    findings = diagnose(Path.cwd(), repair)
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


def params_check(args: argparse.Namespace) -> None:
    """Check the YAML files DVC parses before any stage runs (one line either way)."""
    from features_pipeline.params_check import LIMITS, check_project

    checked = check_project(args.params)
    print(f"params check: ok: {', '.join(map(str, checked))} ({LIMITS})")


def cluster_pack(args: argparse.Namespace) -> None:
    """Build or find the executors' archive; print where it is and how to ship it."""
    from features_pipeline.engines.spark_ship import executor_archive, master_settings

    packed = executor_archive()
    how = f"built in {packed.seconds:.1f} s" if packed.seconds else "cached"
    print(f"cluster pack: {packed.path} ({packed.bytes / 1e6:.0f} MB, {how})")
    for key, value in master_settings(packed.path).items():
        print(f"{key} {value}")


def init_command(args: argparse.Namespace) -> None:
    """Propose a complete set-up for the CSV ``args.csv`` and point params.yaml at it."""
    from features_pipeline.proposal.init import run_init

    for line in run_init(args.csv, args.target, DEFAULT_PARAMS):  # run() chdir'd to the root
        print(line)


def tool_for(args: argparse.Namespace) -> Command | None:
    """The body of a tool subcommand; None for a stage subcommand."""
    if args.command == "features" and getattr(args, "action", None) is not None:
        return {"check": features_check, "types": features_types}[args.action]
    if args.command == "dataset":
        return {"infer": dataset_infer}[args.action]
    if args.command == "params":
        return {"check": params_check}[args.action]
    if args.command == "cluster":
        return {"pack": cluster_pack}[args.action]
    tools = {
        "compare": compare_command,
        "predict": predict_command,
        "doctor": doctor_command,
        "init": init_command,
    }
    return tools.get(args.command)
