"""The crash suite, short (4 kills per stage): every stage SIGKILLed at random moments leaves no
corrupt output, and doctor plus a plain ``dvc repro`` give the uninterrupted run's outputs
(scripts/crash_suite.py runs the long version)."""

from __future__ import annotations

from pathlib import Path

import pytest
from crash_support import STAGES, run_crash_suite

KILLS_PER_STAGE = 4
SEED = 15


@pytest.mark.slow
def test_random_kills_of_every_stage_leave_nothing_broken(project_repo: Path) -> None:
    report = run_crash_suite(project_repo, KILLS_PER_STAGE, SEED)
    print(report.line())
    assert report.problems == []
    assert report.kills + report.finished_first == KILLS_PER_STAGE * len(STAGES)
    assert report.kills >= KILLS_PER_STAGE * len(STAGES) // 2  # the kills mostly hit a run
