"""Ordinary least squares for millions of rows: scikit-learn's LinearRegression, fitted by a
streaming QR decomposition instead of one LAPACK least-squares call on the whole matrix.

``LinearRegression`` hands the centred matrix to ``scipy.linalg.lstsq`` (``gelsd``), which
copies it (a second matrix of rows x columns float64) and decomposes it whole: at 4M rows x 33
columns that is 5 s of one core and 1 GB more memory. Here the centred rows, with the target
as one more column, go through Householder QR ``CHUNK_ROWS`` at a time; each chunk is reduced
together with the triangle kept so far (the "tall skinny QR"), in one buffer of ``CHUNK_ROWS``
rows. The final triangle ``R`` has the singular values of the centred matrix, and its last
column holds ``Q^T y``: the same minimum-norm ``gelsd`` solve with the same cut-off
(``tol``, relative to the largest singular value), on a columns x columns system, gives
LinearRegression's coefficients up to rounding. Chunks are reduced in row order (one BLAS thread
with train.threads: 1): the same bits every run.

Predictions, the fitted attributes (``coef_``, ``intercept_``, ``rank_``, ``singular_``) and
every hyperparameter are LinearRegression's. Weighted, non-negative (``positive``), sparse or
multi-target fits take LinearRegression's own path.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from scipy import linalg, sparse
from scipy.linalg import lapack
from sklearn.linear_model import LinearRegression
from sklearn.utils.validation import validate_data

CHUNK_ROWS = 1 << 16  # rows reduced per QR step (a buffer of ~17 MB at 33 columns)


def triangle(
    matrix: np.ndarray, target: np.ndarray, offsets: np.ndarray, offset: float
) -> np.ndarray:
    """``R`` (columns + 1 square) of the QR decomposition of ``[matrix - offsets, target -
    offset]``, reduced ``CHUNK_ROWS`` rows at a time in row order.

    Each step decomposes the triangle so far stacked on the next chunk, in a Fortran-ordered
    buffer LAPACK overwrites (no copy; a shorter last chunk gets its own); the first triangle is
    zeros, which change no ``R``.
    """
    rows, columns = matrix.shape
    width = columns + 1
    kept = np.zeros((width, width))
    full = np.empty((width + min(rows, CHUNK_ROWS), width), order="F")
    (geqrf,) = lapack.get_lapack_funcs(("geqrf",), (full,))
    lwork = int(geqrf(full, lwork=-1)[2][0])  # LAPACK's optimal workspace (blocked QR)
    for start in range(0, rows, CHUNK_ROWS):
        stop = min(rows, start + CHUNK_ROWS)
        height = width + stop - start
        block = full if height == full.shape[0] else np.empty((height, width), order="F")
        block[:width] = kept
        np.subtract(matrix[start:stop], offsets, out=block[width:, :columns])
        np.subtract(target[start:stop], offset, out=block[width:, columns])
        reduced, _, _, info = geqrf(block, lwork=lwork, overwrite_a=1)
        if info:  # pragma: no cover - only an illegal argument makes geqrf fail
            raise ValueError(f"LAPACK geqrf failed (info={info})")
        kept = np.triu(reduced[:width])
    return kept


class LeastSquares(LinearRegression):
    """LinearRegression solved by a streaming QR (see the module docstring)."""

    def fit(self, X: Any, y: Any, sample_weight: Any = None) -> LeastSquares:  # noqa: N803 (sklearn's name)
        if sample_weight is not None or self.positive or sparse.issparse(X) or np.ndim(y) != 1:
            super().fit(X, y, sample_weight=sample_weight)
            return self
        matrix, target = validate_data(
            self, X, y, dtype=np.float64, y_numeric=True, copy=False, ensure_min_samples=1
        )
        columns = matrix.shape[1]
        if self.fit_intercept:
            offsets, offset = matrix.mean(axis=0), float(target.mean())
        else:
            offsets, offset = np.zeros(columns), 0.0
        reduced = triangle(matrix, target, offsets, offset)
        coef, _, rank, singular = linalg.lstsq(
            reduced[:, :columns], reduced[:, columns], cond=self.tol, check_finite=False
        )
        self.coef_, self.rank_, self.singular_ = coef, int(rank), singular
        self._set_intercept(offsets, offset)
        return self
