"""Atomic writes: a temp file in the target folder, then a rename, so no half-written outputs."""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import polars as pl


def _current_umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


@contextmanager
def atomic_path(target: Path) -> Iterator[Path]:
    """Yield a temp path beside ``target``; rename it onto ``target`` only if the block succeeds."""
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
    os.close(fd)
    tmp = Path(tmp_name)
    try:
        yield tmp
        os.chmod(tmp, 0o666 & ~_current_umask())
        os.replace(tmp, target)
    finally:
        tmp.unlink(missing_ok=True)


def write_atomic(target: Path, write: Callable[[Path], object]) -> None:
    """Run ``write(tmp_path)`` and move the result onto ``target`` atomically."""
    with atomic_path(target) as tmp:
        write(tmp)


def write_parquet_atomic(frame: pl.DataFrame, target: Path) -> None:
    """Write a parquet file deterministically (fixed compression, no timestamps) and atomically."""
    write_atomic(target, lambda tmp: frame.write_parquet(tmp, compression="zstd", statistics=True))


def write_csv_atomic(frame: pl.DataFrame, target: Path) -> None:
    """Write a CSV file atomically."""
    write_atomic(target, lambda tmp: frame.write_csv(tmp))


def write_text_atomic(text: str, target: Path) -> None:
    """Write UTF-8 text atomically."""
    write_atomic(target, lambda tmp: tmp.write_text(text, encoding="utf-8"))


def write_json_atomic(payload: Any, target: Path) -> None:
    """Write pretty, key-sorted JSON atomically."""
    write_text_atomic(
        json.dumps(payload, indent=2, sort_keys=True, ensure_ascii=False) + "\n", target
    )
