"""scripts/plots_diff.py: `dvc plots diff --json` of two tiny plot CSVs -> SVGs + Markdown."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest
from support import REPO_ROOT, init_git_repo, run_command

SCRIPT = REPO_ROOT / "scripts" / "plots_diff.py"
DVC_YAML = """\
plots:
  - folds:
      template: bar_horizontal
      x: rmse
      y:
        plots/folds.csv: fold
      title: RMSE per fold
  - points:
      template: scatter
      x: actual
      y:
        plots/points.csv: predicted
      title: Predicted vs actual
"""


def write_plots(root: Path, folds: str, points: str) -> None:
    (root / "plots").mkdir(exist_ok=True)
    (root / "plots" / "folds.csv").write_text(folds, encoding="utf-8")
    (root / "plots" / "points.csv").write_text(points, encoding="utf-8")


@pytest.fixture
def plots_diff(tmp_path: Path) -> Path:
    """A repo whose commit holds one version of two plot CSVs and whose workspace another; the
    JSON `dvc plots diff HEAD --json` printed for it."""
    root = tmp_path / "repo"
    root.mkdir()
    (root / "dvc.yaml").write_text(DVC_YAML, encoding="utf-8")
    write_plots(root, "fold,rmse\n1,1.0\n2,2.0\n", "actual,predicted\n1,1.5\n2,2.5\n3,2.0\n")
    init_git_repo(root)
    run_command(["dvc", "init", "-q"], root)
    write_plots(root, "fold,rmse\n1,1.5\n2,1.0\n", "actual,predicted\n1,1.0\n2,2.0\n3,3.5\n")
    diff = run_command(["dvc", "plots", "diff", "HEAD", "--json"], root).stdout
    path = tmp_path / "plots_diff.json"
    path.write_text(diff, encoding="utf-8")
    return path


def render(diff: Path, out: Path) -> str:
    args = [sys.executable, str(SCRIPT), str(diff), "--out", str(out)]
    return run_command(args, diff.parent).stdout


def test_plots_diff_renders_svgs_and_a_markdown_table_per_plot(
    plots_diff: Path, tmp_path: Path
) -> None:
    markdown = render(plots_diff, tmp_path / "svg")

    assert "### RMSE per fold" in markdown
    assert "| fold | workspace | HEAD |" in markdown
    assert "| 1 | 1.5 | 1 |" in markdown  # workspace, then the base revision
    assert "| 2 | 1 | 2 |" in markdown
    assert "### Predicted vs actual" in markdown
    assert "| workspace | 3 | 2.16667 | 1 | 3.5 |" in markdown
    assert "| HEAD | 3 | 2 | 1.5 | 2.5 |" in markdown
    svgs = sorted((tmp_path / "svg").iterdir())
    assert [svg.name for svg in svgs] == ["folds.svg", "points.svg"]
    for svg in svgs:
        text = svg.read_text(encoding="utf-8")
        assert text.startswith("<?xml")
        assert "<svg" in text
        assert "Date" not in text  # no timestamp: the same data gives the same bytes

    again = render(plots_diff, tmp_path / "again")
    assert again == markdown
    assert [p.read_bytes() for p in sorted((tmp_path / "again").iterdir())] == [
        p.read_bytes() for p in svgs
    ]


def test_images_are_linked_when_a_url_is_given_and_other_renders_skipped(tmp_path: Path) -> None:
    diff = {
        "data": {
            "confusion": [{"type": "image", "revisions": ["HEAD"], "url": "x.png"}],
            "folds": [
                {
                    "type": "vega",
                    "revisions": ["workspace"],
                    "content": {
                        "title": "Folds",
                        "mark": "bar",
                        "encoding": {"x": {"field": "rmse"}, "y": {"field": "fold"}},
                        "data": {"values": [{"fold": "1", "rmse": "0.5", "rev": "workspace"}]},
                    },
                }
            ],
        }
    }
    path = tmp_path / "diff.json"
    path.write_text(json.dumps(diff), encoding="utf-8")
    out = run_command(
        [sys.executable, str(SCRIPT), str(path), "--out", "svg", "--link", "https://x/y/"],
        tmp_path,
    ).stdout
    assert "![folds](https://x/y/folds.svg)" in out
    assert "confusion" not in out
    assert [p.name for p in (tmp_path / "svg").iterdir()] == ["folds.svg"]
