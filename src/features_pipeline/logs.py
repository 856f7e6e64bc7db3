"""Logging through rich: levels from -v/-q or LOG_LEVEL, timed steps, progress bars on terminals.

- ``setup_logging(verbosity, stage)``: ``[time] LEVEL stage: message`` on stderr, through rich's
  handler on a terminal and as plain lines otherwise (CI logs: no colour, wrapping or padding).
- ``timed(logger, step, rows=..., cols=...)``: logs ``step{rows=10000 cols=14} took 0.123 s``
  (at INFO; ``at=logging.DEBUG`` for a detail span).
- ``span(logger, step, seconds, **fields)``: the same line for a step timed elsewhere, at DEBUG
  (``-v`` or ``LOG_LEVEL=debug``): one per feature, learned table and CV fold.
- ``progress(description, total)`` / ``track(iterable, description)`` / ``status(description)``:
  rich progress bars and spinners, shown only on an interactive stderr and never under ``-q``,
  so CI logs and redirected output stay clean.
"""

from __future__ import annotations

import logging
import os
import sys
import time
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, TypeVar

if TYPE_CHECKING:
    from rich.console import Console

LOGGER_NAME = "features_pipeline"
LOG_LEVEL_ENV = "LOG_LEVEL"
PLAIN_WIDTH = 160  # rich output width when stderr is not a terminal (no wrapping at 80)
PLAIN_FORMAT = "[%(asctime)s] %(levelname)-8s {prefix}%(message)s"
TIME_FORMAT = "%H:%M:%S"

T = TypeVar("T")
Advance = Callable[[float], None]
_shared: dict[str, Console] = {}  # the logging console, shared by progress bars (no garbling)


def resolve_level(verbosity: int = 0) -> int:
    """-v (1) means DEBUG, -q (-1) WARNING; otherwise LOG_LEVEL or INFO."""
    if verbosity > 0:
        return logging.DEBUG
    if verbosity < 0:
        return logging.WARNING
    name = os.environ.get(LOG_LEVEL_ENV, "INFO").upper()
    level = logging.getLevelName(name)
    return level if isinstance(level, int) else logging.INFO


def stderr_console() -> Console:
    """A rich console on stderr; off a terminal it is wide, so log lines do not wrap at 80."""
    from rich.console import Console

    console = Console(stderr=True)
    if not console.is_terminal and "COLUMNS" not in os.environ:
        console = Console(stderr=True, width=PLAIN_WIDTH)
    return console


def setup_logging(verbosity: int = 0, stage: str | None = None) -> logging.Logger:
    """Configure the package logger: rich's handler on a terminal, plain lines otherwise."""
    from rich.logging import RichHandler

    logger = logging.getLogger(LOGGER_NAME)
    logger.handlers.clear()
    console = _shared["console"] = stderr_console()
    prefix = f"{stage}: " if stage else ""
    handler: logging.Handler
    if console.is_terminal:
        handler = RichHandler(
            console=console, show_path=False, rich_tracebacks=True, log_time_format="[%X]"
        )
        handler.setFormatter(logging.Formatter(f"{prefix}%(message)s"))
    else:
        handler = logging.StreamHandler(_StderrProxy())
        handler.setFormatter(logging.Formatter(PLAIN_FORMAT.format(prefix=prefix), TIME_FORMAT))
    logger.addHandler(handler)
    logger.setLevel(resolve_level(verbosity))
    logger.propagate = False
    return logger


class _StderrProxy:
    """Writes to the current ``sys.stderr`` (which tests and rich may swap after setup)."""

    def write(self, text: str) -> int:
        return sys.stderr.write(text)

    def flush(self) -> None:
        sys.stderr.flush()


def get_logger(name: str) -> logging.Logger:
    """A child of the package logger."""
    return logging.getLogger(f"{LOGGER_NAME}.{name.removeprefix(LOGGER_NAME + '.')}")


@contextmanager
def timed(
    logger: logging.Logger, step: str, /, *, at: int = logging.INFO, **fields: object
) -> Iterator[dict[str, object]]:
    """Log ``step{k=v ...} took N s`` at level ``at``; the caller may add fields (e.g. rows) to the
    yielded dict."""
    extra: dict[str, object] = dict(fields)
    start = time.perf_counter()
    yield extra
    span(logger, step, time.perf_counter() - start, at=at, **extra)


def span(
    logger: logging.Logger,
    step: str,
    seconds: float,
    /,
    *,
    at: int = logging.DEBUG,
    **fields: object,
) -> None:
    """Log ``step{k=v ...} took N s`` for a step timed by the caller (DEBUG unless ``at``)."""
    if logger.isEnabledFor(at):
        described = " ".join(f"{key}={_shown(value)}" for key, value in fields.items())
        logger.log(at, "%s{%s} took %.3f s", step, described, seconds)


def _shown(value: object) -> str:
    """A field value on one line: sequences comma-joined, floats to 6 significant digits."""
    if isinstance(value, float):
        return f"{value:.6g}"
    if isinstance(value, tuple | list):
        return ",".join(str(item) for item in value) or "-"
    return str(value)


def progress_enabled(console: Console | None = None) -> bool:
    """Bars only on an interactive stderr, and not when the package logs below INFO (``-q``)."""
    console = console or _shared.get("console") or stderr_console()
    quiet = not logging.getLogger(LOGGER_NAME).isEnabledFor(logging.INFO)
    return console.is_terminal and not console.is_dumb_terminal and not quiet


@contextmanager
def progress(
    description: str, total: float | None = None, console: Console | None = None
) -> Iterator[Advance]:
    """A transient rich progress bar; yields ``advance(n)``. ``total=None``: a spinner.

    Disabled (nothing is drawn, ``advance`` costs a method call) off a terminal and under -q.
    """
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        SpinnerColumn,
        TextColumn,
        TimeElapsedColumn,
        TimeRemainingColumn,
    )

    console = console or _shared.get("console") or stderr_console()
    columns = [SpinnerColumn(), TextColumn("[progress.description]{task.description}")]
    if total is not None:
        columns += [BarColumn(), MofNCompleteColumn(), TimeRemainingColumn()]
    columns.append(TimeElapsedColumn())
    bar = Progress(*columns, console=console, transient=True, disable=not progress_enabled(console))
    with bar:
        task = bar.add_task(description, total=total)

        def advance(amount: float = 1.0) -> None:
            bar.advance(task, amount)

        yield advance


def track(
    items: Iterable[T],
    description: str,
    total: float | None = None,
    console: Console | None = None,
) -> Iterator[T]:
    """Yield ``items`` while a progress bar (``total`` defaults to ``len(items)``) advances."""
    if total is None and hasattr(items, "__len__"):
        total = len(items)  # type: ignore[arg-type]
    with progress(description, total, console) as advance:
        for item in items:
            yield item
            advance(1)


@contextmanager
def status(description: str, console: Console | None = None) -> Iterator[None]:
    """A spinner with elapsed time around one long step (no bar: the work is not chunked)."""
    with progress(description, None, console):
        yield
