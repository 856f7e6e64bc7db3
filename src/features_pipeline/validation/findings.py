"""The typed result of one aggregate check: passed, failed or warned, with the cases found."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from features_pipeline.validation.params import Severity

Status = Literal["passed", "failed", "warned"]


@dataclass(frozen=True)
class Case:
    """One offending value, and the 1-based row of the feature table where it is (if any)."""

    value: str
    row: int | None = None


@dataclass(frozen=True)
class Finding:
    """The outcome of one check on one column (or ``(table)``)."""

    column: str
    check: str
    status: Status
    cases: tuple[Case, ...] = ()


def outcome(
    column: str, check: str, cases: tuple[Case, ...], severity: Severity = "error"
) -> Finding:
    """Passed when there are no cases; otherwise failed (severity error) or warned (warn)."""
    if not cases:
        return Finding(column, check, "passed")
    return Finding(column, check, "failed" if severity == "error" else "warned", cases)
