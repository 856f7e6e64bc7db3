"""Write a synthetic Sales Records CSV shaped like the public files (for benchmarks and scale runs).

Dates are M/D/YYYY without zero padding, money has two decimals, Title Case headers:
    python benchmarks/make_csv.py --rows 5000000 --out data/raw/sales_5m.csv
"""

from __future__ import annotations

import argparse
from pathlib import Path

from features_pipeline.ingest.synthetic import generate_sales

DATE_FORMAT = "%-m/%-d/%Y"  # 5/8/2010, as in the public files
CHUNK_ROWS = 1_000_000


def make_csv(rows: int, path: Path, seed: int = 7) -> Path:
    """``rows`` generated orders written to ``path``, a million rows at a time."""
    frame = generate_sales(rows, seed)
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("wb") as handle:
        for start in range(0, rows, CHUNK_ROWS):
            frame.slice(start, CHUNK_ROWS).write_csv(
                handle, include_header=start == 0, date_format=DATE_FORMAT, float_precision=2
            )
    return path


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, required=True)
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()
    make_csv(args.rows, args.out, args.seed)


if __name__ == "__main__":
    main()
