"""``features-pipeline params check``: the YAML files DVC parses before any stage runs, read
with the stages' own reader (:func:`~features_pipeline.contracts.params.load_yaml`).

Before ``dvc repro`` (or ``dvc exp run``, ``dvc status``) runs a stage, DVC reads ``dvc.yaml``,
then ``params.yaml`` (to resolve the ``${...}`` in ``dvc.yaml``), then every params file a stage
declares (the dataset contract, the feature spec), each expanded whole. A YAML alias bomb ("billion
laughs") in one of them costs DVC minutes and gigabytes before it aborts, where the stages refuse
it at once. This check reads the same files with the same limits as the stages (aliases may add
at most :data:`~features_pipeline.contracts.params.MAX_ALIAS_NODES` nodes, nesting at most
:data:`~features_pipeline.contracts.params.MAX_YAML_DEPTH` levels, at most
:data:`~features_pipeline.contracts.params.MAX_YAML_BYTES` per file, no duplicate keys): it
measures aliases without expanding them, so a bomb is refused in milliseconds.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from features_pipeline.contracts.params import (
    MAX_ALIAS_NODES,
    MAX_YAML_BYTES,
    MAX_YAML_DEPTH,
    load_yaml,
    read_params,
)
from features_pipeline.contracts.paths import PROJECT_FILE

VARIABLE = re.compile(r"\$\{\s*([^}]+?)\s*\}")  # dvc.yaml's ${a.b} interpolation
YAML_SUFFIXES = (".yaml", ".yml")
LIMITS = (
    f"aliases add at most {MAX_ALIAS_NODES:,} nodes, nesting at most {MAX_YAML_DEPTH} levels, "
    f"at most {MAX_YAML_BYTES // 1024:,} KiB per file, no duplicate keys"
)


def lookup(params: Mapping[str, Any], dotted: str) -> Any:
    """The value at ``a.b.c`` of nested mappings (None when a part is missing)."""
    value: Any = params
    for part in dotted.split("."):
        value = value.get(part) if isinstance(value, Mapping) else None
    return value


def resolve(text: str, params: Mapping[str, Any]) -> str | None:
    """``text`` with each ``${a.b}`` replaced by its value in ``params`` (None when one is not
    a string: DVC reports that itself)."""
    values = [lookup(params, name) for name in VARIABLE.findall(text)]
    if not all(isinstance(value, str) for value in values):
        return None
    replacements = iter(values)
    return VARIABLE.sub(lambda _match: next(replacements), text)


def declared_params_files(pipeline: Mapping[str, Any], params: Mapping[str, Any]) -> list[str]:
    """The YAML files ``dvc.yaml``'s stages declare as params files (``- file.yaml:`` entries,
    ``${...}`` resolved from ``params``), in order of first mention."""
    files: list[str] = []
    stages = pipeline.get("stages")
    for stage in stages.values() if isinstance(stages, Mapping) else ():
        entries = stage.get("params") if isinstance(stage, Mapping) else None
        for entry in entries if isinstance(entries, list) else ():
            for name in entry if isinstance(entry, Mapping) else ():
                file = resolve(str(name), params)
                if file is not None and file.endswith(YAML_SUFFIXES) and file not in files:
                    files.append(file)
    return files


def check_project(params_path: Path) -> list[Path]:
    """Read ``params_path``, ``dvc.yaml`` and the params files it declares (paths relative to
    the working directory: the project root, as for the stages) as the stages do; the paths
    read, or a UserError naming the first that fails."""
    params = read_params(params_path)
    pipeline = load_yaml(Path(PROJECT_FILE))
    checked = [params_path, Path(PROJECT_FILE)]
    for name in declared_params_files(pipeline, params.raw):
        path = Path(name)
        if path not in checked:
            load_yaml(path)
            checked.append(path)
    return checked
