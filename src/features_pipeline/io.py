"""Atomic writes: a temp file in the target folder, then a rename, so no half-written outputs."""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import polars as pl

from features_pipeline.errors import UserError


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


def write_atomic(target: Path, write: Callable[[Path], None]) -> None:
    """Run ``write(tmp_path)`` and move the result onto ``target`` atomically."""
    with atomic_path(target) as tmp:
        write(tmp)


def write_parquet_atomic(frame: pl.DataFrame, target: Path) -> None:
    """Write a parquet file deterministically (fixed compression, no timestamps) and atomically."""
    write_atomic(target, lambda tmp: frame.write_parquet(tmp, compression="zstd", statistics=True))


def write_json_atomic(payload: Any, target: Path) -> None:
    """Write pretty, key-sorted JSON atomically."""
    text = json.dumps(payload, indent=2, sort_keys=True, ensure_ascii=False) + "\n"
    write_atomic(target, lambda tmp: tmp.write_text(text, encoding="utf-8"))


def require_input(path: Path, producer: str) -> Path:
    """``path`` if it exists; otherwise a UserError naming the stage that writes it."""
    if not path.exists():
        raise UserError(f"{path}: file not found; run `dvc repro {producer}` first")
    return path


def read_parquet_input(
    path: Path, producer: str, columns: Sequence[str] | None = None
) -> pl.DataFrame:
    """A stage input table (only ``columns`` when given); missing is a UserError."""
    return pl.read_parquet(
        require_input(path, producer), columns=list(columns) if columns else None
    )


def read_json_object(path: Path, producer: str) -> dict[str, Any]:
    """A JSON object written by an earlier stage; missing or malformed is a UserError."""
    try:
        loaded = json.loads(require_input(path, producer).read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise UserError(f"{path}: not valid JSON ({exc})") from None
    if not isinstance(loaded, dict):
        raise UserError(f"{path}: expected a JSON object, got {type(loaded).__name__}")
    return loaded
