"""Small generated tables of different kinds for `features-pipeline init` (seeded, a few
thousand rows): a tabular table of categories and numbers, and a time-ordered daily table.
(The retail-orders kind is the shipped examples/superstore/superstore.csv.)"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import numpy as np
import polars as pl

REGIONS = ("northeast", "northwest", "southeast", "southwest")
STORES = {"Harbour": 220.0, "Market Street": 160.0, "Old Town": 120.0}


def insurance(rows: int = 1500, seed: int = 7) -> pl.DataFrame:
    """Insurance-like charges: age, sex, bmi, children, smoker, region -> charges (> 0)."""
    rng = np.random.default_rng(seed)
    age = rng.integers(18, 65, rows)
    bmi = np.round(rng.normal(30.5, 6.0, rows).clip(16, 53), 2)
    children = rng.integers(0, 6, rows)
    smoker = rng.random(rows) < 0.2
    region = rng.choice(REGIONS, rows)
    sex = rng.choice(("female", "male"), rows)
    charges = (
        2000
        + 260 * age
        + 330 * bmi
        + 480 * children
        + smoker * (14000 + 1400 * np.maximum(bmi - 30, 0))
        + np.where(region == "southeast", 900, 0)
        + rng.gamma(2.0, 900.0, rows)
    )
    return pl.DataFrame(
        {
            "age": age,
            "sex": sex,
            "bmi": bmi,
            "children": children,
            "smoker": np.where(smoker, "yes", "no"),
            "region": region,
            "charges": np.round(charges, 2),
        }
    )


def daily_sales(days: int = 730, seed: int = 11) -> pl.DataFrame:
    """Daily sales of three stores over two years: trend, weekends, summer, promotions."""
    rng = np.random.default_rng(seed)
    start = dt.date(2023, 1, 2)
    dates, stores, promo, temperature, sales = [], [], [], [], []
    for day in range(days):
        date = start + dt.timedelta(days=day)
        season = np.sin(2 * np.pi * (date.timetuple().tm_yday - 110) / 365.25)
        weekend = date.isoweekday() >= 6
        for store, base in STORES.items():
            on_promo = bool(rng.random() < 0.15)
            temp = round(12 + 10 * season + rng.normal(0, 3), 1)
            value = (
                base
                + 0.08 * day
                + (60 if weekend else 0)
                + (45 if on_promo else 0)
                + 2.5 * temp
                + rng.normal(0, 12)
            )
            dates.append(date)
            stores.append(store)
            promo.append(int(on_promo))
            temperature.append(temp)
            sales.append(round(value, 2))
    return pl.DataFrame(
        {
            "date": dates,
            "store": stores,
            "promo": promo,
            "temperature": temperature,
            "sales": sales,
        }
    )


def write_csv(frame: pl.DataFrame, path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    frame.write_csv(path)
    return path
