"""Features proposed from column roles: date parts and differences; logs, ratios and products
of numbers; frequencies and group statistics of categories (learned on train rows only);
frequencies of identifiers. Nothing reads the target or an outcome column."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from itertools import combinations
from typing import Any

import polars as pl

from features_pipeline.contracts.split import SPLIT, TRAIN
from features_pipeline.proposal.roles import Roles

DATE_PARTS = ("year", "month", "weekday", "day_of_year")
MAX_NUMERIC = 6  # pairs (ratios, products) of at most this many numeric columns
MAX_GROUPED = 4  # group statistics of at most this many numeric columns per category
SKEWED = 5.0  # log(1 + x) proposed when max / median exceeds this (x >= 0)


@dataclass(frozen=True)
class Candidate:
    """One proposed model input: its spec entry, why it is proposed, and helper features it
    reads that are not model inputs themselves."""

    spec: dict[str, Any]
    reason: str
    helpers: tuple[dict[str, Any], ...] = field(default=())

    @property
    def name(self) -> str:
        return str(self.spec["name"])


def slug(text: str) -> str:
    """``Sub-Category`` -> ``sub_category``: a feature-name part."""
    return re.sub(r"[^0-9a-z]+", "_", text.lower()).strip("_") or "column"


def date_candidates(frame: pl.DataFrame, dates: Sequence[str]) -> list[Candidate]:
    """Calendar parts of each date; the day difference of each pair (later minus earlier)."""
    found = [
        Candidate(
            {"name": f"{slug(date)}_{part}", "type": "date_part", "column": date, "part": part},
            f"the {part.replace('_', ' ')} of {date}",
        )
        for date in dates
        for part in DATE_PARTS
    ]
    for first, second in combinations(dates, 2):
        later = frame.select((pl.col(second) >= pl.col(first)).mean()).item() or 0.0
        start, end = (first, second) if later >= 0.5 else (second, first)
        found.append(
            Candidate(
                {
                    "name": f"days_{slug(start)}_to_{slug(end)}",
                    "type": "date_diff",
                    "start": start,
                    "end": end,
                },
                f"days from {start} to {end}",
            )
        )
    return found


def numeric_candidates(frame: pl.DataFrame, numeric: Sequence[str]) -> list[Candidate]:
    """log(1 + x) of skewed non-negative columns; ratios (denominator > 0 on every row) and
    products of pairs."""
    columns = list(numeric[:MAX_NUMERIC])
    stats = {
        name: frame.select(
            low=pl.col(name).min(), high=pl.col(name).max(), mid=pl.col(name).median()
        ).row(0, named=True)
        for name in columns
    }
    found: list[Candidate] = []
    for name in columns:
        low, high, mid = stats[name]["low"], stats[name]["high"], stats[name]["mid"]
        if low is not None and low >= 0 and high > SKEWED * max(float(mid or 0.0), 1e-12):
            found.append(
                Candidate(
                    {"name": f"log_{slug(name)}", "type": "log", "column": name},
                    f"{name} is skewed ({low:g} to {high:g}, median {mid:g}): log(1 + x)",
                )
            )
    for first, second in combinations(columns, 2):
        for top, bottom in ((first, second), (second, first)):
            if (stats[bottom]["low"] or 0) > 0:
                found.append(
                    Candidate(
                        {
                            "name": f"{slug(top)}_per_{slug(bottom)}",
                            "type": "ratio",
                            "numerator": top,
                            "denominator": bottom,
                        },
                        f"{top} per unit of {bottom}",
                    )
                )
        found.append(
            Candidate(
                {
                    "name": f"{slug(first)}_x_{slug(second)}",
                    "type": "arithmetic",
                    "op": "multiply",
                    "left": first,
                    "right": second,
                },
                f"{first} x {second}",
            )
        )
    return found


def category_candidates(categories: Sequence[str], numeric: Sequence[str]) -> list[Candidate]:
    """Per category: its share of train rows; the train-row mean of each number in it, and each
    row's number relative to that mean (both learned on train rows only)."""
    found: list[Candidate] = []
    for category in categories:
        key = slug(category)
        found.append(
            Candidate(
                {"name": f"{key}_share", "type": "frequency", "column": category},
                f"how common the row's {category} is (share of train rows)",
            )
        )
        for name in numeric[:MAX_GROUPED]:
            mean = {
                "name": f"mean_{slug(name)}_by_{key}",
                "type": "group_agg",
                "column": name,
                "by": [category],
                "agg": "mean",
            }
            found.append(Candidate(mean, f"the mean {name} of the row's {category} (train rows)"))
            found.append(
                Candidate(
                    {
                        "name": f"{slug(name)}_vs_{key}",
                        "type": "ratio",
                        "numerator": name,
                        "denominator": mean["name"],
                    },
                    f"{name} relative to the mean of its {category} (train rows)",
                    helpers=(mean,),
                )
            )
    return found


def identifier_candidates(identifiers: Sequence[str]) -> list[Candidate]:
    """High-cardinality identifiers are never one-hot encoded nor target-encoded: only how often
    each value occurs in the train rows (e.g. the lines of an order)."""
    return [
        Candidate(
            {"name": f"{slug(name)}_share", "type": "frequency", "column": name},
            f"how often the row's {name} occurs in train rows (an identifier: its values are "
            "never inputs)",
        )
        for name in identifiers
    ]


def propose(frame: pl.DataFrame, roles: Roles) -> list[Candidate]:
    """Every candidate for ``frame`` (typed, with ``split``), in a fixed order, unique names
    that do not collide with the table's columns (positive ratios judged on train rows)."""
    train = frame.filter(pl.col(SPLIT) == TRAIN) if SPLIT in frame.columns else frame
    proposed = [
        *date_candidates(train, roles.dates),
        *numeric_candidates(train, roles.numeric),
        *category_candidates(roles.categories, roles.numeric),
        *identifier_candidates(roles.identifiers),
    ]
    taken = set(frame.columns)
    unique: list[Candidate] = []
    for candidate in proposed:
        if candidate.name in taken:
            continue
        taken.add(candidate.name)
        unique.append(candidate)
    return unique
