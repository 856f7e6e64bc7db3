"""``features-pipeline predict --engine spark`` through a local Spark Connect server (``spark``):
new rows named by a ``file://`` URI are scored on the server and written there, with the
predictions of the Polars ``predict`` for the same rows; bad inputs are one line each."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import polars as pl
import pytest
import sales_columns as c
import yaml
from support import error_line, write_sales_csv
from test_predict import PLAIN, PREDICTED, Project, broken_rows, build_project

from features_pipeline import cli
from features_pipeline.predict.inputs import UNSEEN
from features_pipeline.predict.run import predict_csv

pytestmark = pytest.mark.spark

MODEL = Path("models/model.skops")
STATE = Path("data/features/state")


@pytest.fixture(scope="module")
def trained(tmp_path_factory: pytest.TempPathFactory, spark_connect_url: str) -> Iterator[Project]:
    """A project trained on Polars (as tests/test_predict.py does) whose params.yaml sends
    Spark work to the Connect server."""
    root = tmp_path_factory.mktemp("spark-predict")
    with pytest.MonkeyPatch.context() as patch:
        patch.chdir(root)
        project = build_project(root, PLAIN)
        params_file = root / "params.yaml"
        params = yaml.safe_load(params_file.read_text(encoding="utf-8"))
        params["engine"] = {"spark": {"remote": spark_connect_url, "connect_timeout_s": 120}}
        params_file.write_text(yaml.safe_dump(params), encoding="utf-8")
        yield project


def polars_predict(project: Project, csv: Path, output: Path) -> pl.DataFrame:
    predict_csv(project.root / MODEL, csv, output, state_path=project.root / STATE)
    return pl.read_csv(output)


def spark_predict(*args: str) -> int:
    return cli.main(["predict", "--engine", "spark", "-q", *args])


def read_output(output: Path) -> pl.DataFrame:
    """What Spark wrote: a folder of CSV parts (with a header) or of parquet parts."""
    assert output.is_dir(), output
    if output.suffix == ".csv":
        parts = sorted(output.glob("part-*.csv"))
        return pl.concat([pl.read_csv(part) for part in parts])
    return pl.read_parquet(sorted(output.glob("part-*.parquet")))


def assert_same_predictions(by_spark: pl.DataFrame, by_polars: pl.DataFrame) -> None:
    """Same columns, same rows by Order ID, predictions within 1e-9 relative."""
    assert by_spark.columns == by_polars.columns == [c.ORDER_ID, PREDICTED, UNSEEN]
    assert by_spark.height == by_polars.height
    joined = by_polars.join(by_spark, on=c.ORDER_ID, how="full", suffix="_spark")
    assert joined.get_column(c.ORDER_ID).null_count() == 0
    assert joined.get_column(f"{c.ORDER_ID}_spark").null_count() == 0
    left, right = joined.get_column(PREDICTED), joined.get_column(f"{PREDICTED}_spark")
    scale = left.abs().clip(lower_bound=1.0)
    assert ((left - right).abs() <= 1e-9 * scale).all()
    assert joined.get_column(UNSEEN).equals(joined.get_column(f"{UNSEEN}_spark"), check_names=False)


def test_predictions_on_spark_equal_polars_predict(
    trained: Project, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A file:// CSV in, a Spark CSV folder out; unseen categories flagged as on Polars."""
    rows = trained.test_rows
    items = rows.get_column(c.ITEM_TYPE).to_list()
    items[:2] = ["Gadgets", "Gizmos"]  # unseen in training: flagged, still predicted
    rows = rows.with_columns(pl.Series(c.ITEM_TYPE, items))
    csv = write_sales_csv(tmp_path / "new.csv", rows)
    output = tmp_path / "out" / "predictions.csv"
    assert spark_predict("--input", csv.as_uri(), "--output", output.as_uri()) == 0
    warned = capsys.readouterr().err
    assert "2 row(s) hold a category unseen in training ('Item Type': 2)" in warned, warned
    by_spark = read_output(output)
    by_polars = polars_predict(trained, csv, tmp_path / "by_polars.csv")
    assert by_polars.get_column(UNSEEN).sum() == 2
    assert_same_predictions(by_spark, by_polars)


def test_a_folder_of_parts_to_parquet_with_invalid_rows_skipped(
    trained: Project, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Two CSV parts (one with rows failing the contract's row rules) in a folder URI, parquet
    out: the rows Polars skips are skipped, the others predicted alike. Without the target
    columns the new rows are still read (only the model's columns are required)."""
    rows = trained.test_rows
    folder = tmp_path / "new"
    folder.mkdir()
    write_sales_csv(folder / "a.csv", rows.slice(8))
    bad = folder / "b.csv"
    bad.write_text(broken_rows(rows.head(8)).replace("lots", "7"), encoding="utf-8")
    output = tmp_path / "predictions.parquet"
    assert spark_predict("--input", folder.as_uri(), "--output", str(output)) == 0
    assert "skipped 2 row(s) failing the raw contract" in capsys.readouterr().err
    by_spark = read_output(output)
    both = tmp_path / "both.csv"  # the same rows in one file, for the Polars predict
    both.write_text(
        (folder / "a.csv").read_text(encoding="utf-8")
        + "".join(bad.read_text(encoding="utf-8").splitlines(keepends=True)[1:]),
        encoding="utf-8",
    )
    by_polars = polars_predict(trained, both, tmp_path / "by_polars.csv")
    assert by_spark.height == rows.height - 2
    assert_same_predictions(by_spark, by_polars)

    without_target = rows.drop(c.TOTAL_PROFIT, c.TOTAL_REVENUE, c.TOTAL_COST)
    csv = write_sales_csv(tmp_path / "no_target.csv", without_target)
    again = tmp_path / "no_target.parquet"
    assert spark_predict("--input", csv.as_uri(), "--output", again.as_uri()) == 0
    assert read_output(again).height == rows.height


def test_invalid_rows_fail_the_run_when_asked(
    trained: Project, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    csv = tmp_path / "new.csv"
    csv.write_text(broken_rows(trained.test_rows.head(8)).replace("lots", "7"), encoding="utf-8")
    output = tmp_path / "predictions.csv"
    args = ["--input", csv.as_uri(), "--output", output.as_uri(), "--on-invalid", "fail"]
    line = error_line(spark_predict(*args), capsys.readouterr().err)
    assert "column 'Units Sold' fails check 'Units Sold > 0' in 1 row(s)" in line, line
    assert "line 3" in line, line
    assert not output.exists()


def test_an_unparsable_cell_stops_the_run_even_when_skipping(
    trained: Project, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    csv = tmp_path / "new.csv"
    csv.write_text(broken_rows(trained.test_rows.head(8)), encoding="utf-8")
    args = ["--input", csv.as_uri(), "--output", str(tmp_path / "p.csv")]
    line = error_line(spark_predict(*args), capsys.readouterr().err)
    assert "column 'Units Sold'" in line, line
    assert "line 5: 'lots'" in line, line


@pytest.mark.parametrize(
    ("source", "target", "expected"),
    [
        ("missing.csv", "p.csv", "missing.csv: file not found"),
        ("empty/*.csv", "p.csv", "no CSV file there"),
        ("new.csv", "new.csv", "--output is the input; it would be overwritten"),
        ("new.csv", ".", "--output holds the input"),
    ],
    ids=["missing", "empty-glob", "output-is-input", "output-holds-input"],
)
def test_bad_inputs_are_one_line(
    trained: Project,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    source: str,
    target: str,
    expected: str,
) -> None:
    write_sales_csv(tmp_path / "new.csv", trained.test_rows.head(3))
    (tmp_path / "empty").mkdir()
    before = sorted(tmp_path.rglob("*"))
    args = ["--input", f"file://{tmp_path / source}", "--output", f"file://{tmp_path / target}"]
    line = error_line(spark_predict(*args), capsys.readouterr().err)
    assert expected in line, line
    assert sorted(tmp_path.rglob("*")) == before  # nothing written, nothing deleted


def test_options_spark_cannot_honour_are_refused(
    trained: Project, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    args = ["--input", "new.csv", "--output", "p.csv", "--rejected", "r.csv"]
    line = error_line(spark_predict(*args), capsys.readouterr().err)
    assert "--rejected is not supported on Spark" in line
