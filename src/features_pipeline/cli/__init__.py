"""The ``features-pipeline`` command: stage runners and tools, sharing the stages' functions.

:mod:`.parser` builds the command line, :mod:`.commands` holds the subcommand bodies.
Exit codes: 0 ok, 1 user error (bad data, config, params), 2 usage error (bad command line).
"""

from __future__ import annotations

import sys
from collections.abc import Sequence

from features_pipeline.cli.commands import run
from features_pipeline.cli.parser import build_parser

EXIT_INTERRUPTED = 130

__all__ = ["EXIT_INTERRUPTED", "build_parser", "main"]


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the console script; returns the exit code (0 ok, 1 user error, 2 usage)."""
    args = build_parser().parse_args(argv)  # a usage error exits 2 here
    try:
        return run(args)
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED
