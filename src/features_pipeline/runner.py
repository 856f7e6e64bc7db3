"""Shared entry point of the stage scripts: arguments, logging, and errors for people."""

from __future__ import annotations

import argparse
import hashlib
import json
import logging
import os
import sys
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path

from features_pipeline.contracts import paths
from features_pipeline.contracts.paths import DEFAULT_PARAMS, TIMING_DIR, timing_path
from features_pipeline.errors import UserError
from features_pipeline.logs import setup_logging

EXIT_OK = 0
EXIT_USER_ERROR = 1
EXIT_USAGE = 2  # argparse's exit code for a bad command line
SHOWN_FAILURES = 10

StageFacts = Mapping[str, int | float | str]
# A stage body may return facts about its work (e.g. rows, cols) for its timing file.
StageBody = Callable[[argparse.Namespace], StageFacts | None]


def stage_parser(name: str, description: str) -> argparse.ArgumentParser:
    """The arguments every stage accepts."""
    parser = argparse.ArgumentParser(
        prog=f"{name}",
        description=description,
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    add_common_arguments(parser)
    return parser


def add_common_arguments(parser: argparse.ArgumentParser, verbosity: object = 0) -> None:
    """``--params``, ``-v`` and ``-q``: the same for the stage scripts and the CLI."""
    parser.add_argument("--params", type=Path, default=DEFAULT_PARAMS, help="params file")
    add_verbosity_arguments(parser, verbosity)


def add_verbosity_arguments(parser: argparse.ArgumentParser, default: object = 0) -> None:
    """``-v`` (debug, tracebacks) and ``-q`` (warnings and errors only); else ``LOG_LEVEL``.

    ``default``: 0, or ``argparse.SUPPRESS`` on a subcommand, so that ``-v`` given before the
    subcommand (to the top-level parser, default 0) is not overwritten by the subcommand's."""
    group = parser.add_mutually_exclusive_group()
    group.add_argument(
        "-v",
        "--verbose",
        action="store_const",
        const=1,
        default=default,
        dest="verbosity",
        help="debug logging (and tracebacks of errors); default level: $LOG_LEVEL or INFO",
    )
    group.add_argument(
        "-q",
        "--quiet",
        action="store_const",
        const=-1,
        default=default,
        dest="verbosity",
        help="warnings and errors only, no progress bars",
    )


Digests = list[dict[str, str]]


def output_digests(outputs: Sequence[Path]) -> Digests:
    """``{"path", "sha256"}`` of each existing output (a folder: its files' names and bytes)."""
    digests = []
    for output in outputs:
        if not output.exists():
            continue
        files = sorted(p for p in output.rglob("*") if p.is_file()) if output.is_dir() else [output]
        digest = hashlib.sha256()
        for file in files:
            digest.update(file.relative_to(output).as_posix().encode() + b"\0")
            with file.open("rb") as handle:
                digest.update(hashlib.file_digest(handle, "sha256").digest())
        digests.append({"path": output.as_posix(), "sha256": digest.hexdigest()})
    return digests


def timing_is_current(path: Path, digests: Digests) -> bool:
    """True when the timing file ``path`` was written by a run that made these exact outputs."""
    if not digests:
        return False
    try:
        recorded = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return False
    return isinstance(recorded, dict) and recorded.get("outputs") == digests


def write_stage_timing(
    stage: str,
    seconds: float,
    facts: StageFacts | None = None,
    directory: Path = TIMING_DIR,
    digests: Digests | None = None,
) -> Path:
    """Write ``{**facts, "seconds": ..., "outputs": digests}`` to ``metrics/timing/<stage>.json``
    (atomically).

    Wall-clock time is never reproducible, so this file is not a DVC output (dvc.lock does not
    hash it); it is a git-tracked top-level metric, so ``dvc exp show`` shows each experiment's
    stage times. The runner skips the write when the file already records the digests of the
    outputs just made (:func:`timing_is_current`): a re-run that reproduces them (a fresh clone's
    ``dvc repro``, CI's ``dvc repro --force``) keeps the time of the run that made them, so git
    stays clean. ``outputs`` is a list, which DVC never shows as a metric (it shows numbers and
    strings, flattening objects).
    """
    from features_pipeline.io import write_json_atomic

    path = timing_path(stage, directory)
    payload: dict[str, object] = {**dict(facts or {}), "seconds": round(seconds, 3)}
    if digests:
        payload["outputs"] = digests
    write_json_atomic(payload, path)
    return path


def stage_outputs(stage: str) -> list[Path]:
    """The artifacts ``stage`` writes (contracts/paths.py) and its timing file."""
    artifacts = [value for value in vars(paths).values() if isinstance(value, paths.Artifact)]
    return [*(a.path for a in artifacts if a.stage == stage), timing_path(stage)]


def lock_path(stage: str) -> Path:
    """``.<stage>.lock`` in the project root (the working directory of every stage)."""
    return Path(f".{stage}.lock")


@contextmanager
def stage_lock(stage: str, logger: logging.Logger) -> Iterator[None]:
    """Hold an exclusive lock on :func:`lock_path` (waiting for a running ``stage`` to end).

    The kernel releases it when the holder exits, however it exits: no stale locks.
    """
    if sys.platform == "win32":  # no flock: runs are not serialized there
        yield
        return
    import fcntl

    with lock_path(stage).open("a+", encoding="utf-8") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            handle.seek(0)
            holder = handle.read().strip() or "?"
            logger.warning("another %s run (pid %s) is writing its outputs; waiting", stage, holder)
            fcntl.flock(handle, fcntl.LOCK_EX)
        handle.seek(0)
        handle.truncate()
        handle.write(f"{os.getpid()}\n")
        handle.flush()
        yield


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
    """Parse arguments, set up logging, run ``body``; a UserError becomes one line and exit 1.

    ``body`` runs under the stage lock (a second run of the same stage waits for the first),
    after the temp files that killed runs of this stage left are swept (or put back).

    On success the stage's wall-clock time and the facts ``body`` returns (rows, cols) go to
    ``metrics/timing/<name>.json`` (unless its outputs are the bytes that file already records).
    """
    parser = parser or stage_parser(name, description)
    args = parser.parse_args(argv)
    logger = setup_logging(args.verbosity, stage=name)
    from features_pipeline.io import sweep_stale_temps

    with stage_lock(name, logger):
        for output in stage_outputs(name):
            for stale in sweep_stale_temps(output):
                logger.info("removed %s (left by a run that was killed)", stale)
        start = time.perf_counter()
        try:
            facts = body(args)
        except UserError as error:
            if logger.isEnabledFor(logging.DEBUG):
                logger.exception("user error")
            report_user_error(error)
            return EXIT_USER_ERROR
        seconds = time.perf_counter() - start
        digests = output_digests([p for p in stage_outputs(name) if p.parent != TIMING_DIR])
        path = timing_path(name)
        kept = timing_is_current(path, digests)
        if not kept:
            write_stage_timing(name, seconds, facts, digests=digests)
    described = " ".join(f"{key}={value}" for key, value in (facts or {}).items())
    where = f"same outputs as the run {path} times" if kept else str(path)
    logger.info("stage %s{%s} took %.3f s (%s)", name, described, seconds, where)
    return EXIT_OK


def main_for(name: str, body: StageBody, description: str) -> None:
    """``sys.exit(run_stage(...))`` for a stage script's ``__main__`` block."""
    sys.exit(run_stage(name, body, description))
