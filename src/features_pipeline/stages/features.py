"""Stage features: plan config/features.yaml, compute it with Polars, save the fitted state."""

from __future__ import annotations

import argparse

from features_pipeline.contracts import paths
from features_pipeline.contracts.params import ModelInputsParams, read_params
from features_pipeline.features.engine import fit_transform
from features_pipeline.features.params import FeaturesParams
from features_pipeline.features.plan import load_plan
from features_pipeline.features.state import save_state
from features_pipeline.io import write_json_atomic, write_parquet_atomic
from features_pipeline.logs import get_logger, status, timed
from features_pipeline.runner import StageFacts, main_for

log = get_logger("stages.features")


def run(args: argparse.Namespace) -> StageFacts:
    params = read_params(args.params)
    features_params = params.section("features", FeaturesParams)
    target = params.section("train", ModelInputsParams).target
    plan = load_plan(features_params.spec, paths.INTERIM_TABLE.parquet_schema(), target)
    log.info(
        "plan: %d features in %d levels (%s)",
        len(plan.features),
        len(plan.levels),
        ", ".join(str(len(level)) for level in plan.levels),
    )
    frame = paths.INTERIM_TABLE.read_parquet()
    with (
        timed(log, "run_feature_engineering", rows=frame.height, cols=frame.width) as fields,
        status(f"computing {len(plan.features)} features"),
    ):
        features, state = fit_transform(frame, plan, features_params.mode)
        fields.update(features=len(plan.features), mode=features_params.mode)
    write_parquet_atomic(features, paths.FEATURE_TABLE.path)
    save_state(state, paths.FEATURE_STATE.path)
    write_json_atomic(plan.to_plan_file().to_json(), paths.PLAN_FILE.path)
    log.info(
        "wrote %s (%d x %d), %s, %s",
        paths.FEATURE_TABLE,
        *features.shape,
        paths.FEATURE_STATE,
        paths.PLAN_FILE,
    )
    return {"rows": features.height, "cols": features.width, "features": len(plan.features)}


def main() -> None:
    main_for("features", run, __doc__ or "")
