"""Crafted model files: refused with one line before any tree code or payload runs.

Each case rewrites a real saved model's zip (schema.json and the .npy arrays) the way an
attacker who can write ``models/`` (card included) could, then checks the exact message and
that the real model still loads and predicts as trained.
"""

from __future__ import annotations

import hashlib
import io
import json
import subprocess
import sys
import zipfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl
import pytest
from model_support import DEFAULT_FEATURES, feature_table, plan, train_params
from sales_columns import SALES
from support import VENV_BIN, command_env, error_line
from test_model_artifacts import card_for

from features_pipeline.errors import UserError
from features_pipeline.model.artifacts import load_model_bytes, load_model_checked, model_bytes
from features_pipeline.model.threads import model_threads
from features_pipeline.model.train import TrainResult, train_model

HGB, FOREST = "hist_gradient_boosting", "random_forest"
NOT_OURS = "model.skops: not a model this pipeline wrote ("
Edit = Callable[[dict[str, Any], dict[str, bytes]], None]


@dataclass(frozen=True)
class Saved:
    result: TrainResult
    data: bytes


@pytest.fixture(scope="module", autouse=True)
def one_thread() -> Iterator[None]:
    """One OpenMP thread, as the stages use: two on a busy machine crawl."""
    with model_threads(1):
        yield


@pytest.fixture(scope="module")
def rows() -> pl.DataFrame:
    return feature_table(120, seed=4).select(DEFAULT_FEATURES)


@pytest.fixture(scope="module")
def saved() -> dict[str, Saved]:
    table = feature_table(300, seed=4)
    results = {
        name: train_model(table, train_params(name), plan(), dataset=SALES)
        for name in (HGB, FOREST)
    }
    return {name: Saved(result, model_bytes(result.model)) for name, result in results.items()}


def rewrite(data: bytes, edit: Edit) -> bytes:
    """``data`` with its schema and files changed by ``edit(schema, files)``."""
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        files = {name: archive.read(name) for name in archive.namelist()}
    schema = json.loads(files["schema.json"])
    edit(schema, files)
    files["schema.json"] = json.dumps(schema).encode()
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name, content in files.items():
            archive.writestr(name, content)
    return buffer.getvalue()


def nodes_of(node: Any, class_name: str) -> Iterator[dict[str, Any]]:
    """Schema nodes of ``class_name``, in document order."""
    if isinstance(node, dict):
        if node.get("__class__") == class_name:
            yield node
        for value in node.values():
            yield from nodes_of(value, class_name)
    elif isinstance(node, list):
        for item in node:
            yield from nodes_of(item, class_name)


def tree_nodes(class_name: str, change: Callable[[np.ndarray], np.ndarray | None]) -> Edit:
    """An edit of the node array of the first ``Tree``/``TreePredictor`` (in place or new)."""

    def edit(schema: dict[str, Any], files: dict[str, bytes]) -> None:
        entry = next(nodes_of(schema, class_name))["content"]["content"]["nodes"]["file"]
        array = np.load(io.BytesIO(files[entry]), allow_pickle=False)
        new = change(array)
        array = array if new is None else new
        buffer = io.BytesIO()
        np.save(buffer, array, allow_pickle=False)
        files[entry] = buffer.getvalue()

    return edit


def first_internal(nodes: np.ndarray, leaf: np.ndarray) -> int:
    return int(np.flatnonzero(~leaf & (np.arange(len(nodes)) > 0))[0])


def hgb_left(array: np.ndarray) -> None:
    array["left"][0] = 10**8


def forest_left(array: np.ndarray) -> None:
    array["left_child"][0] = 10**8


def hgb_cycle(array: np.ndarray) -> None:
    array["right"][first_internal(array, array["is_leaf"] != 0)] = 0  # back to the root


def hgb_self(array: np.ndarray) -> None:
    array["left"][0] = 0


def hgb_categorical(array: np.ndarray) -> None:
    array["is_categorical"][0] = 1  # would index a bitset the model does not have


def forest_feature(array: np.ndarray) -> None:
    array["feature"][0] = 10_000


def forest_int32(array: np.ndarray) -> np.ndarray:
    fields = [
        (name, "<i4" if name == "feature" else array.dtype[name]) for name in array.dtype.names
    ]
    return array.astype(fields)


def payload(module: str, name: str, loader: str, argument: str) -> Edit:
    """Swap the model's ``_sklearn_version`` string for a call of ``module.name(argument)``."""

    def edit(schema: dict[str, Any], files: dict[str, bytes]) -> None:
        text = {"__class__": "str", "__module__": "builtins", "__loader__": "JsonNode",
                "content": json.dumps(argument), "is_json": True, "__id__": 90001}  # fmt: skip
        call = {
            "__class__": name, "__module__": module, "__loader__": loader, "__id__": 90002,
            "__reduce__": {"args": {"__class__": "tuple", "__module__": "builtins",
                                    "__loader__": "TupleNode", "content": [text],
                                    "__id__": 90003}},
            "content": {"__class__": "dict", "__module__": "builtins", "__loader__": "DictNode",
                        "content": {}, "key_types": {"__class__": "list",
                                                     "__module__": "builtins",
                                                     "__loader__": "ListNode", "content": [],
                                                     "__id__": 90004}, "__id__": 90005},
        }  # fmt: skip
        schema["content"]["content"]["_sklearn_version"] = call

    return edit


def unknown_type(schema: dict[str, Any], files: dict[str, bytes]) -> None:
    schema["content"]["content"]["memory"] = {
        "__class__": "Popen", "__module__": "subprocess", "__loader__": "ObjectNode",
        "__id__": 90010,
    }  # fmt: skip


def aliased_nodes(schema: dict[str, Any], files: dict[str, bytes]) -> None:
    """The second predictor's node array reuses the id of another (crafted) array."""
    first, second = list(nodes_of(schema, "TreePredictor"))[:2]
    bitsets = first["content"]["content"]["raw_left_cat_bitsets"]
    second["content"]["content"]["nodes"]["__id__"] = bitsets["__id__"]


def relabelled_tree(schema: dict[str, Any], files: dict[str, bytes]) -> None:
    """A crafted Tree labelled as a trusted type: skops' TreeNode builds a Tree regardless."""
    tree_nodes("Tree", forest_left)(schema, files)
    for node in nodes_of(schema, "Tree"):
        node["__class__"], node["__module__"] = "dtype", "numpy"


def cached_alias(schema: dict[str, Any], files: dict[str, bytes]) -> None:
    """skops' CachedNode hands out an object built elsewhere by id."""
    first, second = list(nodes_of(schema, "TreePredictor"))[:2]
    nodes = second["content"]["content"]["nodes"]
    bitsets = first["content"]["content"]["raw_left_cat_bitsets"]
    second["content"]["content"]["nodes"] = {**nodes, "__loader__": "CachedNode"}
    second["content"]["content"]["nodes"]["__id__"] = bitsets["__id__"]


def misplaced_tree(schema: dict[str, Any], files: dict[str, bytes]) -> None:
    predictor = next(nodes_of(schema, "TreePredictor"))
    schema["content"]["content"]["memory"] = predictor  # a tree outside its estimator


CASES: dict[str, tuple[str, Edit, str]] = {
    "hgb-child-out-of-range": (
        HGB, tree_nodes("TreePredictor", hgb_left),
        "gradient boosting tree: node 0 has left child 100000000)",
    ),
    "forest-child-out-of-range": (
        FOREST, tree_nodes("Tree", forest_left),
        "random forest tree: node 0 has left child 100000000)",
    ),
    "hgb-cycle": (HGB, tree_nodes("TreePredictor", hgb_cycle), "gradient boosting tree: node "),
    "hgb-self-reference": (
        HGB, tree_nodes("TreePredictor", hgb_self),
        "gradient boosting tree: node 0 has left child 0)",
    ),
    "hgb-categorical-split": (
        HGB, tree_nodes("TreePredictor", hgb_categorical),
        "gradient boosting tree: a categorical split)",
    ),
    "forest-feature-out-of-range": (
        FOREST, tree_nodes("Tree", forest_feature),
        "random forest tree: a split feature is outside 0..",
    ),
    "forest-wrong-dtype": (
        FOREST, tree_nodes("Tree", forest_int32),
        "random forest tree: nodes are not a 1-d array of sklearn tree nodes)",
    ),
    "hgb-float-nodes": (
        HGB, tree_nodes("TreePredictor", lambda a: a["value"].copy()),
        "gradient boosting tree: nodes are not a 1-d array of predictor records)",
    ),
    "id-alias": (HGB, aliased_nodes, "two different objects share id "),
    "relabelled-tree": (FOREST, relabelled_tree, "unexpected skops node TreeNode(numpy.dtype))"),
    "cached-alias": (
        HGB, cached_alias, "gradient boosting tree: nodes is not a stored numpy array)"
    ),
    "misplaced-tree": (
        HGB, misplaced_tree,
        "sklearn.ensemble._hist_gradient_boosting.predictor.TreePredictor outside a "
        "HistGradientBoostingRegressor)",
    ),
}  # fmt: skip


def refused(data: bytes) -> str:
    with pytest.raises(UserError) as caught:
        load_model_bytes(data, "model.skops")
    message = str(caught.value)
    assert "\n" not in message
    return message


def assert_real_model_works(saved: Saved, rows: pl.DataFrame) -> None:
    loaded = load_model_bytes(saved.data, "model.skops")
    np.testing.assert_array_equal(loaded.predict(rows), saved.result.model.predict(rows))


@pytest.mark.parametrize("case", CASES)
def test_crafted_trees_are_refused_before_loading(
    case: str, saved: dict[str, Saved], rows: pl.DataFrame, tmp_path: Path
) -> None:
    name, edit, reason = CASES[case]
    data = rewrite(saved[name].data, edit)
    message = refused(data)
    assert message.startswith(NOT_OURS + reason), message
    assert message.endswith("; re-run the train stage")
    # the attacker wrote a matching card too: the hash check passes, the structure check does not
    path = tmp_path / "model.skops"
    path.write_bytes(data)
    card = card_for(saved[name].result, hashlib.sha256(data).hexdigest())
    with pytest.raises(UserError, match=r"model\.skops: not a model this pipeline wrote \("):
        load_model_checked(path, card, "model_card.json")
    assert_real_model_works(saved[name], rows)


def test_crafted_models_exit_1_through_predict_without_reaching_tree_code(
    saved: dict[str, Saved], tmp_path: Path
) -> None:
    """Unchecked, these files segfault predict (exit 139): here each run ends with one line."""
    runs = {}
    for name, case in ((HGB, "hgb-child-out-of-range"), (FOREST, "forest-child-out-of-range")):
        data = rewrite(saved[name].data, CASES[case][1])
        model, card_path = tmp_path / f"{name}.skops", tmp_path / f"{name}.json"
        model.write_bytes(data)
        card = card_for(saved[name].result, hashlib.sha256(data).hexdigest())
        card_path.write_text(json.dumps(card.to_json()), encoding="utf-8")
        args = ["predict", "--model", model.name, "--card", card_path.name, "--input", "new.csv"]
        runs[case] = subprocess.Popen(  # both at once: each mostly waits on imports
            [str(VENV_BIN / "features-pipeline"), *args, "--output", "out.csv"],
            cwd=tmp_path,
            env=command_env(),
            stderr=subprocess.PIPE,
            stdout=subprocess.DEVNULL,
            text=True,
        )
    for case, run in runs.items():
        _, stderr = run.communicate(timeout=120)
        assert run.returncode == 1, (run.returncode, stderr)  # not -11 / 139
        line = error_line(run.returncode, stderr)
        name = HGB if case.startswith("hgb") else FOREST
        assert line.startswith(
            f"error: {name}.skops: not a model this pipeline wrote ({CASES[case][2]}"
        )
        assert line.endswith("; re-run the train stage"), line


@pytest.mark.parametrize(
    ("module", "name", "loader", "reason"),
    [
        ("os", "system", "ReduceNode", "unexpected skops node ReduceNode(os.system))"),
        ("os", "system", "TreeNode", "unexpected skops node TreeNode(os.system))"),
        ("builtins", "eval", "ObjectNode", "unexpected skops node ObjectNode(builtins.eval))"),
    ],
)
def test_reduce_payloads_run_nothing(
    module: str,
    name: str,
    loader: str,
    reason: str,
    saved: dict[str, Saved],
    rows: pl.DataFrame,
    tmp_path: Path,
) -> None:
    marker = tmp_path / "pwned"
    command = (
        f"open({str(marker)!r}, 'w')"
        if name == "eval"
        else f'{sys.executable} -c \'open("{marker}", "w")\''
    )
    message = refused(rewrite(saved[HGB].data, payload(module, name, loader, command)))
    assert message.startswith(NOT_OURS + reason), message
    assert message.endswith("re-run the train stage")
    assert not marker.exists()
    assert_real_model_works(saved[HGB], rows)


def test_unknown_type_is_refused_by_name(saved: dict[str, Saved], rows: pl.DataFrame) -> None:
    message = refused(rewrite(saved[FOREST].data, unknown_type))
    assert message.startswith(NOT_OURS + "unexpected skops node ObjectNode(subprocess.Popen))")
    assert_real_model_works(saved[FOREST], rows)


def test_truncated_or_pickled_files_are_one_line(
    saved: dict[str, Saved], rows: pl.DataFrame
) -> None:
    data = saved[HGB].data
    assert refused(data[: len(data) // 2]) == (
        "model.skops: not a model this pipeline wrote (not a zip archive); re-run the train stage"
    )

    def pickled(schema: dict[str, Any], files: dict[str, bytes]) -> None:
        entry = next(nodes_of(schema, "TreePredictor"))["content"]["content"]["nodes"]["file"]
        buffer = io.BytesIO()
        np.save(buffer, np.array([print], dtype=object), allow_pickle=True)
        files[entry] = buffer.getvalue()

    message = refused(rewrite(data, pickled))
    assert message.startswith(NOT_OURS + "gradient boosting tree: nodes: unreadable array ("), (
        message
    )
    assert_real_model_works(saved[HGB], rows)


def test_a_card_for_other_bytes_is_refused_first(
    saved: dict[str, Saved], rows: pl.DataFrame, tmp_path: Path
) -> None:
    path = tmp_path / "model.skops"
    path.write_bytes(rewrite(saved[HGB].data, CASES["hgb-child-out-of-range"][1]))
    card = card_for(saved[HGB].result, hashlib.sha256(saved[HGB].data).hexdigest())
    with pytest.raises(UserError) as caught:
        load_model_checked(path, card, "model_card.json")
    assert str(caught.value).startswith(
        f"model_card.json: artifact.sha256 does not match {path}; the card belongs to another"
    )
    path.write_bytes(saved[HGB].data)
    loaded = load_model_checked(path, card, "model_card.json")
    np.testing.assert_array_equal(loaded.predict(rows), saved[HGB].result.model.predict(rows))


def function_attribute(module: str, name: str) -> Edit:
    """An extra attribute of the regressor holding the function ``module.name`` (skops'
    FunctionNode builds the function object itself: nothing calls it on load)."""

    def edit(schema: dict[str, Any], files: dict[str, bytes]) -> None:
        steps = schema["content"]["content"]["steps"]["content"]
        regressor = steps[1]["content"][1]  # ("model", <regressor>)
        regressor["content"]["content"]["callback"] = {
            "__class__": name, "__module__": module, "__loader__": "FunctionNode",
            "__id__": 90020, "content": {"module_path": module, "function": name},
        }  # fmt: skip

    return edit


def trusted_extra(schema: dict[str, Any], files: dict[str, bytes]) -> None:
    """An extra attribute of a type skops trusts by default but our models never hold."""
    steps = schema["content"]["content"]["steps"]["content"]
    regressor = steps[1]["content"][1]
    regressor["content"]["content"]["helper"] = {
        "__class__": "FunctionTransformer",
        "__module__": "sklearn.preprocessing._function_transformer",
        "__loader__": "ObjectNode", "__id__": 90030,
        "content": {"__class__": "dict", "__module__": "builtins", "__loader__": "DictNode",
                    "content": {}, "key_types": {"__class__": "list", "__module__": "builtins",
                                                 "__loader__": "ListNode", "content": [],
                                                 "__id__": 90031}, "__id__": 90032},
    }  # fmt: skip


@pytest.mark.parametrize(
    ("edit", "reason"),
    [
        (
            function_attribute("posix", "system"),
            "unexpected skops node FunctionNode(posix.system))",
        ),
        (function_attribute("numpy", "exp"), "unexpected skops node FunctionNode(numpy.exp))"),
        (
            trusted_extra,
            "unexpected skops node ObjectNode("
            "sklearn.preprocessing._function_transformer.FunctionTransformer))",
        ),
    ],
    ids=["posix-system", "numpy-ufunc-skops-trusts", "sklearn-type-skops-trusts"],
)
def test_an_injected_node_we_never_write_is_refused_with_a_matching_card(
    edit: Edit, reason: str, saved: dict[str, Saved], rows: pl.DataFrame, tmp_path: Path
) -> None:
    """The attacker rewrites the archive and the card's sha256: the node allow-list refuses it."""
    data = rewrite(saved[FOREST].data, edit)
    path = tmp_path / "model.skops"
    path.write_bytes(data)
    card = card_for(saved[FOREST].result, hashlib.sha256(data).hexdigest())
    with pytest.raises(UserError) as caught:
        load_model_checked(path, card, "model_card.json")
    message = str(caught.value)
    assert message == f"{path}: not a model this pipeline wrote ({reason}; re-run the train stage"
    assert_real_model_works(saved[FOREST], rows)
