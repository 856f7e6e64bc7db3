"""One hand-made frame shared by the window-type tests (lag, rolling, cumulative).

Group ``a`` in (Order Date, Order ID) order is rows 3, 1, 5, 0 (x: 4, 2, 8, 1): rows 3 and 1
share a date and row 1 comes first in the frame, so only the Order ID tie-break puts row 3
first. Group ``b`` is rows 4, 2 (x: null, 3).
"""

from __future__ import annotations

import polars as pl

from features.helpers import day

WINDOW_FRAME = pl.DataFrame(
    {
        "g": ["a", "a", "b", "a", "b", "a"],
        "g2": ["x", "x", "x", "y", "x", "x"],
        "Order Date": [day(f"2020-01-0{n}") for n in (3, 1, 2, 1, 1, 2)],
        "Order ID": [50, 40, 30, 10, 20, 60],
        "x": [1, 2, 3, 4, None, 8],
        "seq": [6, 5, 4, 3, 2, 1],
    }
)


def one_group(values: list[float | None]) -> pl.DataFrame:
    """A single group with ``values`` on consecutive days (row order = date order)."""
    return pl.DataFrame(
        {
            "g": ["a"] * len(values),
            "Order Date": [day(f"2020-01-{n + 1:02d}") for n in range(len(values))],
            "Order ID": list(range(len(values))),
            "x": values,
        },
        schema_overrides={"x": pl.Float64},
    )
