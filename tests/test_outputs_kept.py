"""A failed stage keeps the last good outputs under ``dvc repro`` and ``dvc exp run`` (slow: DVC in
a temp git copy). DVC removes a stage's outputs before running it unless they are
``persist: true``; with the stages' atomic writes, a failed run then leaves them as they were."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from support import run_command, write_sales_csv

from features_pipeline.ingest.synthetic import generate_sales

INTERIM = "data/interim/sales.parquet"
TRAIN_OUTS = (
    "models/model.skops",
    "models/model_card.json",
    "metrics/train.json",
    "plots/cv_folds.csv",
)


def contents(repo: Path, names: tuple[str, ...]) -> dict[str, bytes]:
    return {name: (repo / name).read_bytes() for name in names}


def set_source(repo: Path, source: str) -> None:
    params = repo / "params.yaml"
    text = params.read_text(encoding="utf-8")
    params.write_text(text.replace("source: synthetic", f"source: {source}", 1), encoding="utf-8")


def without_persist(repo: Path, out: str) -> None:
    """dvc.yaml with ``out`` declared as a plain out (no ``persist``)."""
    dvc_yaml = repo / "dvc.yaml"
    text = dvc_yaml.read_text(encoding="utf-8")
    persisted = f"      - {out}:\n          persist: true\n"
    assert persisted in text
    dvc_yaml.write_text(text.replace(persisted, f"      - {out}\n"), encoding="utf-8")


@pytest.mark.slow
def test_a_failed_ingest_keeps_the_interim_table(project_repo: Path) -> None:
    repo = project_repo
    run_command(["dvc", "repro", "ingest"], repo)
    good = contents(repo, (INTERIM,))

    set_source(repo, "data/raw/missing.csv")
    failed = run_command(["dvc", "repro", "ingest"], repo, check=False)
    assert failed.returncode != 0
    assert "data/raw/missing.csv: file not found" in failed.stderr + failed.stdout
    assert contents(repo, (INTERIM,)) == good  # byte-identical

    # the proof that persist (not the atomic writes alone) keeps it: a plain out is deleted
    without_persist(repo, INTERIM)
    assert run_command(["dvc", "repro", "ingest"], repo, check=False).returncode != 0
    assert not (repo / INTERIM).exists()


@pytest.mark.slow
def test_a_failed_train_keeps_the_model_and_predict_works(project_repo: Path) -> None:
    repo = project_repo
    run_command(["dvc", "repro"], repo)
    good = contents(repo, TRAIN_OUTS)
    params_text = (repo / "params.yaml").read_text(encoding="utf-8")
    model = yaml.safe_load(params_text)["train"]["model"]["name"]

    bad = f"+train.model.params.{model}.no_such_hyperparameter=1"
    failed = run_command(["dvc", "exp", "run", "-S", bad], repo, check=False)
    assert failed.returncode != 0
    assert "unknown hyperparameter 'no_such_hyperparameter'" in failed.stderr + failed.stdout
    assert contents(repo, TRAIN_OUTS) == good  # byte-identical

    orders = write_sales_csv(repo / "new_orders.csv", generate_sales(20, seed=5))
    run_command(
        ["features-pipeline", "predict", "--input", orders.name, "--output", "predicted.csv"], repo
    )
    assert len((repo / "predicted.csv").read_text(encoding="utf-8").splitlines()) == 21

    (repo / "params.yaml").write_text(params_text, encoding="utf-8")  # the params fixed
    run_command(["dvc", "repro"], repo)
    assert contents(repo, TRAIN_OUTS) == good  # the same inputs give the same outputs
    status = run_command(["dvc", "status"], repo)
    assert "Data and pipelines are up to date." in status.stdout
