"""The code Spark executors run, packed for a cluster: the project and the libraries its
``mapInArrow`` functions import (polars, pyarrow, numpy, scikit-learn, ...), copied from this
environment (the versions the driver runs, pinned by ``requirements/all.txt``) into one
``.tar.gz`` that Spark unpacks on each executor (``spark.archives`` on a master, an archive
artifact on Spark Connect). pyspark and py4j are not packed: every Spark ships its own.

The executors run ``fp_env/bin/python``, a small launcher in the archive that puts its
``site`` folder first on ``PYTHONPATH`` and starts the executor's own ``python3`` (or
``$PYSPARK_PYTHON``), which must be the driver's Python version (compiled wheels are
version-specific); a different one stops the task with one line saying so.

The archive is built once per content: its name is a hash of the Python version, the packed
distributions' names and versions, and the project's source files, in the user's cache folder
(``$XDG_CACHE_HOME/features-pipeline/spark``, else ``~/.cache/...``). ``features-pipeline cluster
pack`` builds it ahead of time and prints the settings that ship it.
"""

from __future__ import annotations

import hashlib
import importlib.metadata as metadata
import io
import json
import os
import subprocess
import sys
import tarfile
import tempfile
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

ALIAS = "fp_env"  # the folder Spark unpacks the archive into, in each executor's work folder
LAUNCHER = f"{ALIAS}/bin/python"  # relative to that work folder: what executors run
PROJECT = "features_pipeline"
# what executors import: the project modules whose functions run there (mapInArrow; named from
# the package: this process does not import them for packing, a subprocess does), the
# scikit-learn modules of a pickled pipeline, and pyarrow (pyspark's Arrow batches)
PROJECT_MODULES = (
    "model.cluster",
    "model.sampling",
    "ingest.spark_split",
    "predict.spark",
    "model.pipeline",
    "model.least_squares",
)
LIBRARY_MODULES = (
    "sklearn.pipeline",
    "sklearn.compose",
    "sklearn.preprocessing",
    "sklearn.impute",
    "sklearn.linear_model",
    "sklearn.ensemble",
    "pyarrow",
)
EXECUTOR_MODULES = (*(f"{PROJECT}.{name}" for name in PROJECT_MODULES), *LIBRARY_MODULES)
# files an executor never needs: test suites, C headers and Cython sources, type stubs
SKIPPED_FOLDERS = frozenset({"__pycache__", "tests", "include"})
SKIPPED_SUFFIXES = frozenset({".pyc", ".pyi", ".pxd", ".pyx", ".h", ".hpp", ".c", ".cpp"})
NOT_PACKED = frozenset({"pyspark", "py4j", "pip", "setuptools", "wheel"})  # Spark ships py4j
LAUNCHER_SCRIPT = """#!/bin/sh
# features-pipeline's executor Python: this archive's site folder first, then the executor's own
here="$(cd "$(dirname "$0")/.." && pwd)"
py="${{PYSPARK_PYTHON:-python3}}"
case "$py" in *{alias}/bin/python) py=python3 ;; esac
if ! "$py" -c 'import sys; sys.exit(sys.version_info[:2] != ({major}, {minor}))' 2>/dev/null; then
    echo "features-pipeline: executors need Python {major}.{minor} (the driver's) as python3 or" \\
        "PYSPARK_PYTHON; found: $("$py" --version 2>&1)" >&2
    exit 1
fi
PYTHONPATH="$here/site${{PYTHONPATH:+:$PYTHONPATH}}" exec "$py" "$@"
"""


@dataclass(frozen=True)
class Packed:
    """A built archive and how long building it took (0 when it came from the cache)."""

    path: Path
    seconds: float
    bytes: int


def cache_folder() -> Path:
    """Where archives are kept: ``$XDG_CACHE_HOME/features-pipeline/spark`` or ``~/.cache/...``."""
    root = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(root) / "features-pipeline" / "spark"


def imported_top_modules(modules: Iterable[str]) -> list[str]:
    """Top-level names of every module a fresh interpreter loads to import ``modules``
    (stdlib left out): what an executor's Python needs."""
    code = (
        "import importlib, json, sys\n"
        f"for name in {list(modules)!r}: importlib.import_module(name)\n"
        "tops = {n.split('.')[0] for n in sys.modules} - set(sys.stdlib_module_names)\n"
        "print(json.dumps(sorted(tops - {'__main__'})))\n"
    )
    run = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=300
    )
    names: list[str] = json.loads(run.stdout.strip().splitlines()[-1])
    return names


def distributions_of(top_modules: Iterable[str]) -> list[metadata.Distribution]:
    """The installed distributions providing ``top_modules`` (without the project, pyspark,
    py4j and packaging tools), sorted by name."""
    owners = metadata.packages_distributions()
    names = {dist for top in top_modules for dist in owners.get(top, []) if top != PROJECT}
    found = {metadata.distribution(name) for name in names}
    kept = [dist for dist in found if canonical(dist.metadata["Name"]) not in NOT_PACKED]
    return sorted(kept, key=lambda dist: canonical(dist.metadata["Name"]))


def canonical(name: str) -> str:
    return name.lower().replace("_", "-")


def project_files() -> list[tuple[Path, str]]:
    """The project package's files (source, data) and their names in the archive."""
    package = Path(__file__).resolve().parents[1]  # features_pipeline/engines/this file
    return [
        (path, f"site/{PROJECT}/{path.relative_to(package).as_posix()}")
        for path in sorted(package.rglob("*"))
        if path.is_file() and "__pycache__" not in path.parts and path.suffix != ".pyc"
    ]


def distribution_files(dist: metadata.Distribution) -> Iterator[tuple[Path, str]]:
    """A distribution's installed files inside site-packages (no scripts, no bytecode)."""
    for entry in dist.files or ():
        if entry.parts[0] == ".." or not needed(entry.parts, entry.suffix):
            continue
        path = Path(str(dist.locate_file(entry)))
        if path.is_file():
            yield path, f"site/{entry.as_posix()}"


def needed(parts: tuple[str, ...], suffix: str) -> bool:
    """Whether an executor may need this installed file (not a test, header or stub)."""
    return not SKIPPED_FOLDERS.intersection(parts[:-1]) and suffix not in SKIPPED_SUFFIXES


def content_key(dists: Iterable[metadata.Distribution], project: Iterable[Path]) -> str:
    """Hash of the Python version, the packed distributions and the project's file contents."""
    digest = hashlib.sha256(f"{sys.version_info[:2]}\n".encode())
    for dist in dists:
        digest.update(f"{dist.metadata['Name']}=={dist.version}\n".encode())
    for path in project:
        digest.update(path.name.encode() + b"\0" + path.read_bytes())
    return digest.hexdigest()[:20]


def add_bytes(archive: tarfile.TarFile, name: str, data: bytes, mode: int) -> None:
    info = tarfile.TarInfo(name)
    info.size, info.mode = len(data), mode
    archive.addfile(info, io.BytesIO(data))


def write_archive(target: Path, files: Iterable[tuple[Path, str]]) -> None:
    """The launcher and ``files`` as a gzip tar at ``target`` (written aside, then renamed)."""
    launcher = LAUNCHER_SCRIPT.format(
        alias=ALIAS, major=sys.version_info.major, minor=sys.version_info.minor
    )
    target.parent.mkdir(parents=True, exist_ok=True)
    handle, temp = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.", suffix=".tmp")
    try:
        with (
            os.fdopen(handle, "wb") as raw,
            tarfile.open(fileobj=raw, mode="w:gz", compresslevel=1) as archive,
        ):
            add_bytes(archive, "bin/python", launcher.encode(), 0o755)
            for path, name in files:
                archive.add(path, arcname=name, recursive=False)
        Path(temp).chmod(0o644)  # mkstemp's 0600: Spark's file server and executors read it
        Path(temp).replace(target)
    except BaseException:
        Path(temp).unlink(missing_ok=True)
        raise


def executor_archive(folder: Path | None = None) -> Packed:
    """The archive of what executors import, built now unless the cache has this content."""
    import time

    start = time.perf_counter()
    dists = distributions_of(imported_top_modules(EXECUTOR_MODULES))
    project = project_files()
    key = content_key(dists, [path for path, _ in project])
    target = (folder or cache_folder()) / f"executor-env-{key}.tar.gz"
    if target.is_file():
        return Packed(target, 0.0, target.stat().st_size)
    files = [*project, *(item for dist in dists for item in distribution_files(dist))]
    write_archive(target, files)
    return Packed(target, time.perf_counter() - start, target.stat().st_size)


# the Python that runs mapInArrow functions on executors (a runtime SQL setting: classic
# sessions and Spark Connect alike), relative to the executor's work folder
PYTHON_SETTING = "spark.sql.execution.pyspark.python"


def master_settings(archive: Path) -> dict[str, str]:
    """Spark settings shipping ``archive`` to a cluster master's executors."""
    return {"spark.archives": f"{archive.resolve().as_uri()}#{ALIAS}", PYTHON_SETTING: LAUNCHER}
