"""A broken feature state (corrupt or truncated state.json, a missing or unreadable table, an entry
naming a path outside the state folder) is one UserError line naming the file and the command
that re-creates it; no path outside the folder is ever opened."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import polars as pl
import pytest
from sales_columns import SALES, sales_plan
from support import error_line

from features_pipeline.errors import UserError
from features_pipeline.features.engine import fit_transform
from features_pipeline.features.state import STATE_FILE, FittedState, load_state, save_state
from features_pipeline.ingest.split import assign_split
from features_pipeline.ingest.synthetic import generate_sales
from features_pipeline.runner import run_stage

REPO_ROOT = Path(__file__).resolve().parents[1]
RERUN = "re-run `dvc repro features`"


@pytest.fixture(scope="module")
def fitted_state() -> FittedState:
    """The shipped spec fitted on 300 generated orders."""
    interim = assign_split(generate_sales(300, seed=4), "random", 0.2, 42, SALES)
    plan = sales_plan(REPO_ROOT / "config" / "features.yaml", dict(interim.schema))
    state = fit_transform(interim, plan)[1]
    assert state.tables, "the shipped spec has fitted features"
    return state


@pytest.fixture
def state_dir(tmp_path: Path, fitted_state: FittedState) -> Path:
    """A saved state two folders below tmp_path (so ``../../x`` is tmp_path/x)."""
    directory = tmp_path / "features" / "state"
    save_state(fitted_state, directory)
    return directory


def manifest_of(directory: Path) -> dict[str, Any]:
    return json.loads((directory / STATE_FILE).read_text(encoding="utf-8"))


def broken_message(directory: Path) -> str:
    """The one-line message of the UserError ``load_state`` raises."""
    with pytest.raises(UserError) as info:
        load_state(directory)
    message = str(info.value)
    assert "\n" not in message
    assert message.endswith(RERUN)
    return message


def test_the_saved_state_loads(state_dir: Path, fitted_state: FittedState) -> None:
    loaded = load_state(state_dir)
    assert [t.features for t in loaded.tables] == [t.features for t in fitted_state.tables]


def test_a_truncated_state_json_is_one_line(state_dir: Path) -> None:
    manifest = state_dir / STATE_FILE
    text = manifest.read_text(encoding="utf-8")
    manifest.write_text(text[: len(text) // 2], encoding="utf-8")
    message = broken_message(state_dir)
    assert message.startswith(f"{manifest}: corrupt or truncated feature state")


def test_a_corrupt_state_json_is_one_line(state_dir: Path) -> None:
    manifest = state_dir / STATE_FILE
    manifest.write_bytes(b"\x00\xff\xfe garbage")
    assert broken_message(state_dir).startswith(f"{manifest}: corrupt or truncated feature state")
    manifest.write_text("[1, 2]", encoding="utf-8")
    assert broken_message(state_dir).startswith(f"{manifest}: corrupt feature state (a JSON list)")


def test_a_state_json_of_the_wrong_shape_is_one_line(state_dir: Path) -> None:
    manifest = state_dir / STATE_FILE
    content = manifest_of(state_dir)
    content["tables"][0]["keys"] = "Item Type"  # a string, not a list
    manifest.write_text(json.dumps(content), encoding="utf-8")
    assert broken_message(state_dir).startswith(f"{manifest}: corrupt feature state (key 'tables.0")


def test_a_missing_table_is_one_line_naming_it(state_dir: Path) -> None:
    table = state_dir / manifest_of(state_dir)["tables"][0]["file"]
    table.unlink()
    assert broken_message(state_dir).startswith(f"{table}: state table missing")


def test_an_unreadable_table_is_one_line_naming_it(state_dir: Path) -> None:
    table = state_dir / manifest_of(state_dir)["tables"][0]["file"]
    table.write_bytes(table.read_bytes()[:40])
    assert broken_message(state_dir).startswith(f"{table}: unreadable state table")


@pytest.mark.parametrize("entry", ["/etc/passwd", "../../x.parquet", "sub/table.parquet", ".."])
def test_an_entry_outside_the_state_folder_is_refused_unopened(
    state_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, entry: str
) -> None:
    # a valid table where ``../../x.parquet`` points: refused for its name, not for being absent
    first = state_dir / manifest_of(state_dir)["tables"][0]["file"]
    (tmp_path / "x.parquet").write_bytes(first.read_bytes())
    content = manifest_of(state_dir)
    content["tables"][0]["file"] = entry
    (state_dir / STATE_FILE).write_text(json.dumps(content), encoding="utf-8")
    opened: list[Path] = []
    real_read = pl.read_parquet
    monkeypatch.setattr(
        pl, "read_parquet", lambda source, *a, **k: opened.append(Path(source)) or real_read(source)
    )
    message = broken_message(state_dir)
    assert message.startswith(f"{state_dir / STATE_FILE}: state table {entry!r} is not a file in")
    assert opened == []  # refused before any table is read


def test_a_broken_state_stops_a_command_with_one_error_line(
    state_dir: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """Through the runner (as predict and the stages report errors): exit 1, no traceback."""
    monkeypatch.chdir(tmp_path)  # the runner's lock file goes to the working directory
    (state_dir / STATE_FILE).write_text('{"version": 1, "tab', encoding="utf-8")

    def body(_: object) -> None:
        load_state(state_dir)

    code = run_stage("check", body, "", argv=["-q"])
    line = error_line(code, capsys.readouterr().err)
    assert str(state_dir / STATE_FILE) in line
    assert RERUN in line
