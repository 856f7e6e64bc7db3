"""The offline report: figures embedded as SVG data URIs, no network, renders in Chromium."""

from __future__ import annotations

import base64
import logging
import re
import subprocess
import xml.etree.ElementTree as ET
from dataclasses import replace
from html import escape
from pathlib import Path

import numpy as np
import polars as pl
import pytest
from model_support import DEFAULT_FEATURES, feature_table, plan, train_params
from sales_columns import SALES

from features_pipeline.contracts.card import parse_card
from features_pipeline.model.evaluate import Evaluation, evaluate_model
from features_pipeline.model.metrics import METRIC_MEANINGS, mape_caveat
from features_pipeline.model.params import EvaluateParams
from features_pipeline.model.train import TrainResult, train_metrics, train_model
from features_pipeline.report import plots
from features_pipeline.report.build import importance_caption, report_data
from features_pipeline.report.content import (
    ReportData,
    cv_rows,
    gate_log,
    metric_rows,
    null_rows,
    quality_rows,
    trim_params,
)
from features_pipeline.report.html import render_html
from features_pipeline.report.markdown import figure_files, render_markdown

CHROMIUM = Path("/usr/bin/chromium")
FIGURES = ("predicted_vs_actual", "residuals", "feature_importance", "cv_folds")
SCREENSHOTS = Path("/tmp/features-pipeline-report")  # kept for a person to look at
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
def scored() -> tuple[TrainResult, pl.DataFrame, EvaluateParams, Evaluation]:
    table = feature_table(400, seed=2)
    result = train_model(table, train_params("ridge"), plan(), dataset=SALES)
    params = EvaluateParams.model_validate(
        {"gates": {"r2": {"min": 0.5}, "rmse": {"max": 1.0}}, "importance": {"repeats": 1}}
    )
    test = table.filter(pl.col("split") == "test")
    evaluation = evaluate_model(result.model, test, DEFAULT_FEATURES, "Total Profit", params)
    return result, table, params, evaluation


@pytest.fixture(scope="module")
def report(scored: tuple[TrainResult, pl.DataFrame, EvaluateParams, Evaluation]) -> ReportData:
    result, table, params, evaluation = scored
    test = table.filter(pl.col("split") == "test")
    return report_data(
        evaluation,
        cv_summary=train_metrics(result).cv,
        cv_folds=result.cv.fold_table(),
        card=CARD,
        params={"evaluate": params.model_dump(mode="json")},
        quality={
            "rows": {"test": test.height, "total": table.height},
            "nulls": {
                "columns": 1,
                "total": 3,
                "by_column": [{"column": "prev_units", "nulls": 3}],
            },
        },
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


def test_markdown_twin_has_tables_and_links_svg_files(report: ReportData) -> None:
    text = render_markdown(report)
    assert text.startswith("# Evaluation: ridge predicting Total Profit")
    assert "| metric | required | value | outcome |" in text
    assert "| r2 | >= 0.5 |" in text
    assert "base64" not in text  # code hosts do not render data URIs; the file stays small
    assert len(text) < 20_000
    files = figure_files(report)
    assert sorted(files) == sorted(f"{name}.svg" for name in FIGURES)
    for name in files:
        assert f"](figures/{name})" in text
    assert "## Params" in text
    assert "## Data quality" in text
    assert "![" not in render_markdown(report, link_figures=False)


def test_a_failed_gate_is_logged_as_a_warning(report: ReportData) -> None:
    outcomes = {gate.metric: gate_log(gate) for gate in report.gates}
    assert outcomes["rmse"][0] == logging.WARNING  # rmse <= 1 cannot pass
    assert outcomes["rmse"][1].startswith("gate FAILED: rmse = ")
    assert outcomes["r2"] == (logging.INFO, f"gate passed: {report.gates[0].describe()}")


def test_params_keep_only_the_model_used() -> None:
    params = {
        "train": {"model": {"name": "ridge", "params": {"ridge": {"alpha": 1}, "lasso": {}}}},
        "evaluate": {"seed": 1},
    }
    assert trim_params(params) == {
        "train": {"model": {"name": "ridge", "params": {"ridge": {"alpha": 1}}}},
        "evaluate": {"seed": 1},
    }
    assert params["train"]["model"]["params"]["lasso"] == {}  # the input is not changed
    assert trim_params({"evaluate": {}}) == {"evaluate": {}}


def test_cv_rows_have_readable_names_and_precision() -> None:
    rows = dict(cv_rows({"r2_std": 6.08966e-06, "folds": 5, "rmse_mean": 3070.13, "r2_mean": 0.99}))
    assert rows == {
        "folds": "5",
        "RMSE (mean of folds)": "3,070.13",
        "R² (mean of folds)": "0.99",
        "R² (std across folds)": "6.09e-06",
    }
    assert list(rows) == [
        "folds",
        "RMSE (mean of folds)",
        "R² (mean of folds)",
        "R² (std across folds)",
    ]


def test_data_quality_summary_lists_nulls_most_first(html: str) -> None:
    quality = {
        "rows": {"test": 2, "total": 10, "train": 8},
        "checks": {"failed": 0, "passed": 9, "run": 9, "warned": 0},
        "failure_cases": 0,
        "nulls": {
            "columns": 2,
            "total": 7,
            "by_column": [
                {"column": "a", "nulls": 2},
                {"column": "b", "nulls": 0},
                {"column": "c", "nulls": 5},
            ],
        },
    }
    assert ("null values", "7") in quality_rows(quality)
    assert ("rows (train)", "8") in quality_rows(quality)
    assert null_rows(quality) == [("c", "5"), ("a", "2")]
    assert "Data quality" in html
    assert "prev_units" in html  # the fixture's lag feature has nulls


def test_importance_is_sorted_and_every_bar_is_labelled() -> None:
    importance = pl.DataFrame(
        {
            "feature": ["big", "tiny", "zero", "negative"],
            "importance": [2.0, 3e-7, 0.0, -1.5e-6],
            "std": [0.1, 1e-7, 0.0, 1e-7],
        }
    )
    rows = plots.importance_rows(importance.reverse())
    assert rows["feature"].to_list() == ["negative", "zero", "tiny", "big"]  # big drawn on top
    assert rows["label"].to_list() == ["-1.5e-06", "0", "3e-07", "2"]
    assert plots.feature_importance(importance) == plots.feature_importance(importance.reverse())


def colored_fraction(png: Path) -> float:
    """Share of pixels that are clearly coloured (the figures' marks), not grey text."""
    from matplotlib import image

    pixels = image.imread(png)[..., :3].astype(np.float64)
    saturation = pixels.max(axis=2) - pixels.min(axis=2)
    return float((saturation > 0.25).mean())


def chromium(*arguments: str, profile: Path) -> str:
    """Headless Chromium, offline and with a fresh profile; its stdout."""
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
        *arguments,
    ]
    return subprocess.run(command, check=True, capture_output=True, text=True, timeout=120).stdout


def screenshot(page: Path, png: Path, profile: Path, width: int = 1200) -> None:
    chromium(f"--screenshot={png}", f"--window-size={width},3000", page.as_uri(), profile=profile)
    assert png.is_file()


# Run in the page: what sticks out past the page's width or needs a horizontal scroll bar inside
# its own box (a table or code block cut off on a phone counts: nothing is exempt), with the
# model card's <details> opened; how many images decoded and each figure's width on screen.
# Headless Chromium keeps its window at least 500 px wide, so a narrower screen is the width of
# the html element.
MEASURE = """<script>
document.querySelectorAll("details").forEach((d) => { d.open = true; });
const limit = document.documentElement.getBoundingClientRect().width;
const wide = [...document.querySelectorAll("body *")].filter(
  (e) => e.getBoundingClientRect().right > limit + 1 || e.scrollWidth > e.clientWidth + 1);
document.body.dataset.limit = Math.round(limit);
document.body.dataset.wide = wide.map((e) => e.tagName + "#" + e.id).join(",");
document.body.dataset.images = [...document.images].filter((i) => i.naturalWidth > 0).length;
document.body.dataset.figures = [...document.querySelectorAll("figure img")].map(
  (i) => i.parentElement.id + "=" + i.getBoundingClientRect().width).join(",");
</script>"""
SVG_WIDTH = re.compile(r'<svg[^>]* width="([0-9.]+)pt"')
# matplotlib draws each text as glyph paths scaled by font size / 100 (svg.fonttype "path")
GLYPH_SCALE = re.compile(r'<g transform="[^"]*scale\(([0-9.]+) -[0-9.]+\)">')


def smallest_text_pt(svg: str) -> float:
    """The smallest font size (pt of the SVG's own coordinates) of any text in ``svg``."""
    scales = [float(value) for value in GLYPH_SCALE.findall(svg)]
    assert scales, "no text found in the figure"
    return min(scales) * 100


def text_px_on_screen(report: ReportData, widths: str) -> dict[str, float]:
    """Per figure: its smallest text in CSS px as shown (the SVG scaled to its on-screen width)."""
    shown = dict(item.split("=") for item in widths.split(","))
    sizes = {}
    for figure in report.figures:
        match = SVG_WIDTH.search(figure.svg)
        assert match, figure.name
        scale = float(shown[figure.name]) / float(match.group(1))  # px per SVG pt
        sizes[figure.name] = round(smallest_text_pt(figure.svg) * scale, 2)
    return sizes


def layout(html: str, width: int, folder: Path) -> dict[str, str]:
    """The report laid out ``width`` px wide: the page's own measurements."""
    narrow = f"<style>html {{ width: {width}px; }}</style>" if width < 500 else ""
    page = folder / f"measure_{width}.html"
    page.write_text(
        html.replace("</head>", f"{narrow}</head>").replace("</body>", f"{MEASURE}</body>")
    )
    dom = chromium(
        "--dump-dom", f"--window-size={width},3000", page.as_uri(), profile=folder / f"dom{width}"
    )
    body = ET.fromstring(
        dom[dom.index("<body") : dom.index(">", dom.index("<body")) + 1] + "</body>"
    )
    return {key.removeprefix("data-"): value for key, value in body.attrib.items()}


@pytest.mark.skipif(not CHROMIUM.exists(), reason="Chromium (Debian package 'chromium') missing")
@pytest.mark.parametrize("width", [1280, 420])
def test_report_fits_a_desktop_and_a_phone_screen(
    html: str, report: ReportData, tmp_path: Path, width: int
) -> None:
    measured = layout(html, width, tmp_path)
    assert width - 20 <= int(measured["limit"]) <= width  # less a vertical scrollbar
    assert measured["wide"] == "", measured  # nothing wider than the screen, nothing scrolls
    assert measured["images"] == "4"
    sizes = text_px_on_screen(report, measured["figures"])
    assert min(sizes.values()) >= 10, sizes  # figure text readable at arm's length
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)  # for a person to look at
    png = SCREENSHOTS / f"report_{width}.png"
    screenshot(tmp_path / f"measure_{width}.html", png, tmp_path / f"shot{width}", width)
    assert colored_fraction(png) > 0.005


@pytest.mark.skipif(not CHROMIUM.exists(), reason="Chromium (Debian package 'chromium') missing")
def test_the_layout_check_sees_what_sticks_out(html: str, tmp_path: Path) -> None:
    wide = html.replace(
        "<h2>Gates</h2>", '<div id="too-wide" style="width:600px">x</div><h2>Gates</h2>'
    )
    assert layout(wide, 420, tmp_path)["wide"] == "DIV#too-wide"
    cut = html.replace(  # a table that only fits by scrolling inside its box is cut off too
        "<h2>Gates</h2>",
        '<div class="scroll" id="cut"><table><tr><td style="white-space:nowrap">'
        + "x" * 200
        + "</td></tr></table></div><h2>Gates</h2>",
    )
    (tmp_path / "cut").mkdir()
    assert "DIV#cut" in layout(cut, 420, tmp_path / "cut")["wide"].split(",")


def test_smallest_text_is_read_from_the_svg() -> None:
    from matplotlib.figure import Figure

    figure = Figure(figsize=(3, 2))
    axes = figure.add_subplot()
    axes.set_title("title", fontsize=14)
    axes.annotate("small", (0.5, 0.5), fontsize=7)
    assert smallest_text_pt(plots.svg_text(figure)) == pytest.approx(7)


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


def test_importance_caption_says_why_only_one_input_counts() -> None:
    importance = pl.DataFrame(
        {
            "feature": ["expected_profit", "Units Sold", "Region"],
            "importance": [2.04, 0.0, None],
            "std": [0.05, 0.0, None],
        }
    )
    caption = importance_caption(importance, 1.0)
    assert "Only expected_profit moves the score" in caption
    assert "the other 2 inputs changes nothing (0)" in caption
    assert "exact fit: the target is a function of expected_profit" in caption
    assert "exact fit" not in importance_caption(importance, 0.8)
    spread = importance.with_columns(importance=pl.Series([2.0, 0.5, 0.0]))
    assert "Only" not in importance_caption(spread, 1.0)


def test_each_metric_is_explained_in_one_line_and_a_meaningless_one_is_flagged(
    report: ReportData,
) -> None:
    # this sample's Total Profit has test rows near zero: its MAPE is flagged
    caveat = (report.caveats or {})["mape"]
    assert re.fullmatch(
        r"\d+ of \d+ target values sit near zero \(absolute value <= [0-9.,]+\): MAPE divides "
        r"by them, so it is not meaningful here",
        caveat,
    )
    markdown, page = render_markdown(report), render_html(report)
    assert "| metric | test split | what it means |" in markdown
    flag = f"NOT MEANINGFUL for this target: {caveat}"
    assert flag in markdown
    assert escape(flag) in page
    for metric in ("rmse", "mae", "r2"):
        assert METRIC_MEANINGS[metric] in markdown
        assert escape(METRIC_MEANINGS[metric]) in page
    rows = {label: meaning for label, _, meaning in metric_rows(replace(report, caveats=None))}
    assert rows["MAPE (fraction, rows with a non-zero target)"] == METRIC_MEANINGS["mape"]
    assert rows["R²"] == METRIC_MEANINGS["r2"]


def test_a_cluster_evaluation_is_reported_from_its_plot_sample(
    scored: tuple[TrainResult, pl.DataFrame, EvaluateParams, Evaluation],
) -> None:
    """On a cluster engine the scored test rows stay in the warehouse (no local predictions):
    the report still builds, the MAPE caveat judged on the seeded plot sample."""
    result, _, params, evaluation = scored
    on_cluster = replace(evaluation, predictions=pl.DataFrame())
    built = report_data(
        on_cluster,
        cv_summary=train_metrics(result).cv,
        cv_folds=result.cv.fold_table(),
        card=CARD,
        params={"evaluate": params.model_dump(mode="json")},
    )
    caveat = mape_caveat(evaluation.points.get_column("actual").to_numpy())
    assert built.caveats == ({"mape": caveat} if caveat else None)
    assert built.metrics == evaluation.metrics
