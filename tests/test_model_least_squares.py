"""The streaming least-squares fit gives LinearRegression's model without its memory."""

from __future__ import annotations

import tracemalloc

import numpy as np
import pytest
from sklearn.linear_model import LinearRegression

from features_pipeline.model import least_squares
from features_pipeline.model.least_squares import LeastSquares


def problem(rows: int, columns: int, seed: int = 7) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    matrix = np.asfortranarray(rng.normal(size=(rows, columns)) * rng.uniform(0.1, 50, columns))
    target = matrix @ rng.normal(size=columns) + 3.5 + rng.normal(scale=0.1, size=rows)
    return matrix, target


@pytest.fixture
def small_chunks(monkeypatch: pytest.MonkeyPatch) -> None:
    """Chunks of 7 rows: a few hundred rows go through many QR steps."""
    monkeypatch.setattr(least_squares, "CHUNK_ROWS", 7)


@pytest.mark.usefixtures("small_chunks")
@pytest.mark.parametrize("fit_intercept", [True, False])
def test_same_model_as_linear_regression(fit_intercept: bool) -> None:
    matrix, target = problem(500, 6)
    ours = LeastSquares(fit_intercept=fit_intercept).fit(matrix, target)
    theirs = LinearRegression(fit_intercept=fit_intercept).fit(matrix, target)
    np.testing.assert_allclose(ours.coef_, theirs.coef_, rtol=1e-10)
    np.testing.assert_allclose(ours.intercept_, theirs.intercept_, rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(ours.singular_, theirs.singular_, rtol=1e-10)
    assert ours.rank_ == theirs.rank_ == 6
    np.testing.assert_allclose(ours.predict(matrix), theirs.predict(matrix), rtol=1e-10)


@pytest.mark.usefixtures("small_chunks")
def test_collinear_columns_give_the_minimum_norm_solution() -> None:
    # one-hot of every value plus an intercept, and a column that is the sum of two others:
    # rank-deficient, as an undropped category or a derived feature makes a real table
    rng = np.random.default_rng(3)
    codes = rng.integers(0, 3, 300)
    one_hot = np.eye(3)[codes]
    numbers = rng.normal(size=(300, 2))
    matrix = np.asfortranarray(np.column_stack([one_hot, numbers, numbers.sum(axis=1)]))
    target = 2.0 * numbers[:, 0] - numbers[:, 1] + codes * 10.0
    ours = LeastSquares().fit(matrix, target)
    theirs = LinearRegression().fit(matrix, target)
    assert ours.rank_ == theirs.rank_ == 4
    np.testing.assert_allclose(ours.coef_, theirs.coef_, rtol=1e-8, atol=1e-9)
    np.testing.assert_allclose(ours.predict(matrix), target, atol=1e-9)


def test_fewer_rows_than_columns() -> None:
    matrix, target = problem(3, 8)
    ours = LeastSquares().fit(matrix, target)
    theirs = LinearRegression().fit(matrix, target)
    np.testing.assert_allclose(ours.predict(matrix), theirs.predict(matrix), rtol=1e-9)
    np.testing.assert_allclose(ours.coef_, theirs.coef_, rtol=1e-8, atol=1e-12)


def test_the_same_bits_every_fit_and_the_input_untouched() -> None:
    matrix, target = problem(150_000, 5)  # more than one chunk at the real chunk size
    before = matrix.copy()
    first = LeastSquares(copy_X=False).fit(matrix, target)
    second = LeastSquares(copy_X=False).fit(matrix, target)
    assert first.coef_.tobytes() == second.coef_.tobytes()
    assert first.intercept_ == second.intercept_
    assert np.array_equal(matrix, before)


def test_no_second_matrix_in_memory() -> None:
    matrix, target = problem(800_000, 10)  # 64 MB; the QR buffers are a few MB whatever the rows
    LeastSquares(copy_X=False).fit(matrix[:10], target[:10])  # imports and first-use caches
    tracemalloc.start()
    try:
        LeastSquares(copy_X=False).fit(matrix, target)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < matrix.nbytes / 4  # LinearRegression copies the whole matrix
    tracemalloc.start()
    try:
        LinearRegression(copy_X=False).fit(matrix.copy(order="F"), target)
        _, theirs = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert theirs > matrix.nbytes  # the measure sees a copy when there is one


def test_weighted_fits_take_linear_regressions_path() -> None:
    matrix, target = problem(200, 4)
    weights = np.linspace(0.5, 2.0, 200)
    ours = LeastSquares().fit(matrix, target, sample_weight=weights)
    theirs = LinearRegression().fit(matrix, target, sample_weight=weights)
    assert ours.coef_.tobytes() == theirs.coef_.tobytes()
    assert isinstance(ours, LinearRegression)
