"""Stage features: plan config/features.yaml, compute it on the engine of ``engine.name``
(Polars, DuckDB or Spark), save the fitted state."""

from __future__ import annotations

import argparse

from features_pipeline.contracts import paths
from features_pipeline.contracts.dataset import read_contract
from features_pipeline.contracts.params import read_params
from features_pipeline.engines.budget import cells_per_part, in_memory_if_fits, require_in_budget
from features_pipeline.engines.params import EngineParams
from features_pipeline.engines.registry import open_executor
from features_pipeline.features.params import FeaturesParams
from features_pipeline.features.parts import fit_transform_in_parts
from features_pipeline.features.plan import load_plan
from features_pipeline.features.state import save_state
from features_pipeline.io import write_json_atomic
from features_pipeline.logs import get_logger, status, timed
from features_pipeline.runner import StageFacts, main_for

log = get_logger("stages.features")


def run(args: argparse.Namespace) -> StageFacts:
    params = read_params(args.params)
    features_params = params.section("features", FeaturesParams)
    dataset = read_contract(params)
    engine = params.section("engine", EngineParams)
    schema = paths.INTERIM_TABLE.parquet_schema()
    plan = load_plan(features_params.spec, schema, dataset, engine.name)
    require_in_budget("features", engine, paths.INTERIM_TABLE.path, added=len(plan.features))
    engine = in_memory_if_fits("features", engine, paths.INTERIM_TABLE.path, len(plan.features))
    log.info(
        "plan: %d features in %d levels (%s)",
        len(plan.features),
        len(plan.levels),
        ", ".join(str(len(level)) for level in plan.levels),
    )
    with (
        timed(log, "run_feature_engineering", engine=engine.name) as fields,
        status(f"computing {len(plan.features)} features on {engine.name}"),
        open_executor(engine) as executor,
    ):
        (rows, cols), state = fit_transform_in_parts(
            paths.INTERIM_TABLE.require(),
            paths.FEATURE_TABLE.path,
            plan,
            executor,
            features_params.mode,
            cells_per_part(engine),
        )
        fields.update(rows=rows, cols=cols, features=len(plan.features), mode=features_params.mode)
    save_state(state, paths.FEATURE_STATE.path)
    write_json_atomic(plan.to_plan_file().to_json(), paths.PLAN_FILE.path)
    log.info(
        "wrote %s (%d x %d), %s, %s",
        paths.FEATURE_TABLE,
        rows,
        cols,
        paths.FEATURE_STATE,
        paths.PLAN_FILE,
    )
    return {"rows": rows, "cols": cols, "features": len(plan.features)}


def main() -> None:
    main_for("features", run, __doc__ or "")
