"""``features-pipeline predict`` with a bad model, card, state, input CSV, history or output path:
exit 1, one ``error:`` line naming the file and the key/column/line, no traceback, no project
output changed and no prediction file (not even a partial one) written.

Crafted-model security cases live in tests/test_model_security.py.
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import polars as pl
import pytest
import sales_columns as c
import yaml
from harness import assert_unchanged, assert_user_error, run_cli, snapshot
from support import csv_text

from features_pipeline.contracts.split import SPLIT

CASES = "cases"  # scratch folder of the ran project (outside every output folder)
OUT = f"{CASES}/out/predictions.csv"
MODEL = "models/model.skops"
CARD = "models/model_card.json"
STATE = "data/features/state"
INPUT = f"{CASES}/new.csv"
WINDOW_MODEL = f"{CASES}/window/model.skops"
WINDOW_FEATURE = "rolling_units_country"


def restore(root: Path, before: dict[str, bytes]) -> None:
    """Put the output folders back as ``before`` (files added since are removed)."""
    for relative in set(snapshot(root)) - set(before):
        (root / relative).unlink()
    for relative, data in before.items():
        path = root / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        if not path.exists() or path.read_bytes() != data:
            path.write_bytes(data)


@pytest.fixture(scope="module")
def project(ran_project: Path) -> Path:
    """The ran project plus scratch inputs: a valid CSV of 20 test orders and a model that uses
    a window feature (trained here, then models/ and metrics/ put back)."""
    root = ran_project
    scratch = root / CASES
    (scratch / "out").mkdir(parents=True, exist_ok=True)
    rows = pl.read_parquet(root / "data/interim/sales.parquet").filter(pl.col(SPLIT) == "test")
    (scratch / "new.csv").write_text(csv_text(rows.drop(SPLIT).head(20)), encoding="utf-8")
    before = snapshot(root)
    params = yaml.safe_load((root / "params.yaml").read_text(encoding="utf-8"))
    params["train"]["features"] = [*params["train"]["features"], WINDOW_FEATURE]
    params["train"]["cv_rows"] = 500
    params["train"]["model"]["params"]["hist_gradient_boosting"]["max_iter"] = 10
    (scratch / "window_params.yaml").write_text(yaml.safe_dump(params), encoding="utf-8")
    outcome = run_cli(root, "train", "--params", f"{CASES}/window_params.yaml", "-q")
    assert outcome.code == 0, outcome.stderr
    shutil.copytree(root / "models", scratch / "window")
    restore(root, before)
    assert snapshot(root) == before
    return root


@pytest.fixture
def root(project: Path, case_project: Path) -> Iterator[Path]:
    """One case: output folders and scratch outputs checked, models/ and state put back."""
    before = snapshot(project)
    out = project / CASES / "out"
    yield project
    after = snapshot(project)
    restore(project, before)
    assert_unchanged(before, after)
    leftovers = sorted(path.name for path in out.iterdir())
    shutil.rmtree(out)
    out.mkdir()
    assert not leftovers, f"files written by a failed run: {leftovers}"


def predict(root: Path, *options: str, model: str = MODEL, input_: str = INPUT) -> list[str]:
    """The predict arguments for ``options`` (defaults: the shipped model, the scratch CSV)."""
    args = ["predict", "--model", model, "--input", input_, "--state", STATE]
    if "--output" not in options:
        args += ["--output", OUT]
    return [*args, *options]


def write(root: Path, relative: str, data: str | bytes) -> str:
    path = root / relative
    path.parent.mkdir(parents=True, exist_ok=True)
    if isinstance(data, bytes):
        path.write_bytes(data)
    else:
        path.write_text(data, encoding="utf-8")
    return relative


def edit_card(root: Path, edit: Callable[[dict[str, object]], object]) -> str:
    """A copy of the model beside an edited copy of its card; returns the model's path."""
    folder = root / CASES / "edited"
    shutil.rmtree(folder, ignore_errors=True)
    shutil.copytree(root / "models", folder)
    card = json.loads((folder / "model_card.json").read_text(encoding="utf-8"))
    edit(card)
    (folder / "model_card.json").write_text(json.dumps(card), encoding="utf-8")
    return f"{CASES}/edited/model.skops"


def input_lines(root: Path) -> list[str]:
    return (root / INPUT).read_text(encoding="utf-8").splitlines()


def with_cell(root: Path, line: int, column: str, value: str) -> str:
    """The scratch CSV with one cell (file line ``line``, 1 = header) replaced."""
    lines = input_lines(root)
    index = lines[0].split(",").index(column)
    cells = lines[line - 1].split(",")
    cells[index] = value
    lines[line - 1] = ",".join(cells)
    return "\n".join(lines) + "\n"


@dataclass(frozen=True)
class Case:
    """A bad predict invocation: ``setup`` prepares files and returns the CLI arguments."""

    name: str
    setup: Callable[[Path], list[str]]
    fragments: tuple[str, ...]


def _model_bytes(root: Path) -> bytes:
    return (root / MODEL).read_bytes()


def _copy_model(root: Path, folder: str, data: bytes, card: bool = True) -> str:
    target = root / CASES / folder
    shutil.rmtree(target, ignore_errors=True)
    target.mkdir(parents=True)
    (target / "model.skops").write_bytes(data)
    if card:
        shutil.copy2(root / CARD, target / "model_card.json")
    return f"{CASES}/{folder}/model.skops"


def _card_only(root: Path) -> str:
    """A folder holding the card but not the model; returns the model's path."""
    folder = root / CASES / "nomodel"
    folder.mkdir(parents=True, exist_ok=True)
    shutil.copy2(root / CARD, folder / "model_card.json")
    return f"{CASES}/nomodel/model.skops"


def _drop(key: str) -> Callable[[dict[str, object]], object]:
    return lambda card: card.pop(key)


def _set(key: str, value: object) -> Callable[[dict[str, object]], object]:
    return lambda card: card.__setitem__(key, value)


def _input_dtype(card: dict[str, object]) -> None:
    inputs = card["inputs"]
    assert isinstance(inputs, dict)
    inputs["expected_profit"]["dtype"] = "Int64"


def _state_copy(root: Path, damage: Callable[[Path], object]) -> str:
    target = root / CASES / "state"
    shutil.rmtree(target, ignore_errors=True)
    shutil.copytree(root / STATE, target)
    damage(target)
    return f"{CASES}/state"


def _history(root: Path, name: str, frame: pl.DataFrame) -> str:
    path = root / CASES / name
    frame.write_parquet(path)
    return f"{CASES}/{name}"


def _interim(root: Path) -> pl.DataFrame:
    return pl.read_parquet(root / "data/interim/sales.parquet")


def _all_units(root: Path, value: str) -> str:
    """The scratch CSV with every Units Sold cell set to ``value``."""
    frame = pl.read_csv(root / INPUT, infer_schema=False)
    return csv_text(frame.with_columns(pl.lit(value).alias(c.UNITS_SOLD)))


def _not_utf8(root: Path) -> bytes:
    """The scratch CSV with a Latin-1 byte at the start of file line 3."""
    lines = (root / INPUT).read_bytes().split(b"\n")
    lines[2] = b"\xe9" + lines[2]
    return b"\n".join(lines)


def _with_state(args: list[str], state: str) -> list[str]:
    index = args.index("--state")
    return [*args[: index + 1], state, *args[index + 2 :]]


CASES_TABLE: list[Case] = [
    # --- the model file ---
    Case("model missing", lambda r: predict(r, model=_card_only(r)),
         ("nomodel/model.skops", "model file not found")),
    Case("model and card missing", lambda r: predict(r, model=f"{CASES}/none/model.skops"),
         ("none/model_card.json", "not found", "dvc repro train")),
    Case("model corrupt", lambda r: predict(
        r, model=_copy_model(r, "corrupt", b"\x00garbage" * 50)),
         ("corrupt/model_card.json", "artifact.sha256")),
    Case("model truncated", lambda r: predict(
        r, model=_copy_model(r, "truncated", _model_bytes(r)[: len(_model_bytes(r)) // 2])),
         ("truncated/model_card.json", "artifact.sha256")),
    Case("model empty", lambda r: predict(r, model=_copy_model(r, "empty", b"")),
         ("empty/model_card.json", "artifact.sha256")),
    Case("model is a folder", lambda r: predict(r, model="models"), ("models", "is a folder")),
    # --- the model card ---
    Case("card missing", lambda r: predict(
        r, model=_copy_model(r, "nocard", _model_bytes(r), False)),
         ("nocard/model_card.json",)),
    Case("card not json", lambda r: predict(
        r, "--card", write(r, f"{CASES}/badjson/card.json", "{not json"),
        model=_copy_model(r, "badjson", _model_bytes(r))), ("badjson/card.json",)),
    Case("card missing features", lambda r: predict(r, model=edit_card(r, _drop("features"))),
         ("edited/model_card.json", "features")),
    Case("card missing target", lambda r: predict(r, model=edit_card(r, _drop("target"))),
         ("edited/model_card.json", "target")),
    Case("card missing artifact", lambda r: predict(r, model=edit_card(r, _drop("artifact"))),
         ("edited/model_card.json", "artifact")),
    Case("card of another model", lambda r: predict(
        r, model=edit_card(r, _set("artifact", {"format": "skops", "sha256": "0" * 64}))),
         ("edited/model_card.json", "artifact.sha256", "another")),
    Case("card --card path missing", lambda r: predict(r, "--card", f"{CASES}/nothing.json"),
         ("nothing.json",)),
    Case("card input dtype differs from the state", lambda r: predict(
        r, model=edit_card(r, _input_dtype)), ("edited/model_card.json", "'expected_profit'")),
    # --- the feature state ---
    Case("state missing", lambda r: _with_state(predict(r), f"{CASES}/nostate"),
         ("nostate", "state.json")),
    Case("state manifest corrupt", lambda r: _with_state(predict(r), _state_copy(
        r, lambda p: (p / "state.json").write_text("{broken", encoding="utf-8"))),
         ("state/state.json",)),
    Case("state table corrupt", lambda r: _with_state(predict(r), _state_copy(
        r, lambda p: (p / "table_000.parquet").write_bytes(b"not parquet"))),
         ("table_000.parquet",)),
    Case("state table missing", lambda r: _with_state(predict(r), _state_copy(
        r, lambda p: (p / "table_002.parquet").unlink())), ("table_002.parquet",)),
    # --- the input CSV ---
    Case("input missing", lambda r: predict(r, input_=f"{CASES}/absent.csv"), ("absent.csv",)),
    Case("input empty", lambda r: predict(r, input_=write(r, f"{CASES}/empty.csv", "")),
         ("empty.csv", "empty")),
    Case("input header only", lambda r: predict(
        r, input_=write(r, f"{CASES}/header.csv", input_lines(r)[0] + "\n")),
         ("header.csv", "no data rows")),
    Case("input foreign csv", lambda r: predict(
        r, input_=write(r, f"{CASES}/foreign.csv", "name,age\nada,36\nalan,41\n")),
         ("foreign.csv", "line 1", "no recognised column")),
    Case("input lacks a needed column", lambda r: predict(r, input_=write(
        r, f"{CASES}/nounits.csv", csv_text(pl.read_csv(r / INPUT, infer_schema=False).drop(
            c.UNITS_SOLD)))), ("nounits.csv", "'Units Sold'")),
    Case("input every row bad", lambda r: predict(r, input_=write(
        r, f"{CASES}/allbad.csv", _all_units(r, "-1"))), ("allbad.csv", "every row fails")),
    Case("input bad row with --on-invalid fail", lambda r: predict(
        r, "--on-invalid", "fail",
        input_=write(r, f"{CASES}/badrow.csv", with_cell(r, 4, c.UNITS_SOLD, "lots"))),
         ("badrow.csv", "'Units Sold'", "line 4")),
    Case("input contract failure with --on-invalid fail", lambda r: predict(
        r, "--on-invalid", "fail",
        input_=write(r, f"{CASES}/negative.csv", with_cell(r, 6, c.UNITS_SOLD, "-3"))),
         ("negative.csv", "Units Sold", "line 6")),
    Case("input not utf-8", lambda r: predict(r, input_=write(
        r, f"{CASES}/latin1.csv", _not_utf8(r))), ("latin1.csv",)),
    Case("input is a folder", lambda r: predict(r, input_=CASES), (CASES,)),
    # --- history ---
    Case("window model without --history", lambda r: predict(r, model=WINDOW_MODEL),
         ("window/model_card.json", f"'{WINDOW_FEATURE}'", "--history")),
    Case("history missing", lambda r: predict(
        r, "--history", f"{CASES}/nohistory.parquet", model=WINDOW_MODEL),
         ("nohistory.parquet", "not found")),
    Case("history lacks a column", lambda r: predict(r, "--history", _history(
        r, "short.parquet", _interim(r).drop(c.UNITS_SOLD)), model=WINDOW_MODEL),
         ("short.parquet", "'Units Sold'")),
    Case("history corrupt parquet", lambda r: predict(r, "--history", write(
        r, f"{CASES}/corrupt.parquet", b"PAR1 not really"), model=WINDOW_MODEL),
         ("corrupt.parquet", "cannot read the history as parquet")),
    Case("history csv with a bad row", lambda r: predict(r, "--history", write(
        r, f"{CASES}/history.csv", with_cell(r, 3, c.UNITS_SOLD, "many")), model=WINDOW_MODEL),
         ("history.csv", "'Units Sold'", "line 3")),
    # --- outputs ---
    Case("output folder does not exist", lambda r: predict(
        r, "--output", f"{CASES}/nowhere/predictions.csv"), ("nowhere", "does not exist")),
    Case("output is a folder", lambda r: predict(r, "--output", f"{CASES}/out"),
         ("out", "is a folder")),
    Case("output is the input", lambda r: predict(r, "--output", INPUT),
         ("new.csv", "is the input file")),
    Case("rejected folder does not exist", lambda r: predict(
        r, "--rejected", f"{CASES}/nowhere/rejected.csv"), ("--rejected", "does not exist")),
]  # fmt: skip


def test_the_suite_holds_at_least_26_cases() -> None:
    assert len(CASES_TABLE) >= 26
    assert len({case.name for case in CASES_TABLE}) == len(CASES_TABLE)


@pytest.mark.parametrize("case", CASES_TABLE, ids=lambda case: case.name)
def test_a_bad_predict_input_is_one_clear_line(root: Path, case: Case) -> None:
    args = case.setup(root)
    before = snapshot(root)
    outcome = run_cli(root, *args)
    assert_user_error(outcome, *case.fragments)
    assert_unchanged(before, snapshot(root))
    assert not (root / OUT).exists()


def test_unseen_categories_are_flagged_in_the_output(project: Path, case_project: Path) -> None:
    lines = input_lines(project)
    header = lines[0].split(",")
    item = header.index(c.ITEM_TYPE)
    for index in (1, 2):
        cells = lines[index].split(",")
        cells[item] = "Gadgets"
        lines[index] = ",".join(cells)
    source = write(project, f"{CASES}/unseen.csv", "\n".join(lines) + "\n")
    output = project / CASES / "unseen_predictions.csv"
    outcome = run_cli(project, *predict(project, "--output", str(output), input_=source))
    assert outcome.code == 0, outcome.stderr
    predicted = pl.read_csv(output)
    assert predicted.get_column("unseen_category").to_list()[:3] == [True, True, False]
    warned = [line for line in outcome.stderr.splitlines() if "unseen in training" in line]
    assert len(warned) == 1
    assert "'Item Type': 'Gadgets' (2)" in outcome.stderr


def test_rejected_writes_the_rejected_rows(project: Path, case_project: Path) -> None:
    source = write(project, f"{CASES}/some_bad.csv", with_cell(project, 4, c.UNITS_SOLD, "lots"))
    rejected = project / CASES / "rejected.csv"
    output = project / CASES / "some_bad_predictions.csv"
    outcome = run_cli(
        project, *predict(project, "--output", str(output), "--rejected", str(rejected),
                          input_=source)
    )  # fmt: skip
    assert outcome.code == 0, outcome.stderr
    rows = pl.read_csv(rejected, infer_schema=False)
    assert rows.get_column("line").to_list() == ["4"]
    assert rows.get_column(c.UNITS_SOLD).to_list() == ["lots"]
    original = pl.read_csv(project / INPUT, infer_schema=False).row(2, named=True)
    assert rows.row(0, named=True)[c.ORDER_ID] == original[c.ORDER_ID]
    assert "'Units Sold' fails 'parse' ('lots')" in rows.get_column("problems")[0]
    assert pl.read_csv(output).height == 19
