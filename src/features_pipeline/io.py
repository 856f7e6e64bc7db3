"""Atomic writes: a temp file in the target folder, then a rename, so no half-written outputs.

Temp names carry the writer's pid (``.<name>.<pid>.tmp``, a replaced folder's old copy
``.<name>.<pid>.old``): concurrent writers never share one, and :func:`sweep_stale_temps` removes
those of dead processes only (git- and DVC-ignored meanwhile).
"""

from __future__ import annotations

import ctypes
import json
import os
import re
import shutil
import sys
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import polars as pl

TEMP = "tmp"  # a file or folder being written
OLD = "old"  # a replaced folder's previous copy, kept until the new one is in place
_TEMP_NAME = re.compile(rf"^\.(?P<name>.+)\.(?P<pid>[0-9]+)\.(?P<kind>{TEMP}|{OLD})$")
_AT_FDCWD = -100
_RENAME_EXCHANGE = 2  # renameat2 flag (Linux): swap two paths atomically


def _current_umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def temp_path(target: Path, kind: str = TEMP) -> Path:
    """This process's temp name beside ``target``: ``.<name>.<pid>.tmp`` (or ``.old``)."""
    return target.with_name(f".{target.name}.{os.getpid()}.{kind}")


def pid_alive(pid: int) -> bool:
    """True if process ``pid`` exists (another user's process counts as alive)."""
    if pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _process_started(pid: int) -> float | None:
    """When process ``pid`` started, in epoch seconds (Linux ``/proc``; None elsewhere or once it
    is gone). ``btime`` is whole seconds: the result may be up to a second early."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text(encoding="ascii")
        boot = next(
            int(line.split()[1])
            for line in Path("/proc/stat").read_text(encoding="ascii").splitlines()
            if line.startswith("btime ")
        )
        ticks = int(stat.rsplit(")", 1)[1].split()[19])  # field 22, starttime, counted after comm
    except (OSError, StopIteration, ValueError, IndexError):
        return None
    return boot + ticks / os.sysconf("SC_CLK_TCK")


def writer_alive(pid: int, temp: Path) -> bool:
    """Whether the process that wrote ``temp`` (named with its ``pid``) may still be running: the
    pid exists and its process started before ``temp`` last changed. PIDs wrap (32,768 by default;
    CI reuses them within minutes): a newer process that got the pid is not the writer, and its
    temp is stale."""
    if not pid_alive(pid):
        return False
    started = _process_started(pid)
    if started is None:
        return True
    try:
        changed = temp.lstat().st_mtime
    except OSError:
        return False
    return started <= changed + 1.0  # the second btime may lose


def _remove(path: Path) -> None:
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path, ignore_errors=True)
    else:
        path.unlink(missing_ok=True)


def _temp_of(name: str, target: Path) -> bool:
    """Whether a temp named for ``name`` belongs to ``target``: its own, or a helper's that its
    writer keeps beside it (``<target>.<helper>``, e.g. ``features.parquet.parts``)."""
    return name == target.name or name.startswith(f"{target.name}.")


def sweep_stale_temps(target: Path) -> list[Path]:
    """Remove the temps of ``target`` (and its helpers') left by dead processes; returns what was
    removed.

    An ``.old`` copy of a dead process whose ``target`` is missing (killed between the two
    renames of :func:`replace_dir`) is the last complete version: it is renamed back instead.
    Temps of live writers are kept (:func:`writer_alive`: not those of a reused pid).
    """
    folder = target.parent
    if not folder.is_dir():
        return []
    removed: list[Path] = []
    for entry in sorted(folder.iterdir()):
        match = _TEMP_NAME.match(entry.name)
        if (
            match is None
            or not _temp_of(match["name"], target)
            or writer_alive(int(match["pid"]), entry)
        ):
            continue
        if match["kind"] == OLD and match["name"] == target.name and not os.path.lexists(target):
            try:
                entry.rename(target)
                continue
            except OSError:  # another process recovered it first
                pass
        _remove(entry)
        removed.append(entry)
    return removed


@contextmanager
def atomic_path(target: Path) -> Iterator[Path]:
    """Yield a temp path beside ``target``; rename it onto ``target`` only if the block succeeds."""
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = temp_path(target)
    os.close(os.open(tmp, os.O_CREAT | os.O_WRONLY | os.O_TRUNC, 0o600))
    try:
        yield tmp
        os.chmod(tmp, 0o666 & ~_current_umask())
        if target.is_dir() and not target.is_symlink():  # e.g. a Spark table's manifest folder
            replace_dir(tmp, target)
        else:
            os.replace(tmp, target)
    finally:
        _remove(tmp)


def _exchange(first: Path, second: Path) -> bool:
    """Swap two existing paths in one atomic step (Linux ``renameat2``); False if unsupported."""
    if not sys.platform.startswith("linux"):
        return False
    renameat2 = getattr(ctypes.CDLL(None, use_errno=True), "renameat2", None)
    if renameat2 is None:
        return False
    renameat2.argtypes = [
        ctypes.c_int,
        ctypes.c_char_p,
        ctypes.c_int,
        ctypes.c_char_p,
        ctypes.c_uint,
    ]
    args = (_AT_FDCWD, os.fsencode(first), _AT_FDCWD, os.fsencode(second), _RENAME_EXCHANGE)
    return bool(renameat2(*args) == 0)  # else unsupported here: the caller falls back


def replace_dir(staging: Path, target: Path) -> None:
    """Put the complete folder ``staging`` in place of ``target``; there is always a ``target``.

    One atomic swap where the system has it (the old copy is then at ``staging`` and removed);
    else ``target`` -> ``.<name>.<pid>.old``, ``staging`` -> ``target``, old removed: a kill
    in between is repaired by the next :func:`sweep_stale_temps`.
    """
    if not os.path.lexists(target):
        os.rename(staging, target)
        return
    if _exchange(staging, target):
        _remove(staging)
        return
    old = temp_path(target, OLD)
    _remove(old)
    os.rename(target, old)
    try:
        os.rename(staging, target)
    except BaseException:
        os.rename(old, target)
        raise
    _remove(old)


@contextmanager
def atomic_dir(target: Path) -> Iterator[Path]:
    """Yield an empty staging folder beside ``target``; it replaces ``target`` whole only if
    the block succeeds (see :func:`replace_dir`)."""
    staging = temp_path(target)
    _remove(staging)
    staging.mkdir(parents=True)
    try:
        yield staging
        replace_dir(staging, target)
    finally:
        _remove(staging)


def write_atomic(target: Path, write: Callable[[Path], object]) -> None:
    """Run ``write(tmp_path)`` and move the result onto ``target`` atomically."""
    with atomic_path(target) as tmp:
        write(tmp)


# zstd level 1: at 5M rows x 34 columns it writes in 1.8 s instead of level 3's 2.8 s (2 cores),
# for a file 17 % bigger; reading takes the same time (benchmarks/README.md, "5M end to end")
PARQUET_COMPRESSION: dict[str, Any] = {"compression": "zstd", "compression_level": 1}


def write_parquet_atomic(frame: pl.DataFrame, target: Path) -> None:
    """Write a parquet file deterministically (fixed compression, no timestamps) and atomically."""
    write_atomic(
        target, lambda tmp: frame.write_parquet(tmp, statistics=True, **PARQUET_COMPRESSION)
    )


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


# Row groups of pieces appended to a parquet file: DuckDB's own size. A reader holds a row group
# per thread: 50M rows, validate on DuckDB in 3GB ran out of memory on 625k-row groups.
ROW_GROUP_ROWS = 122_880


def append_pieces(pieces: Iterable[pl.DataFrame], target: Path) -> int:
    """Each piece appended to the parquet file ``target`` (zstd, row groups of at most
    :data:`ROW_GROUP_ROWS`), one piece in memory at a time; returns the columns (0: no piece)."""
    import pyarrow.parquet as pq  # type: ignore[import-untyped]

    writer, cols = None, 0
    try:
        for piece in pieces:
            arrow = piece.to_arrow()
            writer = writer or pq.ParquetWriter(target, arrow.schema, compression="zstd")
            writer.write_table(arrow, row_group_size=ROW_GROUP_ROWS)
            cols = piece.width
            del piece, arrow  # freed before the next piece is made, not after
    finally:
        if writer is not None:
            writer.close()
    return cols


def parquet_batches(
    path: Path, rows: int, columns: Sequence[str] | None = None
) -> Iterator[pl.DataFrame]:
    """The parquet file at ``path`` (``columns`` of it, default all) ``rows`` rows at a time.

    Not pre-buffered: pyarrow's default reads ahead and keeps every column chunk it read until
    the file is closed (issue 23: 8M rows, resident 288 -> 620 MB over one pass of 20 columns;
    without, 25 MB allocated at the end)."""
    import pyarrow.parquet as pq

    reader = pq.ParquetFile(path, pre_buffer=False)
    selected = None if columns is None else list(columns)
    for batch in reader.iter_batches(batch_size=rows, columns=selected):
        frame = pl.from_arrow(batch)
        assert isinstance(frame, pl.DataFrame)
        yield frame
