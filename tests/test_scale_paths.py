"""The code paths that make 5M rows fit in time and memory give the same results, on small data.

- CSV ingest: the one lazy pass (parse once, retry other date formats only where M/D/YYYY
  failed) equals the eager path (string table first, then parsing) and the generated table.
- Training: CV on a sample (``train.cv_rows``) equals CV on every row when the sample covers
  them, and is seeded; permutation importance likewise with ``evaluate.importance.rows``.
- The model card's data hash, computed chunk by chunk, equals the hash of the whole CSV.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import polars as pl
import pytest
import sales_columns as c
from model_support import DEFAULT_FEATURES, feature_table, plan, train_params
from pydantic import ValidationError
from sales_columns import SALES, read_sales_csv

from features_pipeline.contracts.split import SPLIT
from features_pipeline.errors import UserError
from features_pipeline.ingest.csv_reader import parse_columns, read_raw_strings
from features_pipeline.ingest.synthetic import generate_sales
from features_pipeline.model.card import data_sha256
from features_pipeline.model.importance import permutation_importance
from features_pipeline.model.pipeline import build_pipeline, column_roles
from features_pipeline.model.registry import REGISTRY, build_estimator
from features_pipeline.model.train import sample_rows, train_model

CSV_ROWS = 200_000
PUBLIC_DATES = "%-m/%-d/%Y"  # 5/8/2010, as in the public Sales Records files


def write_csv(frame: pl.DataFrame, path: Path, date_format: str = PUBLIC_DATES) -> Path:
    frame.write_csv(path, date_format=date_format, float_precision=2)
    return path


@pytest.fixture(scope="module")
def generated() -> pl.DataFrame:
    return generate_sales(CSV_ROWS, seed=11)


@pytest.fixture(scope="module")
def big_csv(generated: pl.DataFrame, tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_csv(generated, tmp_path_factory.mktemp("csv") / "sales.csv")


def test_lazy_csv_ingest_equals_the_eager_path_and_the_source(
    big_csv: Path, generated: pl.DataFrame
) -> None:
    lazy = read_sales_csv(big_csv)
    eager = parse_columns(big_csv, read_raw_strings(big_csv, c.SALES), c.SALES)
    assert lazy.equals(eager)
    assert lazy.equals(generated)
    assert lazy.schema == pl.Schema(c.RAW_SCHEMA)


@pytest.mark.parametrize("dates", ["%Y-%m-%d", "mixed"])
def test_dates_in_other_formats_take_the_retry_path_and_parse_the_same(
    dates: str, generated: pl.DataFrame, tmp_path: Path
) -> None:
    frame = generated.head(5_000)
    if dates == "mixed":  # every other row in ISO: the retry parses only those cells
        text = frame.with_columns(
            pl.when(pl.int_range(pl.len()) % 2 == 0)
            .then(pl.col(name).dt.strftime(PUBLIC_DATES))
            .otherwise(pl.col(name).dt.strftime("%Y-%m-%d"))
            for name in (c.ORDER_DATE, c.SHIP_DATE)
        )
        path = write_csv(text, tmp_path / "mixed.csv")
    else:
        path = write_csv(frame, tmp_path / "iso.csv", date_format=dates)
    assert read_sales_csv(path).equals(frame)


def test_a_bad_date_is_still_reported_after_the_retry(
    generated: pl.DataFrame, tmp_path: Path
) -> None:
    frame = generated.head(100).with_columns(pl.col(c.SHIP_DATE).dt.strftime(PUBLIC_DATES))
    frame = frame.with_columns(
        pl.when(pl.int_range(pl.len()) == 41)
        .then(pl.lit("31/31/2010"))
        .otherwise(pl.col(c.SHIP_DATE))
        .alias(c.SHIP_DATE)
    )
    with pytest.raises(UserError, match=r"'Ship Date': 1 value\(s\) are not a date.*line 43"):
        read_sales_csv(write_csv(frame, tmp_path / "bad.csv"))


@pytest.fixture(scope="module")
def table() -> pl.DataFrame:
    return feature_table(400, seed=9)


def test_cv_on_a_sample_covering_every_row_is_cv_on_every_row(table: pl.DataFrame) -> None:
    train_rows = table.filter(pl.col(SPLIT) == "train").height
    every = train_model(table, train_params(cv_rows=None), plan(), dataset=SALES)
    covering = train_model(table, train_params(cv_rows=train_rows), plan(), dataset=SALES)
    assert covering.cv.folds == every.cv.folds
    assert covering.cv.fold_table().get_column("rows").sum() == train_rows


def test_cv_on_fewer_rows_is_seeded_and_uses_that_many(table: pl.DataFrame) -> None:
    first = train_model(table, train_params(cv_rows=120), plan(), dataset=SALES)
    again = train_model(table, train_params(cv_rows=120), plan(), dataset=SALES)
    assert first.cv.folds == again.cv.folds
    assert first.cv.fold_table().get_column("rows").sum() == 120
    # the final model is fitted on every training row all the same
    assert first.rows == table.filter(pl.col(SPLIT) == "train").height


def test_sample_rows_keeps_row_order_and_pairs() -> None:
    features = pl.DataFrame({"x": np.arange(50)})
    target = np.arange(50, dtype=np.float64) * 10
    sampled, y = sample_rows(features, target, 20, seed=3)
    xs = sampled.get_column("x").to_numpy()
    assert len(xs) == 20
    assert (np.diff(xs) > 0).all()
    assert np.array_equal(y, xs * 10.0)
    same, all_y = sample_rows(features, target, 50, seed=3)
    assert same is features
    assert all_y is target


def test_cv_rows_below_the_folds_is_refused() -> None:
    with pytest.raises(ValidationError, match="cv_folds"):
        train_params(cv_rows=2)


def test_importance_on_a_sample_covering_every_row_is_importance_on_every_row(
    table: pl.DataFrame,
) -> None:
    result = train_model(table, train_params(), plan(), dataset=SALES)
    test = table.filter(pl.col(SPLIT) == "test")
    features = test.select(DEFAULT_FEATURES)
    actual = test.get_column(c.TOTAL_PROFIT).to_numpy()
    every = permutation_importance(result.model, features, actual, repeats=2, seed=4)
    covering = permutation_importance(
        result.model, features, actual, repeats=2, seed=4, max_rows=test.height
    )
    assert covering.equals(every)


def test_the_training_data_hash_is_the_same_for_any_chunking() -> None:
    frame = generate_sales(1_234, seed=2)
    whole = data_sha256(frame)
    parts = pl.concat([frame.slice(0, 100), frame.slice(100, 500), frame.slice(600)], rechunk=False)
    assert parts.n_chunks() == 3
    assert data_sha256(parts) == whole
    assert data_sha256(frame.head(0)) != whole


def test_boosted_trees_get_category_codes_and_linear_models_one_hot() -> None:
    table = feature_table(60, seed=1)
    roles = column_roles(table.schema, [c.ITEM_TYPE, c.UNITS_SOLD])

    def one_hot(name: str) -> bool:
        spec = REGISTRY[name]
        return bool(build_pipeline(roles, spec, build_estimator(name, {}, 0))[0].one_hot)

    assert not one_hot("hist_gradient_boosting")  # category codes
    assert one_hot("ridge")
    assert one_hot("random_forest")
