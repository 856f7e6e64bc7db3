"""The long crash suite: SIGKILL every stage at random moments (default 20 times each) in a git
copy of the project, then ``features-pipeline doctor`` and a plain ``dvc repro`` must give
outputs identical to an uninterrupted run. CI runs a short version (tests/test_crash.py).

    python scripts/crash_suite.py --kills-per-stage 20 --seed 0
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))

from crash_support import init_repo, run_crash_suite
from support import copy_tracked_files


def main(argv: list[str] | None = None) -> int:
    """Run the suite; exit 1 when any kill left a problem."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--kills-per-stage", type=int, default=20, help="kills of each stage")
    parser.add_argument("--seed", type=int, default=0, help="seed of the kill moments")
    parser.add_argument(
        "--verify-at-end",
        action="store_true",
        help="doctor and dvc repro once after all kills (default: after each stage's kills)",
    )
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="crash-suite-") as folder:
        root = init_repo(copy_tracked_files(Path(folder) / "repo"))
        report = run_crash_suite(root, args.kills_per_stage, args.seed, not args.verify_at_end)
    for problem in report.problems:
        print(f"problem: {problem}")
    print(f"crash suite (seed {args.seed}): {report.line()}")
    return 1 if report.problems else 0


if __name__ == "__main__":
    sys.exit(main())
