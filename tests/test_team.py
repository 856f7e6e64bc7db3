"""Quiet git for a team: a re-run that reproduces a stage's outputs rewrites no git-tracked file
(the stage timing keeps the time of the run that made those bytes), and the data-quality metrics
give `dvc exp show` two null columns, not one per feature."""

from __future__ import annotations

import json
from pathlib import Path

import yaml
from support import REPO_ROOT, Project, RunIngest, default_params

from features_pipeline.runner import output_digests, timing_is_current
from features_pipeline.validation.quality import null_summary

TIMING = Path("metrics/timing/ingest.json")


def test_a_rerun_with_the_same_outputs_keeps_the_timing_file(
    run_ingest: RunIngest, project: Project
) -> None:
    assert run_ingest() == 0
    first = TIMING.read_bytes()
    recorded = json.loads(first)
    assert recorded["outputs"] == [
        {"path": "data/interim/sales.parquet", "sha256": recorded["outputs"][0]["sha256"]}
    ]
    assert run_ingest() == 0
    assert TIMING.read_bytes() == first  # same parquet bytes: the committed time stands


def test_new_outputs_get_a_new_timing(run_ingest: RunIngest, project: Project) -> None:
    assert run_ingest() == 0
    first = json.loads(TIMING.read_text())
    project.write_params(default_params(ingest={"rows": 250}))
    assert run_ingest() == 0
    second = json.loads(TIMING.read_text())
    assert second["rows"] == 250
    assert second["outputs"] != first["outputs"]


def test_output_digests_cover_folders_and_skip_missing_outputs(tmp_path: Path) -> None:
    folder = tmp_path / "state"
    (folder / "sub").mkdir(parents=True)
    (folder / "a.json").write_text("{}")
    (folder / "sub" / "b.parquet").write_bytes(b"x")
    before = output_digests([folder, tmp_path / "missing"])
    assert [entry["path"] for entry in before] == [folder.as_posix()]
    (folder / "sub" / "b.parquet").write_bytes(b"y")
    assert output_digests([folder]) != before
    (folder / "sub" / "b.parquet").write_bytes(b"x")
    (folder / "sub" / "b.parquet").rename(folder / "b.parquet")  # same bytes, other name
    assert output_digests([folder]) != before


def test_a_timing_file_without_digests_is_never_current(tmp_path: Path) -> None:
    path = tmp_path / "t.json"
    assert not timing_is_current(path, [{"path": "x", "sha256": "0"}])  # missing
    path.write_text('{"seconds": 1}')
    assert not timing_is_current(path, [{"path": "x", "sha256": "0"}])
    assert not timing_is_current(path, [])  # a stage with no output: always rewritten
    path.write_text("not json")
    assert not timing_is_current(path, [{"path": "x", "sha256": "0"}])


def test_null_summary_has_two_metrics_and_a_list_per_column() -> None:
    summary = null_summary({"b": 0, "a": 3, "c": 2})
    assert summary == {
        "columns": 2,
        "total": 5,
        "by_column": [
            {"column": "a", "nulls": 3},
            {"column": "b", "nulls": 0},
            {"column": "c", "nulls": 2},
        ],
    }


def test_dvc_shows_lists_as_no_metric() -> None:
    """What null_summary and the timing digests rely on: DVC's metrics skip lists."""
    from dvc.repo.metrics.show import _extract_metrics

    shown = _extract_metrics(null_summary({"a": 1}) | {"outputs": [{"path": "p"}]}, "m.json")
    assert shown == {"columns": 1, "total": 1}


def test_committed_metrics_have_no_per_column_null_metric() -> None:
    written = json.loads((REPO_ROOT / "metrics/validation.json").read_text(encoding="utf-8"))
    assert isinstance(written["nulls"]["by_column"], list)
    pipeline = yaml.safe_load((REPO_ROOT / "dvc.yaml").read_text(encoding="utf-8"))
    assert "metrics/validation.json" in json.dumps(pipeline["stages"]["validate"]["metrics"])
