"""The argparse parser of ``features-pipeline``: stage subcommands, ``predict`` and ``compare``.

Only light modules are imported here, so ``--help`` stays fast.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import TYPE_CHECKING

from features_pipeline.compare.comparison import DEFAULT_SORT
from features_pipeline.compare.rows import DEFAULT_METRICS_FILE
from features_pipeline.contracts.paths import DEFAULT_PARAMS, FEATURE_STATE, MODEL_FILE
from features_pipeline.runner import add_common_arguments, add_verbosity_arguments

if TYPE_CHECKING:
    Commands = argparse._SubParsersAction[argparse.ArgumentParser]

PROG = "features-pipeline"


def engine_choice(*, predict: bool) -> Callable[[str], str]:
    """An ``--engine`` value checked against the engine registry when it is given (the registry
    imports the executors, and with them Polars: not at start-up, so ``--help`` and ``params
    check`` stay fast)."""

    def check(value: str) -> str:
        from features_pipeline.engines.registry import engine_names, predict_engines

        names = predict_engines() if predict else engine_names()
        if value not in names:
            raise argparse.ArgumentTypeError(
                f"invalid choice: {value!r} (choose from {', '.join(names)})"
            )
        return value

    return check


# -v/-q of a subcommand: absent unless given there, so a -v before the subcommand holds
SUBCOMMAND = argparse.SUPPRESS
STAGE_HELP = {
    "ingest": "synthetic sample or CSV -> data/interim/sales.parquet (dataset contract checked)",
    "features": "config/features.yaml -> data/features/ (table, fitted state, plan)",
    "validate": "check the feature table (pandera) -> metrics/validation.json",
    "train": "cross-validate and fit the model -> models/, metrics/train.json",
    "evaluate": "score the test split, apply metric gates -> metrics/metrics.json, reports/",
}

DESCRIPTION = """\
Reproducible tabular ML pipeline (ingest -> features -> validate -> train -> evaluate); the
table is described by the dataset contract (config/dataset.yaml: Sales Records by default).

`dvc repro` runs the stages that changed; the stage subcommands below run one stage directly,
with the same code (stages/<name>.py). Exit codes: 0 ok, 1 user error, 2 usage error.
Logging: -v (debug), -q (warnings only), before or after the command, or the LOG_LEVEL
environment variable."""

EPILOG = """\
examples:
  features-pipeline features check              # validate the feature spec, print its plan
  features-pipeline params check                # the YAML DVC reads first (before dvc repro)
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


def subcommand(
    commands: Commands,
    name: str,
    summary: str,
    description: str | None = None,
    epilog: str | None = None,
) -> argparse.ArgumentParser:
    """A subcommand parser: ``summary`` in the command list, defaults shown in its help."""
    return commands.add_parser(
        name,
        help=summary,
        description=description or summary,
        epilog=epilog,
        formatter_class=HelpFormatter,
    )


def add_stages(commands: Commands) -> None:
    """One subcommand per stage (``features`` also has ``check``)."""
    for name, summary in STAGE_HELP.items():
        stage = subcommand(
            commands,
            name,
            summary,
            description=f"Run the {name} stage: {summary}.\nSame code as `python "
            f"stages/{name}.py` (what `dvc repro` runs); the stage's wall-clock\ntime goes to "
            f"metrics/timing/{name}.json.",
        )
        add_common_arguments(stage, SUBCOMMAND)
        if name == "features":
            add_features_actions(stage.add_subparsers(dest="action", metavar="ACTION"))


def add_features_actions(actions: Commands) -> None:
    """``features check`` (the spec's plan, no data read) and ``features types`` (the catalog)."""
    types = subcommand(
        actions, "types", "list every feature type with its kind, keys and an example (Markdown)"
    )
    add_verbosity_arguments(types, SUBCOMMAND)
    check = subcommand(
        actions, "check", "validate a feature spec (no data read) and print its plan as a tree"
    )
    add_common_arguments(check, SUBCOMMAND)
    check.add_argument(
        "--spec",
        type=Path,
        default=None,
        help="spec file (default: features.spec of the params file)",
    )
    check.add_argument(
        "--engine",
        type=engine_choice(predict=False),
        default=None,
        help="check that this engine can run every feature (default: engine.name of the params "
        "file, else polars)",
    )


def add_predict(commands: Commands) -> None:
    """``predict``: model, input, output, card, state, history and invalid-row options."""
    predict = subcommand(
        commands,
        "predict",
        "predict for a CSV of new orders with the trained model and feature state",
        description="Predict the target for new orders: parse the CSV as ingest does, compute "
        "the features\nwith the saved training state, apply the model. Rows breaking the raw "
        "contract are\nreported by line and skipped (or fail the run with --on-invalid fail).\n\n"
        "With --engine spark the new rows stay on the cluster (engine.spark of --params): the\n"
        "input is a storage URI (file, folder or glob of CSV parts; a local path works too),\n"
        "features and scores are computed by Spark and the predictions written to the\n"
        "output URI (a CSV folder with a header for a .csv name, else parquet).",
        epilog="examples:\n"
        "  features-pipeline predict --input new_orders.csv --output predictions.csv\n"
        "  features-pipeline predict --engine spark --input 's3a://bucket/new/*.csv' "
        "--output s3a://bucket/predictions.parquet",
    )
    predict.add_argument("--model", type=Path, default=MODEL_FILE.path, help="skops model file")
    # text, not Path: a Path would fold the // of a storage URI (s3a://bucket -> s3a:/bucket)
    predict.add_argument(
        "--input", required=True, help="CSV of new orders (--engine spark: a URI or local path)"
    )
    predict.add_argument(
        "--output",
        required=True,
        help="predictions to write: a CSV file (--engine spark: a URI or local path; .csv: a CSV "
        "folder, else parquet)",
    )
    predict.add_argument(
        "--engine",
        type=engine_choice(predict=True),
        default=None,
        help="an engine that predicts in this process (polars, the default) or on a cluster "
        "(spark: the cluster of engine.spark)",
    )
    predict.add_argument(
        "--params",
        type=Path,
        default=DEFAULT_PARAMS,
        help="params file (the dataset contract; engine.spark for --engine spark)",
    )
    predict.add_argument(
        "--card",
        type=Path,
        default=None,
        help="model card (default: model_card.json beside the model)",
    )
    predict.add_argument(
        "--state",
        type=Path,
        default=FEATURE_STATE.path,
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
        help="write the skipped input rows here (CSV: file line, the cells as read, problems)",
    )
    add_verbosity_arguments(predict, SUBCOMMAND)


def positive(text: str) -> int:
    """An argparse type: an integer of at least 1."""
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected a positive number, got {text}")
    return value


def add_compare(commands: Commands) -> None:
    """``compare``: sort metric and direction, output format, commit scope, metrics file."""
    compare = subcommand(
        commands,
        "compare",
        "compare workspace, commits and DVC experiments (metrics, differing params)",
        description="Compare the workspace, commits and DVC experiments (from `dvc exp show "
        "--json`):\nthe metrics that differ, the summed stage seconds and the params that "
        "differ,\nsorted by a metric (equal values: by rmse, mae, mape), the best experiment "
        "(--best)\nmarked with ★. Failed or queued experiments are listed last. A table wider "
        "than the\nterminal is printed as two: metrics, then params.",
        epilog="examples:\n"
        "  features-pipeline compare --sort-by r2\n"
        '  features-pipeline compare --md >> "$GITHUB_STEP_SUMMARY"\n'
        '  dvc exp apply "$(features-pipeline compare --best)"',
    )
    compare.add_argument(
        "--sort-by",
        default=DEFAULT_SORT,
        help="metric to sort by (name; file.name with --all-metrics)",
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
        type=positive,
        default=3,
        help="show the last NUM commits from HEAD and their experiments",
    )
    scope.add_argument(
        "-A", "--all-commits", action="store_true", help="show every commit and its experiments"
    )
    compare.add_argument(
        "--metrics-file", default=DEFAULT_METRICS_FILE, help="metrics file to show"
    )
    compare.add_argument(
        "--all-metrics",
        action="store_true",
        help="metrics of every metrics file, named file.key (e.g. train.cv.rmse_mean)",
    )
    add_verbosity_arguments(compare, SUBCOMMAND)


def add_doctor(commands: Commands) -> None:
    """``doctor``: find (and repair) what a killed run left behind."""
    doctor = subcommand(
        commands,
        "doctor",
        "find and repair what a killed run left: DVC lock, temp files, outputs vs dvc.lock",
        description="Check the project for what a killed run can leave behind and repair it: "
        "an unreadable\ndvc.lock (restored from git HEAD), an empty or corrupt .dvc/tmp/rwlock "
        "with no DVC\nprocess running (removed), stray temp files of dead writers (swept), "
        "outputs that\ndiffer from dvc.lock (dvc checkout from the DVC cache; an output whose "
        "dvc.lock version is\nnot cached is kept as found). One line per finding, then a summary.",
    )
    doctor.add_argument(
        "--check",
        action="store_true",
        help="only report; exit 1 when something is wrong",
    )
    add_verbosity_arguments(doctor, SUBCOMMAND)


def add_dataset(commands: Commands) -> None:
    """``dataset infer``: draft a dataset contract from a CSV."""
    dataset = subcommand(commands, "dataset", "the dataset contract (config/dataset.yaml)")
    actions = dataset.add_subparsers(dest="action", metavar="ACTION", required=True)
    infer = subcommand(
        actions,
        "infer",
        "print a draft dataset contract for a CSV (types, date formats, key, target)",
        description="Read the first rows of a CSV and print a draft dataset contract (YAML) "
        "on stdout:\ncolumn types, date formats, empty cells, a unique key, the date that "
        "orders rows and a\ntarget. Guesses that may be wrong are marked '# check'. Save it "
        "(e.g. > config/my.yaml),\nedit it, then set dataset.contract in params.yaml.",
    )
    infer.add_argument("csv", type=Path, help="the CSV file to describe")
    infer.add_argument("--name", default=None, help="dataset name (default: the file's stem)")
    infer.add_argument(
        "--target", default=None, help="the column to predict (default: the last numeric one)"
    )
    infer.add_argument("--rows", type=positive, default=10_000, help="rows read to infer the types")
    add_verbosity_arguments(infer, SUBCOMMAND)


def add_params(commands: Commands) -> None:
    """``params check``: the YAML files DVC reads before any stage, checked in a moment."""
    params = subcommand(commands, "params", "the params files (params.yaml and those it names)")
    actions = params.add_subparsers(dest="action", metavar="ACTION", required=True)
    check = subcommand(
        actions,
        "check",
        "check the YAML files DVC reads before any stage runs (run it before dvc repro)",
        description="Read params.yaml, dvc.yaml and every params file dvc.yaml declares (the "
        "dataset contract,\nthe feature spec) as the stages do, in well under a second. Before "
        "any stage runs, DVC\nparses these files itself, YAML aliases expanded: an alias bomb "
        "costs it minutes and\ngigabytes. Refused here: aliases adding more than 1,000 nodes, "
        "nesting deeper than 100\nlevels, files over 1 MiB, duplicate keys, invalid YAML, "
        "unknown params sections.",
    )
    add_common_arguments(check, SUBCOMMAND)


def add_cluster(commands: Commands) -> None:
    """``cluster pack``: the archive of what Spark executors import, for a cluster."""
    cluster = subcommand(commands, "cluster", "running on a Spark cluster")
    actions = cluster.add_subparsers(dest="action", metavar="ACTION", required=True)
    pack = subcommand(
        actions,
        "pack",
        "pack the project and the libraries executors import (cached by content)",
        description="Build (or find in the cache) the .tar.gz a cluster's executors need: this "
        "project and the\nlibraries its Spark functions import, as installed here. Stages on a "
        "cluster master or a\nSpark Connect server on a cluster ship it themselves "
        "(engine.spark.ship_code); this prints\nits path, size and the Spark settings that ship "
        "it, e.g. for spark-defaults.conf.",
    )
    add_verbosity_arguments(pack, SUBCOMMAND)


def add_init(commands: Commands) -> None:
    """``init CSV --target COLUMN``: a complete, screened set-up from the data alone."""
    init = subcommand(
        commands,
        "init",
        "write a dataset contract, a screened feature spec, model inputs and gates for a CSV",
        description="From a CSV under data/raw/ alone, write its dataset contract "
        "(config/<name>_dataset.yaml),\na feature spec proposed from the column roles and "
        "screened by cross-validation\n(config/<name>_features.yaml), and point params.yaml at "
        "them: ingest.source,\ndataset.contract, features.spec, train.features, "
        "train.model.name: auto and\nevaluate.gates derived from a cross-validated baseline "
        "(other keys and comments kept).\nThen run `dvc repro`. Guesses to check are marked "
        "'# check' with their evidence.",
        epilog="example:\n  cp ~/Downloads/orders.csv data/raw/\n"
        "  features-pipeline init data/raw/orders.csv --target Profit\n  dvc repro",
    )
    init.add_argument("csv", type=Path, help="the CSV file, under data/raw/")
    init.add_argument("--target", required=True, help="the numeric column to predict")
    add_verbosity_arguments(init)


def package_version() -> str:
    """The installed version of features-pipeline (``unknown`` from a bare source tree)."""
    try:
        return version("features-pipeline")
    except PackageNotFoundError:  # pragma: no cover - running from a source tree
        return "unknown"


def build_parser() -> argparse.ArgumentParser:
    """The ``features-pipeline`` parser with every subcommand."""
    parser = argparse.ArgumentParser(
        prog=PROG, description=DESCRIPTION, epilog=EPILOG, formatter_class=HelpFormatter
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {package_version()}")
    add_verbosity_arguments(parser)  # also after the subcommand: features-pipeline compare -v
    commands = parser.add_subparsers(
        dest="command", required=True, metavar="COMMAND", title="commands"
    )
    add_stages(commands)
    add_predict(commands)
    add_compare(commands)
    add_doctor(commands)
    add_dataset(commands)
    add_params(commands)
    add_init(commands)
    add_cluster(commands)
    return parser
