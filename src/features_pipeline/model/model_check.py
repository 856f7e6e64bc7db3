"""Check a skops archive's schema before skops builds any object from it.

skops leaves two scikit-learn tree types untrusted: their node arrays are walked by compiled
code that does no bounds checks, so a crafted child or feature index reads (or loops) outside
the tree and crashes the process. Our random_forest and hist_gradient_boosting models need
them, so every such node in ``schema.json`` is checked here first, from the ``.npy`` bytes
(read with ``allow_pickle=False``): exact dtype, children inside the tree and after their
parent (so no cycles), one parent per node, feature indices below the model's input count,
no categorical splits, and the trees sitting only where our pipelines put them. Every node must
be one our registry's models are saved as (EXPECTED_NODES: exact loader and type), so an injected
``FunctionNode(posix.system)`` or a type skops trusts but we never write is refused by name. Node
ids must also be consistent:
skops reuses the first object built for an id, so two different nodes must not share one.
"""

from __future__ import annotations

import io
import json
import zipfile
from typing import Any

import numpy as np

from features_pipeline.model.registry import TREE_PREDICTOR_TYPE, TREE_TYPE

SCHEMA_FILE = "schema.json"
TREE, PREDICTOR = TREE_TYPE, TREE_PREDICTOR_TYPE  # the trusted_types of the registry's trees
FOREST = "sklearn.ensemble._forest.RandomForestRegressor"
DECISION_TREE = "sklearn.tree._classes.DecisionTreeRegressor"
HIST_GB = "sklearn.ensemble._hist_gradient_boosting.gradient_boosting.HistGradientBoostingRegressor"

# each checked type: the skops loader our files use and the objects it must sit in (innermost
# last), as written by skops for our registered pipelines
PLACEMENT: dict[str, tuple[str, tuple[str, ...]]] = {
    TREE: ("TreeNode", (FOREST, DECISION_TREE)),
    PREDICTOR: ("ObjectNode", (HIST_GB,)),
}
_LOSS = "sklearn._loss.loss"
_CY_LOSS = "sklearn._loss._loss"
# Every (skops loader, type) a model of our registry is saved as (sklearn/skops versions of
# requirements/all.txt; hist_gradient_boosting with each regression loss). Anything else anywhere
# in the schema (a FunctionNode, a ReduceNode, a type skops trusts but we never write) is refused
# before skops builds or even imports anything. tests/test_model_artifacts.py checks that the
# registry's models use exactly these.
EXPECTED_NODES: frozenset[tuple[str, str]] = frozenset(
    {
        ("DictNode", "builtins.dict"),
        ("JsonNode", "builtins.str"),  # skops labels every JSON value str
        ("ListNode", "builtins.list"),
        ("TupleNode", "builtins.tuple"),
        ("TypeNode", "builtins.str"),  # a type as a value (the class str)
        ("NdArrayNode", "numpy.ndarray"),
        ("NdArrayNode", "numpy.float64"),
        ("NdArrayNode", "numpy.uint64"),
        ("ObjectNode", "sklearn.pipeline.Pipeline"),
        ("ObjectNode", "features_pipeline.model.encoding.FrameEncoder"),
        ("ObjectNode", "features_pipeline.model.least_squares.LeastSquares"),
        ("ObjectNode", "sklearn.linear_model._ridge.Ridge"),
        ("ObjectNode", "sklearn.linear_model._coordinate_descent.Lasso"),
        ("ObjectNode", "sklearn.linear_model._coordinate_descent.ElasticNet"),
        ("ObjectNode", FOREST),
        ("ObjectNode", DECISION_TREE),
        ("TreeNode", TREE),
        ("ObjectNode", HIST_GB),
        ("ObjectNode", PREDICTOR),
        ("ObjectNode", "sklearn.ensemble._hist_gradient_boosting.binning._BinMapper"),
        ("RandomGeneratorNode", "numpy.random._generator.Generator"),
        ("ObjectNode", "sklearn._loss.link.Interval"),
        ("ObjectNode", "sklearn._loss.link.IdentityLink"),
        ("ObjectNode", "sklearn._loss.link.LogLink"),
        *(
            pair
            for loss in (
                "HalfSquaredError",
                "AbsoluteError",
                "HalfGammaLoss",
                "HalfPoissonLoss",
                "PinballLoss",
            )
            for pair in (("ObjectNode", f"{_LOSS}.{loss}"), ("LossNode", f"{_CY_LOSS}.Cy{loss}"))
        ),
    }
)
OBJECT_LOADERS = frozenset({"ObjectNode", "LossNode", "TreeNode"})
TREE_LEAF, TREE_UNDEFINED = -1, -2  # sklearn.tree._tree markers
BITSET_WORDS = 8  # uint32 words per categorical bitset (256 categories)


class ArchiveError(Exception):
    """What is wrong with a model archive (one short phrase)."""


def check_archive(data: bytes) -> None:
    """Raise ArchiveError unless ``data`` is a zip whose checked tree types are well formed."""
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            schema = json.loads(archive.read(SCHEMA_FILE))
            _Checker(archive).walk(schema, ())
    except zipfile.BadZipFile:
        raise ArchiveError("not a zip archive") from None
    except KeyError as exc:
        raise ArchiveError(f"missing entry {exc}") from None
    except (json.JSONDecodeError, UnicodeDecodeError):
        raise ArchiveError(f"{SCHEMA_FILE} is not JSON") from None
    except RecursionError:
        raise ArchiveError(f"{SCHEMA_FILE} is nested too deeply") from None


def _name(node: dict[str, Any]) -> str:
    return f"{node.get('__module__')}.{node.get('__class__')}"


class _Checker:
    """Walks the schema, remembering node ids and the objects enclosing each node."""

    def __init__(self, archive: zipfile.ZipFile) -> None:
        self.archive = archive
        self.seen: dict[Any, dict[str, Any]] = {}

    def walk(self, node: Any, objects: tuple[dict[str, Any], ...]) -> None:
        if isinstance(node, list):
            for item in node:
                self.walk(item, objects)
            return
        if not isinstance(node, dict):
            return
        if "__loader__" in node:
            loader, name = node["__loader__"], _name(node)
            if not isinstance(loader, str) or (loader, name) not in EXPECTED_NODES:
                raise ArchiveError(f"unexpected skops node {loader}({name})")
            first = self.seen.setdefault(node.get("__id__"), node)
            if first is not node and not self.same(first, node):
                raise ArchiveError(f"two different objects share id {node.get('__id__')!r}")
            # a TreeNode builds a Tree whatever its label says
            if name in PLACEMENT or loader == "TreeNode":
                self.check_placed(node, name, objects)
                if name == TREE:
                    _check_tree(node, objects, self.archive)
                else:
                    _check_predictor(node, objects, self.archive)
            if loader in OBJECT_LOADERS:
                objects = (*objects, node)
        for value in node.values():
            self.walk(value, objects)

    def same(self, first: Any, other: Any) -> bool:
        """Whether two nodes build equal objects: equal but for the ids of nested nodes (each
        checked where it is walked) and file names (the files must hold the same bytes)."""
        if isinstance(first, dict) and isinstance(other, dict):
            if first.keys() != other.keys():
                return False
            for key, value in first.items():
                if key == "__id__":
                    continue
                if key == "file" and isinstance(value, str) and isinstance(other[key], str):
                    if self.archive.read(value) != self.archive.read(other[key]):
                        return False
                elif not self.same(value, other[key]):
                    return False
            return True
        if isinstance(first, list) and isinstance(other, list):
            return len(first) == len(other) and all(map(self.same, first, other))
        return type(first) is type(other) and bool(first == other)

    @staticmethod
    def check_placed(node: dict[str, Any], name: str, objects: tuple[dict[str, Any], ...]) -> None:
        loader, parents = PLACEMENT.get(name, ("", ()))
        if node["__loader__"] != loader:
            raise ArchiveError(f"{name} stored with loader {node['__loader__']!r}")
        enclosing = tuple(_name(obj) for obj in objects[-len(parents) :])
        if enclosing != parents:
            raise ArchiveError(f"{name} outside a {parents[-1].rsplit('.', 1)[-1]}")


def _attrs(node: dict[str, Any], what: str) -> dict[str, Any]:
    """The attribute nodes of an object node (its ``content`` dict node)."""
    content = node.get("content")
    if not isinstance(content, dict) or content.get("__loader__") != "DictNode":
        raise ArchiveError(f"{what}: attributes are not a dict")
    attrs = content.get("content")
    if not isinstance(attrs, dict):
        raise ArchiveError(f"{what}: attributes are not a dict")
    return attrs


def _json_int(node: Any, what: str) -> int:
    value = None
    if isinstance(node, dict) and node.get("__loader__") == "JsonNode" and node.get("is_json"):
        try:
            value = json.loads(node.get("content", ""))
        except (TypeError, json.JSONDecodeError):
            value = None
    if not isinstance(value, int) or isinstance(value, bool) or value < 0:
        raise ArchiveError(f"{what} is not a non-negative integer")
    return value


def _array(node: Any, archive: zipfile.ZipFile, what: str) -> np.ndarray:
    """The numpy array a ``NdArrayNode`` names, read without unpickling anything."""
    if not (
        isinstance(node, dict)
        and node.get("__loader__") == "NdArrayNode"
        and _name(node) == "numpy.ndarray"
        and node.get("type") == "numpy"
        and isinstance(node.get("file"), str)
    ):
        raise ArchiveError(f"{what} is not a stored numpy array")
    try:
        array = np.load(io.BytesIO(archive.read(node["file"])), allow_pickle=False)
    except (ValueError, OSError, EOFError) as exc:
        raise ArchiveError(f"{what}: unreadable array ({str(exc).splitlines()[0]})") from None
    if not isinstance(array, np.ndarray):
        raise ArchiveError(f"{what} is not a single array")
    return array


def _n_features_in(estimators: tuple[dict[str, Any], ...], what: str) -> int:
    """The input count the enclosing estimators declare (each must, and they must agree)."""
    counts = set()
    for estimator in estimators:
        attrs = _attrs(estimator, what)
        if "n_features_in_" not in attrs:
            raise ArchiveError(f"{what}: {_name(estimator)} has no n_features_in_")
        counts.add(_json_int(attrs["n_features_in_"], f"{what}: n_features_in_"))
    if len(counts) != 1:
        raise ArchiveError(f"{what}: enclosing estimators disagree on n_features_in_")
    return counts.pop()


def _check_links(
    left: np.ndarray, right: np.ndarray, internal: np.ndarray, what: str
) -> np.ndarray:
    """Check children come after their parent, inside the tree, one parent each; node depths."""
    n = left.shape[0]
    index = np.arange(n)
    for side, child in (("left", left), ("right", right)):
        bad = internal & ((child <= index) | (child >= n))
        if bad.any():
            node = int(np.flatnonzero(bad)[0])
            raise ArchiveError(f"{what}: node {node} has {side} child {int(child[node])}")
    children = np.concatenate([left[internal], right[internal]]).astype(np.int64)
    parents = np.bincount(children, minlength=n)
    if parents[0] != 0 or (parents[1:] != 1).any():
        raise ArchiveError(f"{what}: nodes do not form a tree")
    depth = np.zeros(n, dtype=np.int64)
    frontier = index[:1]
    while frontier.size:  # one step per level; children come after parents, so this ends
        frontier = frontier[internal[frontier]]
        kids = np.concatenate([left[frontier], right[frontier]]).astype(np.int64)
        depth[kids] = np.concatenate([depth[frontier], depth[frontier]]) + 1
        frontier = kids
    return depth


def _check_tree(node: dict[str, Any], objects: tuple[dict[str, Any], ...], archive: Any) -> None:
    """A ``sklearn.tree._tree.Tree`` (random_forest): args, state and node arrays."""
    from sklearn.tree._tree import NODE_DTYPE

    what = "random forest tree"
    reduce = node.get("__reduce__")
    args = reduce.get("args") if isinstance(reduce, dict) else None
    if not (
        isinstance(args, dict)
        and args.get("__loader__") == "TupleNode"
        and isinstance(args.get("content"), list)
        and len(args["content"]) == 3
    ):
        raise ArchiveError(f"{what}: arguments are not (n_features, n_classes, n_outputs)")
    n_features = _json_int(args["content"][0], f"{what}: n_features")
    n_classes = _array(args["content"][1], archive, f"{what}: n_classes")
    n_outputs = _json_int(args["content"][2], f"{what}: n_outputs")
    if n_outputs != 1 or n_classes.dtype != np.intp or n_classes.tolist() != [1]:
        raise ArchiveError(f"{what}: not a single-output regression tree")
    if n_features != _n_features_in(objects[-len(PLACEMENT[TREE][1]) :], what):
        raise ArchiveError(f"{what}: n_features differs from the estimator's n_features_in_")
    state = _attrs(node, what)
    if set(state) != {"max_depth", "node_count", "nodes", "values"}:
        raise ArchiveError(f"{what}: state keys {sorted(state)}")
    nodes = _array(state["nodes"], archive, f"{what}: nodes")
    values = _array(state["values"], archive, f"{what}: values")
    if nodes.dtype != NODE_DTYPE or nodes.ndim != 1 or nodes.shape[0] == 0:
        raise ArchiveError(f"{what}: nodes are not a 1-d array of sklearn tree nodes")
    n = nodes.shape[0]
    if _json_int(state["node_count"], f"{what}: node_count") != n:
        raise ArchiveError(f"{what}: node_count differs from the node array")
    if values.dtype != np.float64 or values.shape != (n, n_outputs, 1):
        raise ArchiveError(f"{what}: values shape {values.shape}, expected {(n, n_outputs, 1)}")
    left, right, feature = nodes["left_child"], nodes["right_child"], nodes["feature"]
    internal = left != TREE_LEAF
    leaf = ~internal
    if (right[leaf] != TREE_LEAF).any() or (feature[leaf] != TREE_UNDEFINED).any():
        raise ArchiveError(f"{what}: a leaf has a child or a feature")
    if ((feature[internal] < 0) | (feature[internal] >= n_features)).any():
        raise ArchiveError(f"{what}: a split feature is outside 0..{n_features - 1}")
    depth = _check_links(left, right, internal, what)
    if _json_int(state["max_depth"], f"{what}: max_depth") != int(depth.max()):
        raise ArchiveError(f"{what}: max_depth differs from the nodes")


def _check_predictor(
    node: dict[str, Any], objects: tuple[dict[str, Any], ...], archive: Any
) -> None:
    """A HistGradientBoosting ``TreePredictor``: node records, no categorical splits.

    Our pipelines feed text columns as ordinal codes (numeric), so their predictors never
    split on categories: the bitset arrays are empty and no node is categorical.
    """
    from sklearn.ensemble._hist_gradient_boosting.common import PREDICTOR_RECORD_DTYPE

    what = "gradient boosting tree"
    attrs = _attrs(node, what)
    if set(attrs) != {"nodes", "binned_left_cat_bitsets", "raw_left_cat_bitsets"}:
        raise ArchiveError(f"{what}: attributes {sorted(attrs)}")
    nodes = _array(attrs["nodes"], archive, f"{what}: nodes")
    if nodes.dtype != PREDICTOR_RECORD_DTYPE or nodes.ndim != 1 or nodes.shape[0] == 0:
        raise ArchiveError(f"{what}: nodes are not a 1-d array of predictor records")
    for key in ("binned_left_cat_bitsets", "raw_left_cat_bitsets"):
        bitsets = _array(attrs[key], archive, f"{what}: {key}")
        if bitsets.dtype != np.uint32 or bitsets.shape != (0, BITSET_WORDS):
            raise ArchiveError(f"{what}: {key} is not an empty (0, 8) uint32 array")
    if (nodes["is_categorical"] != 0).any():
        raise ArchiveError(f"{what}: a categorical split")
    left, right, feature = nodes["left"], nodes["right"], nodes["feature_idx"]
    internal = nodes["is_leaf"] == 0
    leaf = ~internal
    if (left[leaf] != 0).any() or (right[leaf] != 0).any():
        raise ArchiveError(f"{what}: a leaf has a child")
    n_features = _n_features_in(objects[-1:], what)
    if ((feature[internal] < 0) | (feature[internal] >= n_features)).any():
        raise ArchiveError(f"{what}: a split feature is outside 0..{n_features - 1}")
    depth = _check_links(left, right, internal, what)
    if (nodes["depth"] != depth).any():
        raise ArchiveError(f"{what}: node depths differ from the links")
