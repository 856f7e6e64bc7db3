"""params.yaml loads into typed sections; every mistake is one line naming the key."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml
from support import REPO_ROOT

from features_pipeline.contracts.params import ParamsFile, load_yaml, read_params
from features_pipeline.engines.params import EngineParams
from features_pipeline.errors import UserError
from features_pipeline.ingest.params import IngestParams, SplitParams

PARAMS = Path("params.yaml")


def error_for(
    raw: dict[str, Any], section: str, model: type[IngestParams | SplitParams | EngineParams]
) -> str:
    with pytest.raises(UserError) as caught:
        ParamsFile(PARAMS, raw).section(section, model)
    message = str(caught.value)
    assert "\n" not in message
    return message


def test_the_committed_params_file_is_valid() -> None:
    ingest = read_params(REPO_ROOT / "params.yaml").section("ingest", IngestParams)
    split = read_params(REPO_ROOT / "params.yaml").section("split", SplitParams)
    assert ingest.rows > 0
    assert split.strategy in {"random", "time"}


@pytest.mark.parametrize("raw", [{}, {"ingest": None}], ids=["absent", "null"])
def test_an_absent_section_means_the_defaults(raw: dict[str, Any]) -> None:
    ingest = ParamsFile(PARAMS, raw).section("ingest", IngestParams)
    assert ingest == IngestParams()
    assert ingest.is_synthetic


def test_values_are_read() -> None:
    raw = {"ingest": {"source": "data/raw/s.csv", "rows": 7}}
    ingest = ParamsFile(PARAMS, raw).section("ingest", IngestParams)
    assert (ingest.source, ingest.rows, ingest.is_synthetic) == ("data/raw/s.csv", 7, False)


@pytest.mark.parametrize(
    ("section", "values", "expected"),
    [
        ("ingest", {"colour": "red"}, "params.yaml: ingest.colour: unknown key"),
        (
            "split",
            {"test_szie": 0.2},
            "params.yaml: split.test_szie: unknown key — did you mean 'test_size'?",
        ),
        ("ingest", {"rows": 0}, "params.yaml: ingest.rows: Input should be greater than 0 (got 0)"),
        (
            "ingest",
            {"rows": -10},
            "params.yaml: ingest.rows: Input should be greater than 0 (got -10)",
        ),
        (
            "ingest",
            {"rows": 10**12},
            "params.yaml: ingest.rows: Input should be less than or equal to 900000000 "
            "(got 1000000000000)",
        ),
        (
            "ingest",
            {"rows": "many"},
            "params.yaml: ingest.rows: Input should be a valid integer, unable to parse string "
            "as an integer (got 'many')",
        ),
        (
            "ingest",
            {"seed": -1},
            "params.yaml: ingest.seed: Input should be greater than or equal to 0 (got -1)",
        ),
        (
            "split",
            {"strategy": "shuffle"},
            "params.yaml: split.strategy: Input should be 'random' or 'time' (got 'shuffle')",
        ),
        (
            "split",
            {"test_size": 0},
            "params.yaml: split.test_size: Input should be greater than 0 (got 0)",
        ),
        (
            "split",
            {"test_size": 1},
            "params.yaml: split.test_size: Input should be less than 1 (got 1)",
        ),
        (
            "split",
            {"seed": 2**64},
            "params.yaml: split.seed: Input should be less than 18446744073709551616 "
            "(got 18446744073709551616)",
        ),
    ],
)
def test_bad_values_are_one_line_naming_the_key(
    section: str, values: dict[str, Any], expected: str
) -> None:
    model = IngestParams if section == "ingest" else SplitParams
    assert error_for({section: values}, section, model) == expected


def test_required_columns_point_to_the_contract() -> None:
    message = error_for({"ingest": {"required_columns": ["Colour"]}}, "ingest", IngestParams)
    assert message == (
        "params.yaml: ingest: required_columns: moved to the dataset contract: mark a column "
        "that files may lack with 'required: false' there (the file dataset.contract names)"
    )


def test_a_section_that_is_not_a_mapping() -> None:
    message = error_for({"split": ["random"]}, "split", SplitParams)
    assert message == "params.yaml: split: expected a mapping, got list"


def test_params_are_immutable_once_loaded() -> None:
    split = SplitParams()
    with pytest.raises(ValueError, match="frozen"):
        split.test_size = 0.5  # type: ignore[misc]


def write(tmp_path: Path, data: str | bytes) -> Path:
    path = tmp_path / "params.yaml"
    path.write_bytes(data.encode() if isinstance(data, str) else data)
    return path


def test_load_yaml_reads_a_mapping(tmp_path: Path) -> None:
    raw = {"ingest": {"rows": 5}, "split": {"strategy": "time"}}
    assert load_yaml(write(tmp_path, yaml.safe_dump(raw))) == raw


def test_an_empty_file_is_an_empty_mapping(tmp_path: Path) -> None:
    assert load_yaml(write(tmp_path, "")) == {}


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        ("ingest:\n  rows: [1,\n", "invalid YAML"),
        ("- ingest\n- split\n", "expected a mapping at the top level, got list"),
        (b"ingest:\n  source: caf\xe9\n", "not UTF-8 text"),
    ],
    ids=["malformed", "list", "latin1"],
)
def test_unreadable_files_are_one_line_naming_the_file(
    tmp_path: Path, data: str | bytes, expected: str
) -> None:
    path = write(tmp_path, data)
    with pytest.raises(UserError) as caught:
        load_yaml(path)
    message = str(caught.value)
    assert message.startswith(f"{path}:")
    assert expected in message
    assert "\n" not in message


def test_invalid_yaml_names_the_line(tmp_path: Path) -> None:
    path = write(tmp_path, "ingest:\n  rows: 5\n  seed: [1, 2\nsplit: {}\n")
    with pytest.raises(UserError, match=r": line \d+: invalid YAML: "):
        load_yaml(path)


def test_yaml_tags_are_not_executed(tmp_path: Path) -> None:
    path = write(tmp_path, "ingest: !!python/object/apply:os.system ['echo hacked']\n")
    with pytest.raises(UserError, match="invalid YAML"):
        load_yaml(path)


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(UserError, match=r"params\.yaml: file not found$"):
        load_yaml(tmp_path / "params.yaml")


def test_an_unknown_section_is_named_with_a_suggestion(tmp_path: Path) -> None:
    path = write(tmp_path, yaml.safe_dump({"trian": {"features": ["Units Sold"]}}))
    with pytest.raises(UserError) as caught:
        read_params(path)
    assert caught.value.message == (
        f"{path}: unknown section 'trian' — did you mean 'train'? "
        "(sections: dataset, engine, ingest, split, features, validate, train, evaluate)"
    )


@pytest.mark.parametrize("folder", ["/etc", "../spill", "/tmp/duckdb"])
def test_duckdb_spill_folder_outside_the_project_is_refused(folder: str) -> None:
    assert error_for(
        {"engine": {"duckdb": {"temp_directory": folder}}}, "engine", EngineParams
    ) == (
        f"params.yaml: engine.duckdb.temp_directory: '{folder}' is outside the project; keep "
        "DuckDB's spill folder in the project (e.g. .duckdb_tmp)"
    )
    inside = ParamsFile(PARAMS, {"engine": {"duckdb": {"temp_directory": "spill/duckdb"}}})
    assert inside.section("engine", EngineParams).duckdb.temp_directory == "spill/duckdb"
