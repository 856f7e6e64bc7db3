"""Logging levels (-v/-q/LOG_LEVEL), timed steps, progress only on a terminal, stage timings."""

from __future__ import annotations

import argparse
import io
import json
import logging
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from rich.console import Console
from support import Project, RunIngest

from features_pipeline import logs
from features_pipeline.errors import UserError
from features_pipeline.runner import run_stage, write_stage_timing

PLAIN_LINE = re.compile(r"^\[\d\d:\d\d:\d\d\] (DEBUG|INFO|WARNING|ERROR) +(\w+: )?.+$")


@pytest.fixture(autouse=True)
def _no_log_level(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.delenv("LOG_LEVEL", raising=False)
    yield
    logging.getLogger(logs.LOGGER_NAME).handlers.clear()


@pytest.mark.parametrize(
    ("verbosity", "env", "level"),
    [
        (0, None, logging.INFO),
        (1, None, logging.DEBUG),
        (-1, None, logging.WARNING),
        (0, "debug", logging.DEBUG),
        (0, "ERROR", logging.ERROR),
        (0, "nonsense", logging.INFO),
        (-1, "DEBUG", logging.WARNING),  # a flag wins over the environment
        (1, "ERROR", logging.DEBUG),
    ],
)
def test_level_from_flags_and_log_level(
    verbosity: int, env: str | None, level: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    if env is not None:
        monkeypatch.setenv("LOG_LEVEL", env)
    assert logs.resolve_level(verbosity) == level


def emit(verbosity: int, capsys: pytest.CaptureFixture[str]) -> list[str]:
    logs.setup_logging(verbosity, stage="ingest")
    log = logs.get_logger("stages.ingest")
    log.debug("a debug detail")
    log.info("an info line")
    log.warning("a warning")
    return capsys.readouterr().err.splitlines()


def test_off_a_terminal_lines_are_plain_with_time_level_and_stage(
    capsys: pytest.CaptureFixture[str],
) -> None:
    lines = emit(0, capsys)
    assert len(lines) == 2
    for line in lines:
        assert PLAIN_LINE.match(line), line
        assert "\x1b[" not in line  # no colour codes in CI logs
    assert lines[0].endswith("INFO     ingest: an info line")
    assert lines[1].endswith("WARNING  ingest: a warning")


def test_verbose_adds_debug_and_quiet_keeps_warnings(capsys: pytest.CaptureFixture[str]) -> None:
    assert [line.split("ingest: ")[1] for line in emit(1, capsys)] == [
        "a debug detail",
        "an info line",
        "a warning",
    ]
    assert [line.split("ingest: ")[1] for line in emit(-1, capsys)] == ["a warning"]


def test_log_level_env_applies_without_flags(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("LOG_LEVEL", "WARNING")
    assert len(emit(0, capsys)) == 1


def test_timed_logs_the_step_with_its_fields_and_seconds(
    capsys: pytest.CaptureFixture[str],
) -> None:
    logs.setup_logging(0, stage="features")
    with logs.timed(logs.get_logger("x"), "run_feature_engineering", rows=10000) as fields:
        fields.update(cols=14)
    [line] = capsys.readouterr().err.splitlines()
    assert re.search(
        r"features: run_feature_engineering\{rows=10000 cols=14\} took \d+\.\d{3} s$", line
    )


def test_progress_is_off_when_stderr_is_not_a_terminal(capsys: pytest.CaptureFixture[str]) -> None:
    logs.setup_logging(0)
    assert not logs.progress_enabled()
    with logs.progress("generating", total=10) as advance:
        advance(5)
    assert list(logs.track(range(3), "folds")) == [0, 1, 2]
    with logs.status("validating"):
        pass
    assert capsys.readouterr().err == ""


def terminal() -> tuple[Console, io.StringIO]:
    buffer = io.StringIO()
    return Console(file=buffer, force_terminal=True, width=100), buffer


def test_progress_draws_on_a_terminal() -> None:
    logs.setup_logging(0)
    console, buffer = terminal()
    assert logs.progress_enabled(console)
    assert list(logs.track([1, 2, 3], "cross-validation folds", console=console)) == [1, 2, 3]
    assert "cross-validation folds" in buffer.getvalue()


def test_quiet_turns_progress_off_even_on_a_terminal() -> None:
    logs.setup_logging(-1)
    console, buffer = terminal()
    assert not logs.progress_enabled(console)
    with logs.progress("predict", total=4, console=console) as advance:
        advance(4)
    assert buffer.getvalue() == ""


def test_stage_timing_file(tmp_path: Path) -> None:
    path = write_stage_timing("train", 1.23456, {"rows": 8, "cols": 3}, tmp_path / "timing")
    assert path == tmp_path / "timing" / "train.json"
    assert json.loads(path.read_text()) == {"cols": 3, "rows": 8, "seconds": 1.235}
    assert [p.name for p in path.parent.iterdir()] == ["train.json"]  # no temp file left


def test_a_stage_run_writes_its_timing_and_logs_it(
    run_ingest: RunIngest, project: Project, capsys: pytest.CaptureFixture[str]
) -> None:
    assert run_ingest() == 0
    timing = json.loads((project.root / "metrics/timing/ingest.json").read_text())
    assert timing["rows"] == 300
    assert timing["cols"] == 15
    assert timing["seconds"] >= 0
    err = capsys.readouterr().err
    assert re.search(r"ingest: stage ingest\{rows=300 cols=15\} took \d+\.\d{3} s", err), err


def test_a_failed_stage_writes_no_timing(project: Project) -> None:
    def body(args: argparse.Namespace) -> None:
        raise UserError("params.yaml: train.cv_folds: too many")

    assert run_stage("train", body, "", argv=[]) == 1
    assert not (project.root / "metrics/timing/train.json").exists()


class SumModel:
    """A stand-in regressor: predicts the row sum and records each batch size."""

    def __init__(self) -> None:
        self.batches: list[int] = []

    def predict(self, frame: Any) -> Any:
        self.batches.append(frame.height)
        return frame.sum_horizontal().to_numpy()


def test_large_predictions_run_in_batches_with_the_values_of_one_call(
    capsys: pytest.CaptureFixture[str],
) -> None:
    import polars as pl

    from features_pipeline.predict import predict_in_batches

    logs.setup_logging(0)
    frame = pl.DataFrame({"a": [float(i) for i in range(10)], "b": [0.5] * 10})
    model = SumModel()
    predicted = predict_in_batches(model, frame, batch=4)
    assert model.batches == [4, 4, 2]
    assert predicted.tolist() == [i + 0.5 for i in range(10)]
    assert capsys.readouterr().err == ""  # no bar off a terminal
    assert predict_in_batches(model, frame).tolist() == predicted.tolist()
    assert model.batches[-1] == 10  # small inputs: one call
