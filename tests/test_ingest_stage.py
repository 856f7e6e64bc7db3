"""The ingest stage end to end, in-process: outputs, exit codes, and errors for people."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import polars as pl
import pytest
import sales_columns as c
from sales_columns import SALES
from support import (
    REPO_ROOT,
    Dialect,
    Project,
    RunIngest,
    csv_text,
    default_params,
    edit_contract,
    error_lines,
)

from features_pipeline.contracts.split import SPLIT
from features_pipeline.ingest.split import assign_split
from features_pipeline.ingest.synthetic import generate_sales
from features_pipeline.io import write_atomic, write_parquet_atomic

CSV = "data/raw/sales.csv"
EARLIER = b"earlier output of a successful run"


def failure_line(code: int, stderr: str) -> str:
    """The one ``error:`` line of a failed run (exit 1, no traceback)."""
    assert code == 1, stderr
    assert "Traceback" not in stderr
    lines = error_lines(stderr)
    assert len(lines) == 1, stderr
    return lines[0]


def leftovers(project: Project) -> list[str]:
    interim = project.root / "data" / "interim"
    return sorted(p.name for p in interim.iterdir()) if interim.exists() else []


def csv_params(**ingest: object) -> dict[str, object]:
    return default_params(ingest={"source": CSV, **ingest})


def test_synthetic_run_writes_the_interim_table(project: Project, run_ingest: RunIngest) -> None:
    assert run_ingest() == 0
    written = pl.read_parquet(project.output)
    expected = assign_split(generate_sales(300, seed=3), "random", 0.2, 42, SALES)
    assert written.equals(expected)
    assert written.columns == [*c.RAW_COLUMNS, SPLIT]
    assert leftovers(project) == ["sales.parquet"]  # no temp files left behind


def test_two_runs_write_byte_identical_output(project: Project, run_ingest: RunIngest) -> None:
    assert run_ingest() == 0
    first = project.output.read_bytes()
    project.output.unlink()
    assert run_ingest() == 0
    assert project.output.read_bytes() == first


def test_csv_source_in_any_dialect_gives_the_same_table_as_its_frame(
    project: Project, run_ingest: RunIngest
) -> None:
    frame = generate_sales(150, seed=9)
    dialect = Dialect(headers="snake", separator=";", newline="\r\n", money="trimmed", bom=True)
    (project.root / CSV).write_bytes(b"\xef\xbb\xbf" + csv_text(frame, dialect).encode())
    project.write_params(
        default_params(ingest={"source": CSV}, split={"strategy": "time", "test_size": 0.25})
    )
    assert run_ingest() == 0
    assert pl.read_parquet(project.output).equals(assign_split(frame, "time", 0.25, 0, SALES))


def _drop_column(frame: pl.DataFrame) -> bytes:
    return csv_text(frame.drop(c.UNIT_COST)).encode()


def _edit(column: str, row: int, value: str) -> Callable[[pl.DataFrame], bytes]:
    def make(frame: pl.DataFrame) -> bytes:
        edited = frame.with_columns(frame[column].cast(pl.String).scatter(row, value))
        return csv_text(edited).encode()

    return make


def _negative_units(frame: pl.DataFrame) -> bytes:
    units = frame[c.UNITS_SOLD].scatter(2, -3)
    fixed = frame.with_columns(
        units.alias(c.UNITS_SOLD),
        (units * frame[c.UNIT_PRICE]).round(2).alias(c.TOTAL_REVENUE),
        (units * frame[c.UNIT_COST]).round(2).alias(c.TOTAL_COST),
    ).with_columns((pl.col(c.TOTAL_REVENUE) - pl.col(c.TOTAL_COST)).round(2).alias(c.TOTAL_PROFIT))
    return csv_text(fixed).encode()


def _duplicate_id(frame: pl.DataFrame) -> bytes:
    return csv_text(frame.with_columns(frame[c.ORDER_ID].scatter(4, frame[c.ORDER_ID][0]))).encode()


def _latin1(frame: pl.DataFrame) -> bytes:
    return csv_text(frame.with_columns(frame[c.COUNTRY].scatter(3, "Curaçao"))).encode("latin-1")


# (id, CSV bytes from a 6-row frame, the part of the error line that names what is wrong)
BAD_INPUTS: list[tuple[str, Callable[[pl.DataFrame], bytes] | None, str]] = [
    ("missing-file", None, f"{CSV}: file not found"),
    ("empty-file", lambda _: b"", f"{CSV}: file is empty"),
    ("header-only", lambda f: csv_text(f.head(0)).encode(), f"{CSV}: header only, no data rows"),
    ("missing-column", _drop_column, f"{CSV}: missing required column(s) 'Unit Cost'"),
    (
        "bad-date",
        _edit(c.SHIP_DATE, 1, "31/31/2015"),
        f"{CSV}: column 'Ship Date': 1 value(s) are not a date like 5/28/2010 "
        "(line 3: '31/31/2015')",
    ),
    (
        "bad-number",
        _edit(c.UNIT_PRICE, 5, "12.4O"),
        f"{CSV}: column 'Unit Price': 1 value(s) are not a number (line 7: '12.4O')",
    ),
    (
        "negative-units",
        _negative_units,
        f"{CSV}: column 'Units Sold' fails check 'Units Sold > 0' in 1 row(s) (line 4: '-3')",
    ),
    ("duplicate-id", _duplicate_id, f"{CSV}: column 'Order ID' fails check 'field_uniqueness'"),
    (
        "non-utf8",
        _latin1,
        f"{CSV}: line 5, column 'Country': not valid UTF-8 ('Cura\\xe7ao')",
    ),
]


@pytest.mark.parametrize("earlier", [False, True], ids=["fresh", "earlier-output"])
@pytest.mark.parametrize(
    ("make", "expected"), [b[1:] for b in BAD_INPUTS], ids=[b[0] for b in BAD_INPUTS]
)
def test_bad_input_fails_with_one_line_and_writes_nothing(
    project: Project,
    run_ingest: RunIngest,
    capsys: pytest.CaptureFixture[str],
    make: Callable[[pl.DataFrame], bytes] | None,
    expected: str,
    earlier: bool,
) -> None:
    if make is not None:
        (project.root / CSV).write_bytes(make(generate_sales(6, seed=13)))
    project.write_params(csv_params())
    if earlier:
        project.output.parent.mkdir(parents=True)
        project.output.write_bytes(EARLIER)
    line = failure_line(run_ingest(), capsys.readouterr().err)
    assert line.startswith(f"error: {expected}")
    if earlier:
        assert project.output.read_bytes() == EARLIER
        assert leftovers(project) == ["sales.parquet"]
    else:
        assert not project.output.exists()
        assert leftovers(project) == []


def test_file_without_order_priority_passes_when_it_is_not_required(
    project: Project, run_ingest: RunIngest
) -> None:
    frame = generate_sales(50, seed=4).drop(c.ORDER_PRIORITY)
    (project.root / CSV).write_text(csv_text(frame), encoding="utf-8")
    project.write_params(csv_params())
    edit_contract(project.root, c.ORDER_PRIORITY, required=False)
    assert run_ingest() == 0
    written = pl.read_parquet(project.output)
    assert c.ORDER_PRIORITY not in written.columns
    assert written.drop(SPLIT).equals(frame)


def test_file_without_order_priority_fails_clearly_when_it_is_required(
    project: Project, run_ingest: RunIngest, capsys: pytest.CaptureFixture[str]
) -> None:
    frame = generate_sales(50, seed=4).drop(c.ORDER_PRIORITY)
    (project.root / CSV).write_text(csv_text(frame), encoding="utf-8")
    project.write_params(csv_params())
    line = failure_line(run_ingest(), capsys.readouterr().err)
    assert line == f"error: {CSV}: missing required column(s) 'Order Priority'"
    assert not project.output.exists()


def test_an_optional_column_may_be_spelt_differently(
    project: Project, run_ingest: RunIngest
) -> None:
    """Headers match the contract in any case and spacing, optional columns included."""
    frame = generate_sales(20, seed=4).drop(c.ORDER_PRIORITY)
    renamed = frame.rename({name: c.column_key(name) for name in frame.columns})
    (project.root / CSV).write_text(csv_text(renamed), encoding="utf-8")
    project.write_params(csv_params())
    edit_contract(project.root, c.ORDER_PRIORITY, required=False)
    assert run_ingest() == 0
    assert pl.read_parquet(project.output).drop(SPLIT).equals(frame)


@pytest.mark.parametrize("source", ["../outside.csv", "/tmp/sales.csv", "data/sales.csv"])
def test_a_source_outside_data_raw_is_refused(
    project: Project, run_ingest: RunIngest, capsys: pytest.CaptureFixture[str], source: str
) -> None:
    project.write_params(default_params(ingest={"source": source}))
    line = failure_line(run_ingest(), capsys.readouterr().err)
    assert line.startswith(f"error: params.yaml: ingest.source: {source!r} is outside data/raw/")
    assert not project.output.exists()


@pytest.mark.parametrize(
    ("sections", "expected"),
    [
        ({"ingest": {"colour": "red"}}, "ingest.colour: unknown key"),
        ({"ingest": {"rows": 0}}, "ingest.rows: Input should be greater than 0 (got 0)"),
        ({"ingest": {"rows": -5}}, "ingest.rows: Input should be greater than 0 (got -5)"),
        ({"ingest": {"seed": -1}}, "ingest.seed: Input should be greater than or equal to 0"),
        ({"split": {"strategy": "shuffle"}}, "split.strategy: Input should be 'random' or 'time'"),
        ({"split": {"test_size": 1.5}}, "split.test_size: Input should be less than 1 (got 1.5)"),
    ],
)
def test_bad_params_fail_with_one_line_naming_the_key(
    project: Project,
    run_ingest: RunIngest,
    capsys: pytest.CaptureFixture[str],
    sections: dict[str, dict[str, object]],
    expected: str,
) -> None:
    project.write_params(default_params(**sections))
    line = failure_line(run_ingest(), capsys.readouterr().err)
    assert line.startswith(f"error: params.yaml: {expected}")
    assert not project.output.exists()


def test_missing_params_file(
    project: Project, run_ingest: RunIngest, capsys: pytest.CaptureFixture[str]
) -> None:
    project.params.unlink()
    line = failure_line(run_ingest(), capsys.readouterr().err)
    assert line == "error: params.yaml: file not found"


def test_verbose_run_logs_the_traceback_for_debugging(
    project: Project, run_ingest: RunIngest, capsys: pytest.CaptureFixture[str]
) -> None:
    project.write_params(csv_params())
    assert run_ingest("-v") == 1
    stderr = capsys.readouterr().err
    assert "Traceback" in stderr
    assert error_lines(stderr) == [f"error: {CSV}: file not found"]


def test_a_failed_write_leaves_the_earlier_output_intact(tmp_path: Path) -> None:
    target = tmp_path / "interim" / "sales.parquet"
    write_parquet_atomic(generate_sales(5, seed=1), target)
    before = target.read_bytes()

    def half_write(tmp: Path) -> None:
        tmp.write_bytes(b"PAR1 half a file")
        raise OSError("disk full")

    with pytest.raises(OSError, match="disk full"):
        write_atomic(target, half_write)
    assert target.read_bytes() == before
    assert [p.name for p in target.parent.iterdir()] == ["sales.parquet"]


def test_stage_script_reports_a_bad_csv_without_traceback(project: Project) -> None:
    """The only subprocess test: the real ``python stages/ingest.py`` entry point."""
    frame = generate_sales(6, seed=13)
    (project.root / CSV).write_text(
        csv_text(frame).replace(f",{frame[c.UNITS_SOLD][0]},", ",-7,", 1), encoding="utf-8"
    )
    project.write_params(csv_params())
    env = {**os.environ, "PYTHONPATH": str(REPO_ROOT / "src")}
    env.pop("LOG_LEVEL", None)
    result = subprocess.run(
        [sys.executable, str(REPO_ROOT / "stages" / "ingest.py")],
        cwd=project.root,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 1
    assert "Traceback" not in result.stderr
    assert error_lines(result.stderr)[0].startswith(
        f"error: {CSV}: column 'Units Sold' fails check 'Units Sold > 0' in 1 row(s) (line 2: '-7')"
    )
    assert not project.output.exists()


def write_parts(project: Project, frame: pl.DataFrame, folder: str = "data/raw/parts") -> None:
    """``frame`` as three CSV parts in ``folder`` (part_0.csv, part_1.csv, part_2.csv)."""
    (project.root / folder).mkdir(parents=True)
    for index, part in enumerate(frame.iter_slices(n_rows=frame.height // 3 + 1)):
        (project.root / folder / f"part_{index}.csv").write_text(csv_text(part), encoding="utf-8")


@pytest.mark.parametrize("source", ["data/raw/parts", "data/raw/parts/part_*.csv"])
def test_a_folder_or_glob_of_csv_parts_reads_like_one_file(
    project: Project, run_ingest: RunIngest, source: str
) -> None:
    frame = generate_sales(90, seed=12)
    (project.root / CSV).write_text(csv_text(frame), encoding="utf-8")
    project.write_params(csv_params())
    assert run_ingest() == 0
    whole = project.output.read_bytes()
    write_parts(project, frame)
    project.write_params(csv_params(source=source))
    assert run_ingest() == 0
    assert project.output.read_bytes() == whole


def test_an_empty_folder_or_glob_is_one_line(
    project: Project, run_ingest: RunIngest, capsys: pytest.CaptureFixture[str]
) -> None:
    (project.root / "data/raw/empty").mkdir()
    project.write_params(csv_params(source="data/raw/empty"))
    line = failure_line(run_ingest(), capsys.readouterr().err)
    assert (
        line == "error: params.yaml: ingest.source: 'data/raw/empty': the folder holds no .csv file"
    )
    project.write_params(csv_params(source="data/raw/none_*.csv"))
    line = failure_line(run_ingest(), capsys.readouterr().err)
    assert line == (
        "error: params.yaml: ingest.source: 'data/raw/none_*.csv': no file matches the pattern"
    )
    assert not project.output.exists()


def test_a_key_repeated_across_parts_is_one_line(
    project: Project, run_ingest: RunIngest, capsys: pytest.CaptureFixture[str]
) -> None:
    frame = generate_sales(30, seed=13)
    twice = pl.concat([frame, frame.head(1)])
    write_parts(project, twice)
    project.write_params(csv_params(source="data/raw/parts"))
    line = failure_line(run_ingest(), capsys.readouterr().err)
    assert line.startswith(
        "error: data/raw/parts (3 files): column 'Order ID' fails check 'field_uniqueness' in 2 "
        "row(s)"
    )
    assert not project.output.exists()
