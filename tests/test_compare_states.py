"""compare never shows a parent's metrics beside a queued, running or failed experiment: DVC keeps
the parent's metrics files in such an experiment's commit, which would read as its result."""

from __future__ import annotations

import json

import pytest
from test_compare import METRICS, exp_show, experiment

from features_pipeline.compare.comparison import compare
from features_pipeline.compare.render import to_json, to_markdown
from features_pipeline.compare.rows import rows_from_exp_show

PARENT_RMSE = 5e-10  # what the issue saw: the parent's value beside a failed run's new model


@pytest.mark.parametrize("state", ["failed", "queued", "running"])
def test_an_unfinished_experiment_has_no_metrics_and_no_seconds(state: str) -> None:
    unfinished = experiment("bogus", "e" * 40, state, PARENT_RMSE, "ridge")
    done = experiment("ridge", "c" * 40, "success", 121.6, "ridge")
    rows = {row.name: row for row in rows_from_exp_show(exp_show([done, unfinished]), METRICS)}
    assert rows["bogus"].metrics == {}
    assert rows["bogus"].seconds is None
    assert rows["bogus"].params["train.model.name"] == "ridge"  # what it was asked to run
    assert rows["ridge"].metrics["rmse"] == 121.6
    comparison = compare(exp_show([done, unfinished]))
    assert comparison.rows[-1].name == "bogus"
    assert comparison.best is not None
    assert comparison.best.name == "ridge"
    payload = json.loads(to_json(comparison))
    assert payload["rows"][-1]["metrics"] == {}
    last = to_markdown(comparison).splitlines()[2 + len(comparison.rows) - 1]
    assert "bogus" in last
    assert f"experiment ({state})" in last
    assert str(PARENT_RMSE) not in to_markdown(comparison)


def test_only_failed_and_queued_experiments_still_compare() -> None:
    rows = [experiment("bogus", "e" * 40, "failed", PARENT_RMSE, "ridge")]
    comparison = compare(exp_show(rows))
    assert [row.name for row in comparison.rows] == ["workspace", "main", "bogus"]
    assert comparison.best_experiment is None
