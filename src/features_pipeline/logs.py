"""Logging through rich: levels from -v/-q or LOG_LEVEL, timed steps with row/column counts."""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Iterator
from contextlib import contextmanager

LOGGER_NAME = "features_pipeline"


def resolve_level(verbosity: int = 0) -> int:
    """-v (1) means DEBUG, -q (-1) WARNING; otherwise LOG_LEVEL or INFO."""
    if verbosity > 0:
        return logging.DEBUG
    if verbosity < 0:
        return logging.WARNING
    name = os.environ.get("LOG_LEVEL", "INFO").upper()
    level = logging.getLevelName(name)
    return level if isinstance(level, int) else logging.INFO


def setup_logging(verbosity: int = 0, stage: str | None = None) -> logging.Logger:
    """Configure the package logger once, with rich's handler on stderr."""
    from rich.console import Console
    from rich.logging import RichHandler

    logger = logging.getLogger(LOGGER_NAME)
    logger.handlers.clear()
    handler = RichHandler(
        console=Console(stderr=True),
        show_path=False,
        rich_tracebacks=True,
        log_time_format="[%X]",
    )
    prefix = f"{stage}: " if stage else ""
    handler.setFormatter(logging.Formatter(f"{prefix}%(message)s"))
    logger.addHandler(handler)
    logger.setLevel(resolve_level(verbosity))
    logger.propagate = False
    return logger


def get_logger(name: str) -> logging.Logger:
    """A child of the package logger."""
    return logging.getLogger(f"{LOGGER_NAME}.{name.removeprefix(LOGGER_NAME + '.')}")


@contextmanager
def timed(logger: logging.Logger, step: str, **fields: object) -> Iterator[dict[str, object]]:
    """Log ``step{k=v ...} took N s``; the caller may add fields (e.g. rows) to the yielded dict."""
    extra: dict[str, object] = dict(fields)
    start = time.perf_counter()
    yield extra
    seconds = time.perf_counter() - start
    described = " ".join(f"{key}={value}" for key, value in extra.items())
    logger.info("%s{%s} took %.3f s", step, described, seconds)
