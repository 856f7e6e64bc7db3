"""dvc.yaml against the code: each stage's deps, outs and params are what its code imports,
reads, writes and parses, so DVC re-runs a stage exactly when something it uses changed.

Code: the import closure of ``stages/<name>.py`` (every ``features_pipeline`` import in each
module's AST, function-level ones too, plus the ``__init__.py`` of every package on the way;
a package ``__init__`` importing its folder via ``pkgutil`` imports every module in it) must be
covered by the stage's code deps (entries under ``stages/`` or ``src/``), and each code
dep must be needed: a file in the closure, or a folder whose every ``.py`` file is.

Data: the ``paths.<NAME>`` artifacts that the stage module and ``runner.py`` reference
(:mod:`features_pipeline.contracts.paths`): those the stage writes are its outs, those written
by other stages are its deps. Params: the ``.section("<name>", ...)`` calls of the stage module.
"""

from __future__ import annotations

import ast
import copy
import importlib
import shutil
import sys
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

import pytest
import yaml

from features_pipeline.contracts import paths
from features_pipeline.stages import STAGES

ROOT = Path(__file__).resolve().parents[1]
SRC = ROOT / "src"
PACKAGE = "features_pipeline"
CODE_ROOTS = ("stages/", "src/")  # a dep starting with one of these is code, the rest is data
# Referenced paths that are not stage files: the params file (params:), the timing metrics
# (git-tracked top-level metrics written by the runner for every stage, never stage outs).
NOT_STAGE_FILES = frozenset({Path(paths.DEFAULT_PARAMS), Path(paths.TIMING_DIR)})
USER_INPUTS = frozenset({Path(paths.RAW_DATA_DIR)})  # read by a stage, written by nobody
# Params sections naming a further params file the stage reads (``${section.key}:``).
PARAMS_FILES = {"features": "${features.spec}", "dataset": "${dataset.contract}"}
# Sections whose only use is to name a params file: the file entry is what DVC must track.
FILE_ONLY_SECTIONS = frozenset({"dataset"})
CONTRACT_READERS = frozenset({"read_contract"})  # read params.yaml's dataset section

Problems = list[str]


def rel(path: Path) -> str:
    """``path`` relative to the project root, POSIX style."""
    return path.resolve().relative_to(ROOT).as_posix()


def load_dvc_yaml() -> dict[str, Any]:
    """dvc.yaml as a plain mapping."""
    return yaml.safe_load((ROOT / "dvc.yaml").read_text(encoding="utf-8"))


def entry_paths(entries: Iterable[str | Mapping[str, Any]] | None) -> list[str]:
    """Paths of a deps/outs/metrics list: ``path`` or ``{path: {<options>}}`` entries, options
    such as ``cache: false`` or ``persist: true`` (DVC keeps the last outputs while the stage
    runs, so a failed run leaves them intact); only the paths are checked."""
    found: list[str] = []
    for entry in entries or ():
        found.extend([entry] if isinstance(entry, str) else list(entry))
    return [item.rstrip("/") for item in found]


def is_code(dep: str) -> bool:
    """True for a dep under ``stages/`` or ``src/``."""
    return dep.startswith(CODE_ROOTS)


def python_files(folder: Path) -> set[str]:
    """Every ``.py`` file under ``folder`` (relative to the root), __pycache__ excluded."""
    return {rel(path) for path in folder.rglob("*.py") if "__pycache__" not in path.parts}


# ---------------------------------------------------------------------------------------------
# Import closure


def module_file(name: str) -> Path | None:
    """The file of module ``name`` under src/ (``x/y.py`` or ``x/y/__init__.py``), if any."""
    base = SRC.joinpath(*name.split("."))
    for candidate in (base.with_suffix(".py"), base / "__init__.py"):
        if candidate.is_file():
            return candidate
    return None


def module_name(path: Path) -> str:
    """``features_pipeline.x.y`` for ``src/features_pipeline/x/y.py`` (or ``y/__init__.py``)."""
    parts = path.resolve().relative_to(SRC).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def parse(path: Path) -> ast.Module:
    """The AST of a source file."""
    return ast.parse(path.read_text(encoding="utf-8"), filename=str(path))


def imported_names(path: Path) -> set[str]:
    """Names of the ``features_pipeline`` modules ``path`` may import, anywhere in its AST.

    ``from a import b`` yields ``a`` and ``a.b`` (kept later only if ``a.b`` is a module);
    relative imports are resolved against the module's package.
    """
    inside_src = path.resolve().is_relative_to(SRC)
    package = module_name(path) if inside_src else ""
    if inside_src and path.name != "__init__.py":
        package = package.rpartition(".")[0]
    names: set[str] = set()
    for node in ast.walk(parse(path)):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*anchor, base] if base else anchor)
            names.add(base)
            names.update(f"{base}.{alias.name}" for alias in node.names)
        elif (  # importlib.import_module("features_pipeline.x")
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Attribute | ast.Name)
            and getattr(node.func, "attr", getattr(node.func, "id", None)) == "import_module"
            and node.args
            and isinstance(node.args[0], ast.Constant)
            and isinstance(node.args[0].value, str)
        ):
            names.add(node.args[0].value)
        elif (  # a dotted path imported by name at run time ("features_pipeline.x.Class")
            isinstance(node, ast.Constant)
            and isinstance(node.value, str)
            and node.value.startswith(f"{PACKAGE}.")
            and node.value.replace(".", "").replace("_", "").isalnum()
        ):
            names.update({node.value, node.value.rpartition(".")[0]})
    return {name for name in names if name == PACKAGE or name.startswith(f"{PACKAGE}.")}


def imports_whole_folder(init: Path) -> bool:
    """True for a package ``__init__.py`` that imports its modules via ``pkgutil``."""
    return any(
        isinstance(node, ast.Attribute)
        and node.attr in {"iter_modules", "walk_packages"}
        and isinstance(node.value, ast.Name)
        and node.value.id == "pkgutil"
        for node in ast.walk(parse(init))
    )


def folder_modules(init: Path) -> set[Path]:
    """What ``pkgutil.iter_modules`` finds beside ``init``: modules and subpackages."""
    folder = init.parent
    modules = {path for path in folder.glob("*.py") if path != init}
    return modules | {init for init in folder.glob("*/__init__.py")}


@cache
def direct_imports(path: Path) -> frozenset[Path]:
    """Files that importing ``path`` executes directly: imported modules and their packages."""
    found: set[Path] = set()
    for name in imported_names(path):
        parts = name.split(".")
        for end in range(1, len(parts) + 1):  # importing a.b.c runs a/__init__ and a/b/__init__
            file = module_file(".".join(parts[:end]))
            if file is not None:
                found.add(file)
    if path.name == "__init__.py" and imports_whole_folder(path):
        found |= folder_modules(path)
    return frozenset(found)


def import_closure(script: Path) -> set[str]:
    """Every file (relative to the root) that running ``script`` imports from the package."""
    seen: set[Path] = set()
    todo = [script.resolve()]
    while todo:
        path = todo.pop()
        if path not in seen:
            seen.add(path)
            todo.extend(direct_imports(path) - seen)
    return {rel(path) for path in seen}


def code_dep_problems(closure: set[str], deps: Iterable[str]) -> Problems:
    """Closure files no code dep covers; code deps that are missing or not wholly needed."""
    code = [dep for dep in deps if is_code(dep)]
    problems: Problems = []
    uncovered = sorted(
        file
        for file in closure
        if not any(file == dep or file.startswith(f"{dep}/") for dep in code)
    )
    if uncovered:
        problems.append(f"code it imports, missing from deps: {', '.join(uncovered)}")
    for dep in code:
        target = ROOT / dep
        if target.is_dir():
            files = python_files(target)
            unused = sorted(files - closure)
            if not files or unused:
                used = sorted(files & closure) or ["nothing"]
                problems.append(
                    f"folder dep {dep} is not wholly imported (unused: {', '.join(unused)}); "
                    f"list the files it uses instead: {', '.join(used)}"
                )
        elif not target.is_file():
            problems.append(f"code dep {dep} does not exist")
        elif dep not in closure:
            problems.append(f"code dep {dep} is not imported by the stage")
    return problems


# ---------------------------------------------------------------------------------------------
# Data paths


def paths_references(path: Path) -> set[str]:
    """Names of ``contracts.paths`` used by ``path``: ``paths.NAME`` or imported by name."""
    names: set[str] = set()
    for node in ast.walk(parse(path)):
        if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name):
            if node.value.id == "paths":
                names.add(node.attr)
        elif isinstance(node, ast.ImportFrom) and node.module == paths.__name__:
            names.update(alias.name for alias in node.names)
    return names


@dataclass(frozen=True)
class DataUse:
    """The files a stage's code names: artifacts (by writing stage) and other paths."""

    artifacts: frozenset[paths.Artifact]
    other: frozenset[Path]

    def written_by(self, stage: str) -> set[str]:
        """Paths of the artifacts ``stage`` writes."""
        return {a.path.as_posix() for a in self.artifacts if a.stage == stage}

    def read_by(self, stage: str) -> set[str]:
        """Paths of the artifacts other stages write."""
        return {a.path.as_posix() for a in self.artifacts if a.stage != stage}


def stage_module(name: str) -> Path:
    """``src/features_pipeline/stages/<name>.py``: the stage's wiring."""
    return SRC / PACKAGE / "stages" / f"{name}.py"


def data_use(name: str) -> DataUse:
    """What the stage module and runner.py reference in :mod:`features_pipeline.contracts.paths`."""
    runner = SRC / PACKAGE / "runner.py"  # every stage runs through it: its paths count for all
    values = [
        getattr(paths, ref)
        for ref in paths_references(stage_module(name)) | paths_references(runner)
        if hasattr(paths, ref)
    ]
    return DataUse(
        artifacts=frozenset(v for v in values if isinstance(v, paths.Artifact)),
        other=frozenset(Path(v) for v in values if isinstance(v, Path)),
    )


def all_artifacts() -> list[paths.Artifact]:
    """Every Artifact declared in contracts/paths.py."""
    return [value for value in vars(paths).values() if isinstance(value, paths.Artifact)]


def data_problems(name: str, use: DataUse, stage: Mapping[str, Any]) -> Problems:
    """Outs/metrics vs the artifacts the stage writes; data deps vs what it reads."""
    declared_outs = {*entry_paths(stage.get("outs")), *entry_paths(stage.get("metrics"))}
    declared_outs |= set(entry_paths(stage.get("plots")))
    data_deps = {dep for dep in entry_paths(stage.get("deps")) if not is_code(dep)}
    written = use.written_by(name)
    user_inputs = {path.as_posix() for path in use.other & USER_INPUTS}
    read = use.read_by(name) | user_inputs
    others_outs = {a.path.as_posix() for a in all_artifacts() if a.stage != name}
    unclassified = use.other - USER_INPUTS - NOT_STAGE_FILES
    not_stage_files = {path.as_posix() for path in NOT_STAGE_FILES}

    checks = [
        ("artifacts it writes, missing from outs/metrics", written - declared_outs),
        ("outs/metrics that are not artifacts it writes", declared_outs - written),
        ("artifacts it reads, missing from deps", read - data_deps),
        ("data deps that are neither read nor another stage's out", data_deps - read - others_outs),
        (
            "params/timing files declared as deps or outs",
            (data_deps | declared_outs) & not_stage_files,
        ),
        ("paths constants this test does not classify", {p.as_posix() for p in unclassified}),
    ]
    return [f"{label}: {', '.join(sorted(items))}" for label, items in checks if items]


# ---------------------------------------------------------------------------------------------
# Params


@dataclass(frozen=True)
class SectionRead:
    """One ``.section("<name>", Model)`` call: the keys used, or None for the whole model."""

    section: str
    model: str
    keys: frozenset[str] | None


def section_reads(path: Path) -> list[SectionRead]:
    """The ``.section("<name>", Model)`` calls of a module, with ``.key`` read right after."""
    tree = parse(path)
    parents = {child: node for node in ast.walk(tree) for child in ast.iter_child_nodes(node)}
    reads: list[SectionRead] = []
    for node in ast.walk(tree):
        if (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Attribute)
            and node.func.attr == "section"
            and len(node.args) >= 2
            and isinstance(node.args[0], ast.Constant)
            and isinstance(node.args[0].value, str)
        ):
            parent = parents.get(node)
            grandparent = parents.get(parent) if parent is not None else None
            is_key = isinstance(parent, ast.Attribute) and not (  # .key, not .method()
                isinstance(grandparent, ast.Call) and grandparent.func is parent
            )
            keys = frozenset({parent.attr}) if is_key else None
            reads.append(SectionRead(node.args[0].value, ast.unparse(node.args[1]), keys))
        elif isinstance(node, ast.Call) and ast.unparse(node.func) in CONTRACT_READERS:
            reads.append(SectionRead("dataset", "DatasetParams", None))
    return reads


def model_fields(module_path: Path, model: str) -> frozenset[str]:
    """Field names of the params model ``model`` as imported by the module at ``module_path``."""
    for node in ast.walk(parse(module_path)):
        if isinstance(node, ast.ImportFrom) and node.module:
            for alias in node.names:
                if (alias.asname or alias.name) == model:
                    cls = getattr(importlib.import_module(node.module), alias.name)
                    return frozenset(cls.model_fields)
    raise AssertionError(f"{rel(module_path)}: cannot find where {model} is imported from")


def params_problems(name: str, reads: list[SectionRead], stage: Mapping[str, Any]) -> Problems:
    """Declared ``params`` vs the sections (and keys) the stage module parses."""
    declared: dict[str, set[str] | None] = {}  # section -> keys, None = the whole section
    files: set[str] = set()
    for entry in stage.get("params") or ():
        if isinstance(entry, Mapping):
            files.update(entry)
            continue
        section, _, key = str(entry).partition(".")
        if not key:
            declared[section] = None
        elif declared.get(section, set()) is not None:
            declared.setdefault(section, set()).add(key)

    used: dict[str, set[str]] = {}
    problems: Problems = []
    for read in reads:
        if read.section in FILE_ONLY_SECTIONS and read.section not in declared:
            continue
        if read.section not in declared:
            problems.append(f"params section it reads, missing from params: {read.section}")
            continue
        keys = declared[read.section]
        if keys is None:
            used.setdefault(read.section, set())
            continue
        needed = read.keys or model_fields(stage_module(name), read.model)
        used.setdefault(read.section, set()).update(needed)
        if needed - keys:
            missing = ", ".join(f"{read.section}.{key}" for key in sorted(needed - keys))
            problems.append(f"params keys it reads, missing from params: {missing}")
    for section, keys in declared.items():
        if section not in used:
            problems.append(f"params section declared but never read: {section}")
        elif keys is not None and keys - used[section]:
            extra = ", ".join(f"{section}.{key}" for key in sorted(keys - used[section]))
            problems.append(f"params keys declared but never read: {extra}")
    wanted_files = {PARAMS_FILES[r.section] for r in reads if r.section in PARAMS_FILES}
    if wanted_files - files:
        problems.append(f"params files missing: {', '.join(sorted(wanted_files - files))}")
    if files - wanted_files:
        problems.append(f"params files it does not read: {', '.join(sorted(files - wanted_files))}")
    return problems


# ---------------------------------------------------------------------------------------------
# Putting it together


def stage_problems(name: str, dvc: Mapping[str, Any]) -> Problems:
    """Every mismatch between dvc.yaml's stage ``name`` and its code, one line each."""
    stage = dvc["stages"][name]
    script = f"stages/{name}.py"
    problems: Problems = []
    if stage.get("cmd") != f"python {script}":
        problems.append(f"cmd is {stage.get('cmd')!r}, expected 'python {script}'")
    deps = entry_paths(stage.get("deps"))
    duplicates = sorted({dep for dep in deps if deps.count(dep) > 1})
    if duplicates:
        problems.append(f"deps listed twice: {', '.join(duplicates)}")
    problems += code_dep_problems(import_closure(ROOT / script), deps)
    problems += data_problems(name, data_use(name), stage)
    problems += params_problems(name, section_reads(stage_module(name)), stage)
    return [f"stage {name}: {problem}" for problem in problems]


@pytest.fixture(scope="module")
def dvc_yaml() -> dict[str, Any]:
    """The project's dvc.yaml."""
    return load_dvc_yaml()


def test_stages_match_the_package(dvc_yaml: dict[str, Any]) -> None:
    """dvc.yaml has the package's five stages, in order."""
    assert tuple(dvc_yaml["stages"]) == STAGES


@pytest.mark.parametrize("name", STAGES)
def test_stage_matches_its_code(name: str, dvc_yaml: dict[str, Any]) -> None:
    """Code deps = import closure; data deps/outs = artifacts read/written; params = sections."""
    problems = stage_problems(name, dvc_yaml)
    assert not problems, "dvc.yaml disagrees with the code:\n" + "\n".join(problems)


def test_every_artifact_is_written_by_its_stage() -> None:
    """Each Artifact's ``stage`` is a stage whose module references it."""
    wrong = [
        f"{a.path} (stage {a.stage})"
        for a in all_artifacts()
        if a.stage not in STAGES or a not in data_use(a.stage).artifacts
    ]
    assert not wrong, f"artifacts their stage never references: {', '.join(wrong)}"


def test_timing_files_are_top_level_metrics(dvc_yaml: dict[str, Any]) -> None:
    """The runner's timing file of every stage is a git-tracked top-level metric."""
    expected = {paths.timing_path(name).as_posix() for name in STAGES}
    assert expected <= set(entry_paths(dvc_yaml.get("metrics")))


# ---------------------------------------------------------------------------------------------
# The checker catches what it must


def edited(
    dvc: Mapping[str, Any], name: str, key: str, drop: str = "", add: str = ""
) -> dict[str, Any]:
    """A deep copy of ``dvc`` with ``drop`` removed from / ``add`` appended to a stage list."""
    changed = copy.deepcopy(dict(dvc))
    entries = changed["stages"][name].setdefault(key, [])
    if drop:
        kept = [e for e in entries if drop not in ([e] if isinstance(e, str) else list(e))]
        assert len(kept) == len(entries) - 1, f"{drop} is not in stage {name}'s {key}"
        entries[:] = kept
    if add:
        entries.append(add)
    return changed


@pytest.mark.parametrize(
    ("name", "key", "drop", "add", "expected"),
    [
        pytest.param(
            "features",
            "deps",
            "src/features_pipeline/contracts/split.py",
            "",
            "missing from deps: src/features_pipeline/contracts/split.py",
            id="missing-code-dep",
        ),
        pytest.param(
            "features",
            "deps",
            "",
            "src/features_pipeline/model/cv.py",
            "code dep src/features_pipeline/model/cv.py is not imported",
            id="unneeded-code-dep",
        ),
        pytest.param(
            "features",
            "deps",
            "",
            "src/features_pipeline/ingest",
            "folder dep src/features_pipeline/ingest is not wholly imported",
            id="partly-used-folder-dep",
        ),
        pytest.param(
            "validate",
            "deps",
            "data/features/plan.json",
            "",
            "artifacts it reads, missing from deps: data/features/plan.json",
            id="missing-data-dep",
        ),
        pytest.param(
            "ingest",
            "deps",
            "data/raw",
            "",
            "artifacts it reads, missing from deps: data/raw",
            id="missing-user-data",
        ),
        pytest.param(
            "train",
            "outs",
            "plots/cv_folds.csv",
            "",
            "missing from outs/metrics: plots/cv_folds.csv",
            id="missing-out",
        ),
        pytest.param(
            "evaluate",
            "outs",
            "",
            "metrics/timing/evaluate.json",
            "not artifacts it writes: metrics/timing/evaluate.json",
            id="timing-as-out",
        ),
        pytest.param(
            "ingest",
            "params",
            "split",
            "",
            "params section it reads, missing from params: split",
            id="missing-params-section",
        ),
        pytest.param(
            "validate",
            "params",
            "train.features",
            "",
            "params section it reads, missing from params: train",
            id="missing-params-key",
        ),
        pytest.param(
            "features",
            "params",
            "${features.spec}",
            "",
            "params files missing: ${features.spec}",
            id="missing-spec-file",
        ),
    ],
)
def test_checker_reports(
    dvc_yaml: dict[str, Any], name: str, key: str, drop: str, add: str, expected: str
) -> None:
    """One entry dropped from (or added to) a passing stage is reported, naming the stage."""
    assert not stage_problems(name, dvc_yaml), "the real dvc.yaml must pass first"
    problems = stage_problems(name, edited(dvc_yaml, name, key, drop, add))
    assert any(
        expected in problem and problem.startswith(f"stage {name}:") for problem in problems
    ), "\n".join(problems)


def test_features_closure_reaches_every_feature_type() -> None:
    """features/types/__init__.py imports its folder via pkgutil: every type is in the closure."""
    closure = import_closure(ROOT / "stages" / "features.py")
    assert python_files(SRC / PACKAGE / "features" / "types") <= closure


def test_checker_catches_an_import_added_deep_in_the_closure(
    dvc_yaml: dict[str, Any], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """features/engine.py importing ingest/split.py (as before the contracts layer) is caught.

    A copy of the code where the engine also imports ``features_pipeline.ingest.split``: the
    features stage's deps (which do not list it) no longer cover its closure.
    """
    for folder in ("src", "stages"):
        shutil.copytree(
            ROOT / folder, tmp_path / folder, ignore=shutil.ignore_patterns("__pycache__")
        )
    engine = tmp_path / "src" / PACKAGE / "features" / "engine.py"
    engine.write_text(
        engine.read_text(encoding="utf-8") + "\nfrom features_pipeline.ingest.split import TRAIN\n",
        encoding="utf-8",
    )
    monkeypatch.setattr(sys.modules[__name__], "ROOT", tmp_path.resolve())
    monkeypatch.setattr(sys.modules[__name__], "SRC", tmp_path.resolve() / "src")
    problems = stage_problems("features", dvc_yaml)
    assert any(
        problem.startswith("stage features: code it imports, missing from deps:")
        and "src/features_pipeline/ingest/split.py" in problem
        and "src/features_pipeline/ingest/__init__.py" in problem  # the package runs too
        for problem in problems
    ), "\n".join(problems)
