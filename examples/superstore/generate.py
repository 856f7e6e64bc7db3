"""Write superstore.csv: a seeded, synthetic table in the shape of the public "Sample - Superstore"
retail data (Row ID, Order ID like CA-2019-103800 with several rows per order, D/M/YY dates,
Ship Mode, Segment, City, State, Region, Category, Sub-Category, Sales, Quantity, Discount,
Profit). The values are generated here, not copied: the file is ours to ship (see LICENSE.md).

    python examples/superstore/generate.py   # rewrites examples/superstore/superstore.csv
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import numpy as np
import polars as pl

ROWS = 3000
SEED = 2019
OUT = Path(__file__).with_name("superstore.csv")

SUB_CATEGORIES = {  # sub-category: (category, list-price range, cost share of the list price)
    "Binders": ("Office Supplies", (3, 60), 0.62),
    "Paper": ("Office Supplies", (4, 40), 0.55),
    "Storage": ("Office Supplies", (20, 300), 0.78),
    "Art": ("Office Supplies", (2, 30), 0.70),
    "Chairs": ("Furniture", (80, 600), 0.80),
    "Tables": ("Furniture", (150, 900), 0.92),
    "Bookcases": ("Furniture", (90, 700), 0.86),
    "Furnishings": ("Furniture", (5, 120), 0.72),
    "Phones": ("Technology", (40, 800), 0.74),
    "Accessories": ("Technology", (10, 250), 0.68),
    "Machines": ("Technology", (150, 2500), 0.83),
    "Copiers": ("Technology", (300, 3000), 0.60),
}
PLACES = {  # city: (state, region)
    "New York City": ("New York", "East"),
    "Philadelphia": ("Pennsylvania", "East"),
    "Los Angeles": ("California", "West"),
    "Seattle": ("Washington", "West"),
    "San Francisco": ("California", "West"),
    "Houston": ("Texas", "Central"),
    "Chicago": ("Illinois", "Central"),
    "Columbus": ("Ohio", "East"),
    "Atlanta": ("Georgia", "South"),
    "Jacksonville": ("Florida", "South"),
}
SHIP_MODES = {
    "Standard Class": (4, 7),
    "Second Class": (2, 5),
    "First Class": (1, 3),
    "Same Day": (0, 0),
}
SEGMENTS = ("Consumer", "Corporate", "Home Office")
DISCOUNTS = (0.0, 0.0, 0.0, 0.1, 0.2, 0.2, 0.3, 0.4, 0.5)


def generate(rows: int = ROWS, seed: int = SEED) -> pl.DataFrame:
    """``rows`` order lines in orders of 1-4 lines, deterministic for ``seed``."""
    rng = np.random.default_rng(seed)
    subs, cities, modes = list(SUB_CATEGORIES), list(PLACES), list(SHIP_MODES)
    products = {sub: rng.uniform(*SUB_CATEGORIES[sub][1], size=8).round(2) for sub in subs}
    shares = {sub: SUB_CATEGORIES[sub][2] * rng.uniform(0.9, 1.1, size=8) for sub in subs}
    lines: list[dict[str, object]] = []
    order_number = 100_000
    start = dt.date(2016, 1, 3)
    while len(lines) < rows:
        order_number += int(rng.integers(1, 40))
        day = start + dt.timedelta(days=int(rng.integers(0, 4 * 365)))
        mode = modes[int(rng.integers(0, len(modes)))]
        ship = day + dt.timedelta(
            days=int(rng.integers(SHIP_MODES[mode][0], SHIP_MODES[mode][1] + 1))
        )
        city = cities[int(rng.integers(0, len(cities)))]
        state, region = PLACES[city]
        prefix = "CA" if rng.random() < 0.8 else "US"
        order_id = f"{prefix}-{day.year}-{order_number}"
        segment = SEGMENTS[int(rng.integers(0, len(SEGMENTS)))]
        for _ in range(int(rng.integers(1, 5))):
            sub = subs[int(rng.integers(0, len(subs)))]
            category = SUB_CATEGORIES[sub][0]
            product = int(rng.integers(0, 8))
            cost_share = float(shares[sub][product])
            price = float(products[sub][product])
            quantity = int(rng.integers(1, 10))
            discount = DISCOUNTS[int(rng.integers(0, len(DISCOUNTS)))]
            sales = round(quantity * price * (1 - discount), 2)
            profit = round(sales - quantity * price * cost_share, 2)
            lines.append(
                {
                    "Row ID": len(lines) + 1,
                    "Order ID": order_id,
                    "Order Date": f"{day.day}/{day.month}/{day.year % 100:02d}",
                    "Ship Date": f"{ship.day}/{ship.month}/{ship.year % 100:02d}",
                    "Ship Mode": mode,
                    "Segment": segment,
                    "City": city,
                    "State": state,
                    "Region": region,
                    "Product ID": f"{category[:3].upper()}-{sub[:2].upper()}-{10000 + product}",
                    "Category": category,
                    "Sub-Category": sub,
                    "Sales": f"{sales:.2f}",
                    "Quantity": quantity,
                    "Discount": discount,
                    "Profit": f"{profit:.2f}",
                }
            )
    return pl.DataFrame(lines[:rows])


if __name__ == "__main__":
    generate().write_csv(OUT)
    print(f"wrote {OUT}")
