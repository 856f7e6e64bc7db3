"""The offline report: figures embedded as SVG data URIs, no network, renders in Chromium."""

from __future__ import annotations

import base64
import re
import subprocess
import xml.etree.ElementTree as ET
from pathlib import Path

import numpy as np
import polars as pl
import pytest
from model_support import DEFAULT_FEATURES, feature_table, plan, train_params
from sales_columns import SALES

from features_pipeline.contracts.card import parse_card
from features_pipeline.model.evaluate import evaluate_model
from features_pipeline.model.params import EvaluateParams
from features_pipeline.model.train import train_metrics, train_model
from features_pipeline.report import plots
from features_pipeline.report.build import report_data
from features_pipeline.report.content import ReportData
from features_pipeline.report.html import render_html
from features_pipeline.report.markdown import render_markdown

CHROMIUM = Path("/usr/bin/chromium")
DATA_URI = re.compile(r'src="data:image/svg\+xml;base64,([A-Za-z0-9+/=]+)"')
CARD = parse_card(
    {
        "target": "Total Profit",
        "features": list(DEFAULT_FEATURES),
        "inputs": {"Item Type": {"dtype": "String", "encoding": "one-hot", "kind": "raw"}},
        "model": {"name": "ridge", "estimator": "sklearn.linear_model.Ridge", "params": {}},
        "training": {"rows": 1, "data_sha256": "ab" * 32, "seed": 1},
        "window_features": [],
        "libraries": {"scikit-learn": "1.9"},
        "feature_spec": "config/features.yaml",
        "cv": {"folds": 3},
        "artifact": {"format": "skops", "sha256": "cd" * 32},
    },
    "card.json",
)


@pytest.fixture(scope="module")
def report() -> ReportData:
    table = feature_table(400, seed=2)
    result = train_model(table, train_params("ridge"), plan(), SALES)
    test = table.filter(pl.col("split") == "test")
    params = EvaluateParams.model_validate(
        {"gates": {"r2": {"min": 0.5}, "rmse": {"max": 1.0}}, "importance": {"repeats": 1}}
    )
    evaluation = evaluate_model(result.model, test, DEFAULT_FEATURES, "Total Profit", params)
    return report_data(
        evaluation,
        cv_summary=train_metrics(result).cv,
        cv_folds=result.cv.fold_table(),
        card=CARD,
        params={"evaluate": params.model_dump(mode="json")},
    )


@pytest.fixture(scope="module")
def html(report: ReportData) -> str:
    return render_html(report)


def test_html_embeds_the_four_figures_as_valid_svg(html: str) -> None:
    images = DATA_URI.findall(html)
    assert len(images) == 4
    for encoded in images:
        root = ET.fromstring(base64.b64decode(encoded))
        assert root.tag == "{http://www.w3.org/2000/svg}svg"
        assert len(list(root.iter())) > 50  # axes, ticks, marks: not an empty picture
    for name in ("predicted_vs_actual", "residuals", "feature_importance", "cv_folds"):
        assert f'id="{name}"' in html


def test_html_loads_nothing_from_the_network(html: str) -> None:
    assert not re.search(r"""(?:src|href)\s*=\s*["']?\s*(?:https?:)?//""", html)
    assert "<script" not in html
    assert "<link" not in html
    assert "@import" not in html
    assert "url(" not in html


def test_html_shows_metrics_gates_params_and_card(html: str, report: ReportData) -> None:
    assert "Test metrics" in html
    assert '<span class="fail">FAIL</span>' in html  # rmse <= 1 cannot pass
    assert '<span class="pass">pass</span>' in html
    assert "gate(s) failed" in html
    assert "sklearn.linear_model.Ridge" in html
    assert "&quot;plot_points&quot;: 1000" in html  # params, escaped
    assert f"{report.metrics['rows']:,}" in html


def test_figures_are_byte_reproducible(report: ReportData) -> None:
    table = pl.DataFrame({"fold": [1, 2], "rows": [5, 5], "rmse": [1.0, 2.0], "mae": [1.0, 1.0]})
    table = table.with_columns(r2=pl.Series([0.9, None], dtype=pl.Float64))
    assert plots.cv_fold_scores(table) == plots.cv_fold_scores(table)
    first = report.figures[0].svg
    assert "<dc:date>" not in first
    assert 'id="' in first


def test_markdown_twin_has_tables_and_images(report: ReportData) -> None:
    text = render_markdown(report)
    assert text.startswith("# Evaluation: ridge predicting Total Profit")
    assert "| metric | required | value | outcome |" in text
    assert "| r2 | >= 0.5 |" in text
    assert text.count("](data:image/svg+xml;base64,") == 4
    assert "## Params" in text
    assert "![" not in render_markdown(report, embed_figures=False)


def colored_fraction(png: Path) -> float:
    """Share of pixels that are clearly coloured (the figures' marks), not grey text."""
    from matplotlib import image

    pixels = image.imread(png)[..., :3].astype(np.float64)
    saturation = pixels.max(axis=2) - pixels.min(axis=2)
    return float((saturation > 0.25).mean())


def screenshot(page: Path, png: Path, profile: Path) -> None:
    command = [
        str(CHROMIUM),
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        f"--user-data-dir={profile}",
        f"--screenshot={png}",
        "--window-size=1200,3000",
        page.as_uri(),
    ]
    subprocess.run(command, check=True, capture_output=True, timeout=120)
    assert png.is_file()


@pytest.mark.skipif(not CHROMIUM.exists(), reason="Chromium (Debian package 'chromium') missing")
def test_report_renders_its_images_in_headless_chromium(html: str, tmp_path: Path) -> None:
    page = tmp_path / "evaluation.html"
    page.write_text(html, encoding="utf-8")
    without_images = tmp_path / "no_images.html"
    without_images.write_text(DATA_URI.sub('src=""', html), encoding="utf-8")
    screenshot(page, tmp_path / "report.png", tmp_path / "profile")
    screenshot(without_images, tmp_path / "control.png", tmp_path / "profile2")
    from matplotlib import image

    pixels = image.imread(tmp_path / "report.png")[..., :3]
    assert pixels.std() > 0.05  # not a blank page
    rendered = colored_fraction(tmp_path / "report.png")
    control = colored_fraction(tmp_path / "control.png")
    assert rendered > 0.005, rendered  # the figures' points and bars are on the page
    assert rendered > 10 * control, (rendered, control)
