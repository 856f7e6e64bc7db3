"""Shared entry point of the stage scripts: arguments, logging, and errors for people."""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Callable, Sequence
from pathlib import Path

from features_pipeline.errors import UserError
from features_pipeline.logs import setup_logging

EXIT_OK = 0
EXIT_USER_ERROR = 1
SHOWN_FAILURES = 10

StageBody = Callable[[argparse.Namespace], None]


def stage_parser(name: str, description: str) -> argparse.ArgumentParser:
    """The arguments every stage accepts."""
    parser = argparse.ArgumentParser(
        prog=f"{name}",
        description=description,
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    parser.add_argument("--params", type=Path, default=Path("params.yaml"), help="params file")
    parser.add_argument(
        "-v", "--verbose", action="store_const", const=1, default=0, dest="verbosity"
    )
    parser.add_argument("-q", "--quiet", action="store_const", const=-1, dest="verbosity")
    return parser


def report_user_error(error: UserError) -> None:
    """One red line on stderr, and a small table when there are several failure cases."""
    from rich.console import Console
    from rich.table import Table

    console = Console(stderr=True, highlight=False)
    details = error.details
    if details is not None and details.height > 1:
        table = Table(
            title=f"first {min(details.height, SHOWN_FAILURES)} of {details.height} failure cases"
        )
        for column in details.columns:
            table.add_column(column)
        for row in details.head(SHOWN_FAILURES).iter_rows():
            table.add_row(*("" if value is None else str(value) for value in row))
        console.print(table)
    from rich.text import Text

    console.print(Text("error: ", style="bold red") + Text(error.message), soft_wrap=True)


def run_stage(
    name: str,
    body: StageBody,
    description: str,
    argv: Sequence[str] | None = None,
    parser: argparse.ArgumentParser | None = None,
) -> int:
    """Parse arguments, set up logging, run ``body``; a UserError becomes one line and exit 1."""
    parser = parser or stage_parser(name, description)
    args = parser.parse_args(argv)
    logger = setup_logging(args.verbosity, stage=name)
    try:
        body(args)
    except UserError as error:
        if logger.isEnabledFor(logging.DEBUG):
            logger.exception("user error")
        report_user_error(error)
        return EXIT_USER_ERROR
    return EXIT_OK


def main_for(name: str, body: StageBody, description: str) -> None:
    """``sys.exit(run_stage(...))`` for a stage script's ``__main__`` block."""
    sys.exit(run_stage(name, body, description))
