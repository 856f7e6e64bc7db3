"""Bad params.yaml: every mistake is one `error:` line naming params.yaml and the key, exit 1, no
traceback, and every earlier output byte-identical; under the stage script (everyday) and under
`dvc repro <stage>` (slow).

Duplicate keys are refused (PyYAML would keep the last one silently; DVC's YAML reader refuses
them too). Where DVC reads params.yaml itself and refuses it before any stage runs (YAML it cannot
parse), the `dvc repro` variant checks DVC's own message names the file instead.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest
from harness import (
    assert_unchanged,
    assert_user_error,
    run_stage_script,
    snapshot,
)

from features_pipeline.ingest.synthetic import available_bytes, estimated_bytes

PARAMS = "params.yaml"
Edit = Callable[[Path, str], str]  # (project root, params text) -> new params text


@dataclass(frozen=True)
class Case:
    """One mistake: how params.yaml is edited, the stage that reads it, what the line names."""

    id: str
    stage: str
    edit: Edit
    fragments: tuple[str, ...]
    dvc_reads_first: bool = False  # DVC parses params.yaml and refuses it before the stage runs
    known_gap: str = ""  # a finding outside these files: the case is a strict xfail


def sub(old: str, new: str) -> Edit:
    """Replace the one occurrence of ``old``."""

    def edit(_root: Path, text: str) -> str:
        assert text.count(old) == 1, old
        return text.replace(old, new)

    return edit


def whole(new: str) -> Edit:
    return lambda _root, _text: new


def prepend(extra: str) -> Edit:
    return lambda _root, text: extra + text


def remove_file(root: Path, text: str) -> str:
    (root / PARAMS).unlink()
    return ""


ALIAS_BOMB = "x0: &a0 [lol, lol, lol, lol, lol, lol, lol, lol, lol, lol]\n" + "".join(
    f"x{level}: &a{level} [{', '.join([f'*a{level - 1}'] * 10)}]\n" for level in range(1, 9)
)
ROWS = "  rows: 10000 "
HUGE_ROWS = 900_000_000
TOO_MANY_ROWS = (available_bytes() or 0) < estimated_bytes(HUGE_ROWS)

CASES: list[Case] = [
    # --- the file as a whole (every stage reads it first) ---
    Case("unknown-section", "ingest", sub("\ntrain:\n", "\ntrian:\n"),
         ("unknown section 'trian'", "did you mean 'train'?")),
    Case("unknown-section-far", "ingest", prepend("colour: red\n"), ("unknown section 'colour'",)),
    Case("yaml-syntax", "ingest", sub(ROWS, "  rows: [1, "), ("line", "invalid YAML"), True),
    Case("tab-indent", "ingest", sub(ROWS, "\trows: 10000 "), ("line", "invalid YAML"), True),
    Case("duplicate-key", "ingest", sub(ROWS, "  rows: 5\n  rows: 10000 "),
         ("line", "duplicate key 'rows'"), True),
    Case("duplicate-section", "ingest", lambda _r, t: t + "ingest:\n  rows: 5\n",
         ("duplicate key 'ingest'",), True),
    Case("alias-bomb", "ingest", prepend(ALIAS_BOMB), ("YAML aliases expand to more than",)),
    Case("recursive-alias", "ingest", prepend("x: &x [*x]\n"), ("YAML aliases expand",), True),
    Case("too-deep", "ingest", prepend("x: " + "[" * 1500 + "]" * 1500 + "\n"),
         ("nested too deeply",)),
    Case("empty-file", "ingest", whole(""), ("no sections",), True),
    Case("comments-only", "ingest", whole("# nothing here\n"), ("no sections",), True),
    Case("missing-file", "ingest", remove_file, ("file not found",), True),
    Case("top-level-list", "ingest", whole("- ingest\n- split\n"),
         ("expected a mapping at the top level, got list",), True),
    Case("top-level-scalar", "ingest", whole("rows 10000\n"),
         ("expected a mapping at the top level, got str",), True),
    Case("latin1", "ingest", sub("  seed: 42                 # synthetic seed",
                                 "  seed: 42 # caf\udce9"), ("not UTF-8 text",), True),
    Case("binary", "ingest", prepend("\x00\x01\x02"), ("a binary file",), True),
    Case("section-a-scalar", "ingest",
         lambda _r, t: re.sub(r"\nsplit:\n(  .*\n)+", "\nsplit: random\n", t),
         ("split: expected a mapping, got str",)),
    # --- ingest ---
    Case("rows-zero", "ingest", sub(ROWS, "  rows: 0 "), ("ingest.rows", "greater than 0")),
    Case("rows-negative", "ingest", sub(ROWS, "  rows: -5 "), ("ingest.rows", "(got -5)")),
    Case("rows-text", "ingest", sub(ROWS, "  rows: many "), ("ingest.rows", "valid integer")),
    Case("rows-fraction", "ingest", sub(ROWS, "  rows: 1.5 "), ("ingest.rows", "valid integer")),
    Case("rows-above-max", "ingest", sub(ROWS, "  rows: 1000000000000 "),
         ("ingest.rows", "less than or equal to 900000000")),
    Case("rows-beyond-memory", "ingest", sub(ROWS, f"  rows: {HUGE_ROWS} "),
         ("ingest.rows: 900,000,000 rows need about", "GB available")),
    Case("seed-negative", "ingest", sub("  seed: 42                 # synthetic",
                                        "  seed: -1 #"), ("ingest.seed", "(got -1)")),
    Case("ingest-unknown-key", "ingest", sub(ROWS, "  rwos: 10000 "),
         ("ingest.rwos: unknown key", "did you mean 'rows'?")),
    Case("source-outside-raw", "ingest", sub("  source: synthetic ", "  source: /etc/passwd "),
         ("ingest.source", "outside data/raw/")),
    Case("required-column-unknown", "ingest", sub("    - Region\n    - Country\n",
                                                  "    - Colour\n    - Country\n"),
         ("ingest.required_columns", "unknown column 'Colour'")),
    # --- split ---
    Case("split-strategy", "ingest", sub("  strategy: random ", "  strategy: shuffle "),
         ("split.strategy", "'random' or 'time'")),
    Case("split-test-size-zero", "ingest", sub("  test_size: 0.2", "  test_size: 0"),
         ("split.test_size", "greater than 0")),
    Case("split-test-size-percent", "ingest", sub("  test_size: 0.2", "  test_size: 20%"),
         ("split.test_size", "valid number")),
    Case("split-unknown-key", "ingest", sub("  test_size: 0.2", "  test_szie: 0.2"),
         ("split.test_szie: unknown key", "did you mean 'test_size'?")),
    # --- engine ---
    Case("engine-name", "features", sub("  name: polars ", "  name: pandas "),
         ("engine.name", "'polars', 'duckdb' or 'spark'")),
    Case("engine-duckdb-threads", "features", sub("    threads: null ", "    threads: 0 "),
         ("engine.duckdb.threads", "greater than or equal to 1")),
    Case("engine-spark-remote", "features", sub("    remote: null ", "    remote: http://x:1 "),
         ("engine.spark.remote", "sc://")),
    Case("engine-unknown-key", "features", sub("  name: polars ", "  nmae: polars "),
         ("engine.nmae: unknown key", "did you mean 'name'?")),
    # --- features ---
    Case("features-mode", "features", sub("  mode: planned ", "  mode: parallel "),
         ("features.mode", "'planned' or 'sequential'")),
    Case("spec-outside", "features", sub("  spec: config/features.yaml", "  spec: /etc/passwd"),
         ("features.spec", "'/etc/passwd' is outside the project"), True),
    Case("spec-parent", "features",
         sub("  spec: config/features.yaml", "  spec: ../features.yaml"),
         ("features.spec", "is outside the project"), True),
    Case("spec-missing", "features", sub("  spec: config/features.yaml", "  spec: config/no.yaml"),
         ("config/no.yaml: file not found",), True),
    Case("spec-a-folder", "features", sub("  spec: config/features.yaml", "  spec: config"),
         ("config: is a folder, not a YAML file",), True),
    # --- validate ---
    Case("validate-null-fraction", "validate",
         sub("  max_null_fraction: 0.5 ", "  max_null_fraction: 1.5 "),
         ("validate.max_null_fraction", "less than or equal to 1")),
    Case("validate-min-rows", "validate",
         sub("  min_rows_per_split: 100 ", "  min_rows_per_split: 0 "),
         ("validate.min_rows_per_split", "greater than or equal to 1")),
    Case("validate-fractions-order", "validate",
         sub("  min_test_fraction: 0.05 ", "  min_test_fraction: 0.6 "),
         ("validate", "min_test_fraction (0.6) is above max_test_fraction (0.5)")),
    Case("validate-severity", "validate",
         sub("    unseen_category: warn ", "    unseen_category: fatal "),
         ("validate.severity.unseen_category", "'error', 'warn' or 'off'")),
    Case("validate-severity-key", "validate",
         sub("    unseen_category: warn ", "    unseen_categroy: warn "),
         ("validate.severity.unseen_categroy: unknown key", "did you mean 'unseen_category'?")),
    Case("validate-bool", "validate", sub("  warnings_fail: false ", "  warnings_fail: maybe "),
         ("validate.warnings_fail", "valid boolean")),
    # --- train ---
    Case("train-features-unknown", "validate", sub("    - log_units\n", "    - log_unit\n"),
         ("train.features", "unknown column 'log_unit' — did you mean 'log_units'?")),
    Case("train-features-duplicate", "validate", sub("    - log_units\n", "    - order_year\n"),
         ("train.features", "'order_year' is listed twice")),
    Case("train-model-name", "train", sub("    name: hist_gradient_boosting ",
                                          "    name: hist_gradient_boostin "),
         ("train.model.name", "hist_gradient_boostin")),
    Case("train-hyperparameter-unknown", "train",
         sub("        max_iter: 100\n", "        max_iters: 100\n"),
         ("max_iters",)),
    Case("train-hyperparameter-value", "train",
         sub("        learning_rate: 0.1\n", "        learning_rate: -1\n"),
         ("learning_rate",)),
    Case("train-cv-folds", "train", sub("  cv_folds: 5 ", "  cv_folds: 1 "),
         ("train.cv_folds", "greater than or equal to 2")),
    Case("train-cv-rows", "train", sub("  cv_rows: 100000 ", "  cv_rows: 3 "),
         ("train.cv_rows", "must be at least cv_folds (5)")),
    Case("train-threads", "train", sub("  threads: 1 ", "  threads: -1 "),
         ("train.threads", "greater than or equal to 0")),
    # --- evaluate ---
    Case("gate-unknown-metric", "evaluate", sub("    r2: {min: 0.99}", "    rsme: {max: 1}"),
         ("evaluate.gates", "rsme")),
    Case("gate-no-bound", "evaluate", sub("    r2: {min: 0.99}", "    r2: {}"),
         ("evaluate.gates.r2", "a gate needs 'min' and/or 'max'")),
    Case("gate-min-above-max", "evaluate",
         sub("    r2: {min: 0.99}", "    r2: {min: 0.9, max: 0.5}"),
         ("evaluate.gates.r2", "min 0.9 is greater than max 0.5")),
    Case("gate-not-mapping", "evaluate", sub("    r2: {min: 0.99}", "    r2: 0.99"),
         ("evaluate.gates.r2",)),
    Case("evaluate-plot-points", "evaluate", sub("  plot_points: 1000 ", "  plot_points: 20000 "),
         ("evaluate.plot_points", "less than or equal to 10000")),
    Case("evaluate-importance-repeats", "evaluate", sub("    repeats: 3 ", "    repeats: 0 "),
         ("evaluate.importance.repeats", "greater than 0")),
    Case("evaluate-unknown-key", "evaluate", sub("  gates: ", "  gate: "),
         ("evaluate.gate: unknown key", "did you mean 'gates'?")),
]  # fmt: skip


PARAMS_CASES = [
    pytest.param(case, id=case.id, marks=pytest.mark.xfail(reason=case.known_gap, strict=True))
    if case.known_gap
    else pytest.param(case, id=case.id)
    for case in CASES
]


def apply(root: Path, case: Case) -> None:
    """Edit params.yaml of ``root`` (bytes, so that a case may write invalid UTF-8)."""
    path = root / PARAMS
    text = case.edit(root, path.read_text(encoding="utf-8"))
    if path.exists():
        path.write_bytes(text.encode("utf-8", errors="surrogateescape"))


def skip_if_fits(case: Case) -> None:
    if case.id == "rows-beyond-memory" and not TOO_MANY_ROWS:
        pytest.skip(f"this machine holds {HUGE_ROWS:,} synthetic rows")


@pytest.mark.parametrize("case", PARAMS_CASES)
def test_stage_script(case_project: Path, case: Case) -> None:
    skip_if_fits(case)
    root = case_project
    before = snapshot(root)
    apply(root, case)
    outcome = run_stage_script(root, case.stage)
    assert_user_error(outcome, *case.fragments)
    assert_unchanged(before, snapshot(root))


def test_the_suite_is_broad() -> None:
    assert len(CASES) >= 45
    assert {case.stage for case in CASES} == {"ingest", "features", "validate", "train", "evaluate"}
