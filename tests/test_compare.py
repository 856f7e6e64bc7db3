"""features-pipeline compare: rows from `dvc exp show --json`, sorting, the best, the outputs."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from features_pipeline import cli
from features_pipeline.compare.comparison import (
    CELL_WIDTH,
    compare,
    lower_is_better,
    short_names,
    tie_breakers,
)
from features_pipeline.compare.exp_show import exp_show_command, parse_exp_show, read_exp_show
from features_pipeline.compare.render import to_json, to_markdown, to_rich_table
from features_pipeline.compare.rows import rows_from_exp_show
from features_pipeline.errors import UserError

METRICS = "metrics/metrics.json"
GIT_ENV = {
    **os.environ,
    "GIT_AUTHOR_NAME": "t",
    "GIT_AUTHOR_EMAIL": "t@example.invalid",
    "GIT_COMMITTER_NAME": "t",
    "GIT_COMMITTER_EMAIL": "t@example.invalid",
    "DVC_NO_ANALYTICS": "1",
}
BASE_PARAMS = {"train": {"model": {"name": "hist_gradient_boosting"}, "cv_folds": 5}}


def data(
    metrics: dict[str, Any] | None,
    params: dict[str, Any],
    seconds: dict[str, float] | None = None,
) -> dict[str, Any]:
    files = {METRICS: {"data": metrics}} if metrics is not None else {}
    for stage, value in (seconds or {}).items():
        files[f"metrics/timing/{stage}.json"] = {"data": {"seconds": value, "rows": 10}}
    files["metrics/train.json"] = {"data": {"cv": {"rmse_mean": 1.0}}}
    return {"metrics": files, "params": {"params.yaml": {"data": params}}}


def with_model(name: str, **train: Any) -> dict[str, Any]:
    return {"train": {**BASE_PARAMS["train"], **train, "model": {"name": name}}}


def experiment(
    label: str, rev: str, state: str | None, rmse: float | None, model: str, **train: Any
) -> dict[str, Any]:
    """One experiment of `dvc exp show --json` (``state`` None: run in the workspace)."""
    metrics = None if rmse is None else {"rmse": rmse, "r2": 1 - rmse / 1e6, "rows": 100}
    return {
        "name": label,
        "executor": {"state": state} if state else None,
        "revs": [{"rev": rev, "name": label, "data": data(metrics, with_model(model, **train))}],
    }


def exp_show(experiments: list[dict] | None = None) -> list[dict[str, Any]]:
    """A `dvc exp show --json` payload: workspace, HEAD (main) with experiments, an old commit."""
    baseline = {"rmse": 2687.33, "r2": 0.997313, "rows": 100, "gates": {"r2": {"min": 0.99}}}
    return [
        {
            "rev": "workspace",
            "name": None,
            "data": data(baseline, BASE_PARAMS, {"ingest": 0.5, "train": 1.25}),
            "experiments": None,
        },
        {
            "rev": "a" * 40,
            "name": "main",
            "data": data(baseline, BASE_PARAMS, {"ingest": 0.5, "train": 1.5}),
            "experiments": experiments,
        },
        {"rev": "b" * 40, "name": None, "data": data(None, {}), "experiments": None},
    ]


SWEEP = [
    experiment("ridge", "c" * 40, "success", 121.6, "ridge"),
    experiment("lasso", "d" * 40, None, 74.6, "lasso"),
    experiment("failing", "e" * 40, "failed", 10.0, "elastic_net"),
    experiment("waiting", "f" * 40, "queued", None, "random_forest"),
]


def test_rows_cover_workspace_commits_and_experiments_without_metricless_commits() -> None:
    rows = rows_from_exp_show(exp_show(SWEEP), METRICS)
    assert [(row.name, row.kind) for row in rows] == [
        ("workspace", "workspace"),
        ("main", "commit"),
        ("ridge", "experiment"),
        ("lasso", "experiment"),
        ("failing", "experiment"),
        ("waiting", "experiment"),
    ]  # the old commit without metrics (before the pipeline existed) is left out
    ridge = rows[2]
    assert ridge.metrics == {"rmse": 121.6, "r2": 1 - 121.6 / 1e6, "rows": 100}
    assert ridge.params["train.model.name"] == "ridge"
    assert ridge.baseline == "main"
    assert rows[0].seconds == 1.75  # summed over metrics/timing/*.json


def test_sorted_by_rmse_ascending_best_marked_failed_and_queued_last() -> None:
    comparison = compare(exp_show(SWEEP))
    assert comparison.metric == "rmse"
    assert comparison.ascending is True
    names = [row.name for row in comparison.rows]
    assert names == ["lasso", "ridge", "workspace", "main", "failing", "waiting"]
    assert comparison.best is not None
    assert comparison.best.name == "lasso"  # the failed run's lower rmse does not count
    assert comparison.best_experiment is not None
    assert comparison.best_experiment.name == "lasso"
    assert comparison.params == ["train.model.name"]  # cv_folds is the same everywhere
    assert [row.label for row in comparison.rows][-2:] == [
        "experiment (failed)",
        "experiment (queued)",
    ]


def test_direction_follows_the_metric_or_the_flag() -> None:
    by_r2 = compare(exp_show(SWEEP), "r2")
    assert by_r2.ascending is False
    assert by_r2.rows[0].name == "lasso"  # highest r2
    worst_first = compare(exp_show(SWEEP), "rmse", ascending=False)
    assert worst_first.rows[0].name in {"workspace", "main"}
    assert lower_is_better("timing/train.seconds")
    assert not lower_is_better("r2")


def test_metrics_that_differ_are_shown_gate_details_and_constants_are_not() -> None:
    comparison = compare(exp_show(SWEEP))
    assert comparison.shown == ["rmse", "r2"]  # rows (100 everywhere) and gates.* hidden
    assert "gates.r2.min" in comparison.metrics  # still in --json
    assert comparison.header() == ["", "name", "kind", "rmse", "r2", "seconds", "model.name"]


def test_with_all_metrics_keys_are_prefixed_by_their_file() -> None:
    comparison = compare(exp_show(SWEEP), "metrics.rmse", metrics_file=None)
    assert "train.cv.rmse_mean" in comparison.metrics
    assert "timing/train.seconds" in comparison.metrics
    assert comparison.rows[0].name == "lasso"
    with pytest.raises(UserError, match="ambiguous"):
        compare(exp_show(SWEEP), "seconds", metrics_file=None)


def test_unknown_metric_names_the_known_ones() -> None:
    with pytest.raises(UserError) as error:
        compare(exp_show(SWEEP), "rmsee")
    assert error.value.message == (
        "compare: --sort-by: unknown metric 'rmsee' (known: gates.r2.min, r2, rmse, rows)"
    )


def test_no_commit_and_no_metrics_are_explained() -> None:
    with pytest.raises(UserError, match="no commit yet"):
        compare([])
    empty = [{"rev": "workspace", "data": data(None, {}), "experiments": None}]
    with pytest.raises(UserError, match=r"no metrics yet; run the pipeline first \(dvc repro\)"):
        compare(empty)


def test_markdown_table() -> None:
    markdown = to_markdown(compare(exp_show(SWEEP)))
    lines = markdown.splitlines()
    assert lines[0] == "|  | name | kind | rmse | r2 | seconds | model.name |"
    assert lines[1] == "|---|---|---|---|---|---|---|"
    assert lines[2] == "| ★ | lasso | experiment | 74.6 | 0.999925 | - | lasso |"
    assert (
        lines[4]
        == "|  | workspace | workspace | 2687.33 | 0.997313 | 1.75 | hist_gradient_boosting |"
    )
    assert lines[-1].startswith("sorted by `rmse` (ascending); ★ best")


def test_long_cells_are_shortened_in_tables_but_not_in_json() -> None:
    features = [f"feature_{index}" for index in range(20)]
    sweep = [experiment("wide", "c" * 40, "success", 100.0, "ridge", features=features)]
    comparison = compare(exp_show(sweep))
    column = comparison.header().index("features")
    cell = comparison.table_rows()[0][column]
    assert cell.startswith('["feature_0", "feature_')
    assert cell.endswith("…")
    assert len(cell) == CELL_WIDTH
    row = json.loads(to_json(comparison))["rows"][0]
    assert json.loads(row["params"]["train.features"]) == features


def test_json_for_scripts() -> None:
    payload = json.loads(to_json(compare(exp_show(SWEEP))))
    assert payload["sort_by"] == "rmse"
    assert payload["best"] == "lasso"
    assert payload["best_experiment"] == "lasso"
    assert payload["params_differing"] == ["train.model.name"]
    first = payload["rows"][0]
    assert first["metrics"]["rmse"] == 74.6
    assert first["params"] == {"train.model.name": "lasso"}
    assert [row["state"] for row in payload["rows"]][-2:] == ["failed", "queued"]


def test_rich_table_lists_every_row() -> None:
    from rich.console import Console

    console = Console(width=200, record=True)
    console.print(to_rich_table(compare(exp_show(SWEEP))))
    text = console.export_text()
    for name in ("lasso", "ridge", "workspace", "main", "failing", "waiting"):
        assert name in text
    assert "★" in text


def test_outside_a_dvc_project_the_error_says_so(tmp_path: Path) -> None:
    with pytest.raises(UserError, match=r"not a DVC project \(no \.dvc/ folder\)"):
        read_exp_show(tmp_path)


def test_exp_show_output_is_parsed_or_explained() -> None:
    assert parse_exp_show('[{"rev": "workspace"}]') == [{"rev": "workspace"}]
    assert parse_exp_show("") == []
    assert parse_exp_show("{}") == []  # not a list: no entries
    with pytest.raises(UserError, match=r"dvc exp show printed no JSON \(Expecting value\)"):
        parse_exp_show("WARNING: no experiments")


def test_exp_show_arguments() -> None:
    assert exp_show_command() == ["exp", "show", "--json", "--num", "1"]
    assert exp_show_command(3) == ["exp", "show", "--json", "--num", "3"]
    assert exp_show_command(all_commits=True) == ["exp", "show", "--json", "--all-commits"]


@dataclass
class FakeDvc:
    payload: list[dict[str, Any]]  # what `dvc exp show --json` prints
    calls: list[dict[str, Any]] = field(default_factory=list)


@pytest.fixture
def fake_dvc(monkeypatch: pytest.MonkeyPatch) -> FakeDvc:
    """``read_exp_show`` returns ``fake_dvc.payload`` instead of running DVC."""
    fake = FakeDvc(exp_show([]))

    def read(project: Path = Path("."), num: int = 1, all_commits: bool = False) -> list:
        fake.calls.append({"num": num, "all_commits": all_commits})
        return fake.payload

    monkeypatch.setattr("features_pipeline.compare.exp_show.read_exp_show", read)
    return fake


def test_cli_compare_without_experiments_prints_the_table_and_a_hint(
    fake_dvc: FakeDvc, capsys: pytest.CaptureFixture[str]
) -> None:
    assert cli.main(["compare", "--md"]) == 0
    out, err = capsys.readouterr()
    assert "| ★ | workspace | workspace |" in out
    assert "no experiments yet: try `dvc exp run -S train.model.name=ridge`" in err


def test_cli_compare_with_experiments(
    fake_dvc: FakeDvc, capsys: pytest.CaptureFixture[str]
) -> None:
    fake_dvc.payload[1]["experiments"] = SWEEP
    assert cli.main(["compare", "--json", "-A"]) == 0
    assert json.loads(capsys.readouterr().out)["best"] == "lasso"
    assert fake_dvc.calls[-1] == {"num": 3, "all_commits": True}
    assert cli.main(["compare", "--best"]) == 0
    assert capsys.readouterr().out == "lasso\n"
    assert cli.main(["compare", "--sort-by", "r2", "-n", "5"]) == 0
    out, err = capsys.readouterr()
    assert out.index("lasso") < out.index("ridge") < out.index("workspace")
    assert err == ""
    assert fake_dvc.calls[-1] == {"num": 5, "all_commits": False}


def test_cli_compare_best_without_experiments_is_a_user_error(
    fake_dvc: FakeDvc, capsys: pytest.CaptureFixture[str]
) -> None:
    assert cli.main(["compare", "--best"]) == 1
    err = capsys.readouterr().err
    assert "error: compare: --best: no finished experiment yet" in err


def test_cli_compare_outside_a_dvc_project(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(tmp_path)
    assert cli.main(["compare"]) == 1
    err = capsys.readouterr().err
    assert "not inside a features-pipeline project" in err
    assert "Traceback" not in err


def fitted(label: str, model: str, rmse: float, **params: Any) -> dict[str, Any]:
    """A finished experiment whose r2 (as the metrics file has it: 6 significant digits) is
    1.0 whenever its rmse is small, with the params of a realistic sweep."""
    r2 = float(f"{1 - rmse**2 / 1e12:.6g}")
    metrics = {"rmse": rmse, "mae": rmse * 0.8, "mape": rmse / 1e4, "r2": r2, "rows": 1951}
    train = {
        "model": {
            "name": model,
            "params": {
                "ridge": {"alpha": params.get("alpha", 1.0)},
                "hist_gradient_boosting": {"max_depth": params.get("depth", 3)},
            },
        },
        "features": params.get("features", ["Units Sold", "Unit Price", "Unit Cost"]),
        "cv_folds": params.get("folds", 5),
    }
    values = {"train": train, "split": {"test_size": params.get("test_size", 0.2)}}
    revision = {"rev": label * 8, "name": label, "data": data(metrics, values, {"train": 1.0})}
    return {"name": label, "executor": {"state": "success"}, "revs": [revision]}


ROUNDED_TIES = [  # ridge first, as DVC may list it; every r2 is 1.0 once rounded
    fitted("ridge", "ridge", 121.636, alpha=0.1),
    fitted("lasso", "lasso", 74.5695),
    fitted("linear", "linear", 3.78423e-10, features=["Units Sold", "Unit Price"]),
    fitted("hgb", "hist_gradient_boosting", 1250.0, depth=6, folds=3, test_size=0.25),
]


def test_rows_with_equal_rounded_values_are_ordered_by_the_error_metrics() -> None:
    comparison = compare(exp_show(ROUNDED_TIES), "r2")
    assert [row.metrics["r2"] for row in comparison.rows[:3]] == [1.0, 1.0, 1.0]
    assert [row.name for row in comparison.rows][:4] == ["linear", "lasso", "ridge", "hgb"]
    assert comparison.ties == ["rmse", "mae", "mape"]
    assert comparison.best_experiment is not None
    assert comparison.best_experiment.name == "linear"
    assert "(descending, equal values by rmse, mae, mape)" in comparison.describe()


def test_tie_breakers_are_the_error_metrics_beside_the_sort_metric() -> None:
    keys = ["r2", "rmse", "mae", "train.cv.r2_mean", "train.cv.rmse_mean", "train.cv.mae_mean"]
    assert tie_breakers("r2", keys) == ["rmse", "mae"]
    assert tie_breakers("rmse", keys) == ["mae"]
    assert tie_breakers("train.cv.r2_mean", keys) == ["train.cv.rmse_mean", "train.cv.mae_mean"]
    assert tie_breakers("rows", keys) == ["rmse", "mae"]


def test_the_star_marks_what_best_prints(
    fake_dvc: FakeDvc, capsys: pytest.CaptureFixture[str]
) -> None:
    """The commit beats every experiment: ★ still marks the experiment --best names (the top
    row is the best overall)."""
    fake_dvc.payload[1]["experiments"] = [
        experiment("ridge", "c" * 40, "success", 3000.0, "ridge"),
        experiment("lasso", "d" * 40, "success", 2800.0, "lasso"),
    ]
    assert cli.main(["compare", "--best"]) == 0
    best = capsys.readouterr().out.strip()
    assert best == "lasso"
    assert cli.main(["compare", "--md"]) == 0
    starred = [line for line in capsys.readouterr().out.splitlines() if line.startswith("| ★")]
    assert starred == [f"| ★ | {best} | experiment | 2800 | 0.9972 | - | lasso |"]
    assert cli.main(["compare"]) == 0
    table = capsys.readouterr().out
    assert re.search(rf"│ ★ │ {best}\s+│ experiment", table), table
    assert "★ best experiment (--best)" in " ".join(table.split())


def test_without_experiments_the_star_marks_the_best_row() -> None:
    comparison = compare(exp_show([]))
    assert comparison.marked is comparison.best
    assert comparison.table_rows()[0][:2] == ["★", "workspace"]


def test_the_table_fits_a_terminal_of_120_columns(
    fake_dvc: FakeDvc, capsys: pytest.CaptureFixture[str]
) -> None:
    """Piped (as here) the table is 120 columns wide: too wide as one table, it is printed as
    metrics, then params, with the rows in the same order; no header or cell is cut."""
    fake_dvc.payload[1]["experiments"] = ROUNDED_TIES
    assert cli.main(["compare", "--sort-by", "r2"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert max(map(len, lines)) <= 120, "\n".join(lines)
    headers = [line.split("┃")[1:-1] for line in lines if line.startswith("┃")]
    assert [[h.strip() for h in header] for header in headers] == [
        ["", "name", "kind", "r2", "mae", "mape", "rmse", "rows", "seconds"],
        ["name", "test_size", "cv_folds", "features", "model.name", "max_depth", "alpha"],
    ]
    rows = [line.split("│")[1:-1] for line in lines if line.startswith("│")]
    names = [cells[1].strip() for cells in rows[:6]]
    assert names == ["linear", "lasso", "ridge", "hgb", "workspace", "main"]
    assert [cells[0].strip() for cells in rows[6:]] == names
    assert "hist_gradient_boosting" in rows[-1][4]


def test_param_columns_are_named_by_the_shortest_ending_that_names_one() -> None:
    keys = ["train.model.name", "train.model.params.ridge.alpha", "features:spec", "a.x", "b.x"]
    assert short_names(keys, taken={"name"}) == {
        "train.model.name": "model.name",
        "train.model.params.ridge.alpha": "alpha",
        "features:spec": "features:spec",
        "a.x": "a.x",
        "b.x": "b.x",
    }


def test_the_fakes_have_the_shape_real_dvc_prints(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The payloads above are what `dvc exp show --json` of the pinned DVC prints, field for field
    that the rows read: a real DVC project, one commit, a metrics file and two params files.

    Why not ``dvc.api.exp_show()``: its flat records drop which file a metric comes from (bare
    ``rmse`` unless two files share a key), and stringify ``None``, booleans and lists ("True",
    "['Region', ...]"), so neither ``--metrics-file`` nor the params columns could be kept exact.
    """
    project = tmp_path / "project"
    project.mkdir()
    venv_bin = str(Path(sys.executable).parent)  # this venv's dvc, activated or not
    monkeypatch.setenv("PATH", f"{venv_bin}{os.pathsep}{os.environ['PATH']}")

    def run(*args: str) -> None:
        subprocess.run(
            args,
            cwd=project,
            check=True,
            capture_output=True,
            env={**GIT_ENV, "PATH": os.environ["PATH"]},
        )

    run("git", "init", "-q", "-b", "main")
    run("dvc", "init", "-q")
    (project / "metrics").mkdir()
    metrics = {"rmse": 2687.33, "r2": 0.997313, "rows": 100, "gates": {"r2": {"min": 0.99}}}
    (project / METRICS).write_text(json.dumps(metrics), encoding="utf-8")
    (project / "metrics/timing").mkdir()
    (project / "metrics/timing/train.json").write_text('{"seconds": 1.5}', encoding="utf-8")
    (project / "params.yaml").write_text(
        "train:\n  model: {name: ridge}\n  features: [Region, Units Sold]\n  max_rows: null\n",
        encoding="utf-8",
    )
    (project / "dvc.yaml").write_text(
        "metrics: [metrics/metrics.json, metrics/timing/train.json]\nparams: [params.yaml]\n",
        encoding="utf-8",
    )
    run("git", "add", "-A")
    run("git", "commit", "-qm", "baseline")

    rows = rows_from_exp_show(read_exp_show(project), METRICS)

    assert [(row.kind, row.name) for row in rows] == [
        ("workspace", "workspace"),
        ("commit", "main"),
    ]
    for row in rows:
        assert row.metrics == {"rmse": 2687.33, "r2": 0.997313, "rows": 100, "gates.r2.min": 0.99}
        assert row.params == {
            "train.model.name": "ridge",
            "train.features": '["Region", "Units Sold"]',
            "train.max_rows": None,
        }
        assert row.seconds == 1.5
        assert row.finished
