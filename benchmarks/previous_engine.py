"""The feature engine as it was before the multi-engine change (pure Polars, commit 6f03bec),
importable beside today's package for side-by-side benchmarks.

Both versions are the package ``features_pipeline``, so the old one is extracted from git
(``git archive``) and renamed: every ``features_pipeline`` in its ``.py`` files becomes
``features_pipeline_previous``. Nothing else changes, so it is the old code, run in the same
process on the same in-memory frame as today's engine; the two can then be timed round by round,
alternately (a subprocess would add a parquet hand-over and could not interleave as finely).
"""

from __future__ import annotations

import importlib
import io
import re
import subprocess
import sys
import tarfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import polars as pl

REPO = Path(__file__).resolve().parents[1]
PREVIOUS_COMMIT = "6f03bec"
PACKAGE = "features_pipeline"
RENAMED = "features_pipeline_previous"


@dataclass(frozen=True)
class PreviousEngine:
    """The previous engine's entry points (``fit_transform(frame, plan, mode)``)."""

    commit: str
    load_plan: Callable[..., Any]
    fit_transform: Callable[..., tuple[pl.DataFrame, Any]]
    write_parquet_atomic: Callable[[pl.DataFrame, Path], None]

    def run_file(self, source: Path, target: Path, plan: Any) -> tuple[int, int]:
        """The previous features stage's work: read the parquet, compute, write the parquet."""
        features, _ = self.fit_transform(pl.read_parquet(source), plan)
        self.write_parquet_atomic(features, target)
        shape: tuple[int, int] = features.shape
        return shape


def extract(root: Path, commit: str = PREVIOUS_COMMIT) -> Path:
    """``src/features_pipeline`` of ``commit`` as the package ``RENAMED`` under ``root``."""
    archive = subprocess.run(
        ["git", "-C", str(REPO), "archive", commit, f"src/{PACKAGE}"],
        check=True,
        capture_output=True,
    ).stdout
    with tarfile.open(fileobj=io.BytesIO(archive)) as tar:
        tar.extractall(root, filter="data")
    package = root / RENAMED
    (root / "src" / PACKAGE).rename(package)
    word = re.compile(rf"\b{PACKAGE}\b")
    for path in package.rglob("*.py"):
        path.write_text(word.sub(RENAMED, path.read_text(encoding="utf-8")), encoding="utf-8")
    return root


def load(root: Path, commit: str = PREVIOUS_COMMIT) -> PreviousEngine:
    """Extract the previous engine under ``root`` (once) and import it."""
    if not (root / RENAMED).is_dir():
        extract(root, commit)
    if str(root) not in sys.path:
        sys.path.insert(0, str(root))
    engine = importlib.import_module(f"{RENAMED}.features.engine")
    plan = importlib.import_module(f"{RENAMED}.features.plan")
    files = importlib.import_module(f"{RENAMED}.io")
    return PreviousEngine(commit, plan.load_plan, engine.fit_transform, files.write_parquet_atomic)
