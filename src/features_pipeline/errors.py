"""Errors a user can fix: reported as one clear line and exit code 1, never a traceback."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import polars as pl


class UserError(Exception):
    """A mistake in the user's data, config or params.

    ``details`` optionally holds a small table of failure cases shown below the line.
    """

    def __init__(self, message: str, details: pl.DataFrame | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.details = details

    def __str__(self) -> str:
        return self.message
