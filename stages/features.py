"""Stage features: plan config/features.yaml, compute it with Polars, save the fitted state."""

from __future__ import annotations

import argparse
from pathlib import Path

import polars as pl

from features_pipeline.features.engine import fit_transform
from features_pipeline.features.plan import load_plan
from features_pipeline.features.state import save_state
from features_pipeline.io import require_input, write_json_atomic, write_parquet_atomic
from features_pipeline.logs import get_logger, status, timed
from features_pipeline.params import FeaturesParams, load_yaml, parse_section, target_column
from features_pipeline.paths import FEATURE_STATE as STATE
from features_pipeline.paths import FEATURE_TABLE as FEATURES
from features_pipeline.paths import INTERIM_TABLE as INPUT
from features_pipeline.paths import PLAN_FILE as PLAN
from features_pipeline.runner import StageFacts, main_for

log = get_logger("stages.features")


def input_schema(path: Path) -> dict[str, pl.DataType]:
    """Column dtypes of the interim table, read from parquet metadata only."""
    require_input(path, "ingest")
    return dict(pl.read_parquet_schema(path))


def run(args: argparse.Namespace) -> StageFacts:
    raw = load_yaml(args.params)
    params = parse_section(raw, "features", FeaturesParams, args.params)
    plan = load_plan(params.spec, input_schema(INPUT), target_column(raw))
    log.info(
        "plan: %d features in %d levels (%s)",
        len(plan.features),
        len(plan.levels),
        ", ".join(str(len(level)) for level in plan.levels),
    )
    frame = pl.read_parquet(INPUT)
    with (
        timed(log, "run_feature_engineering", rows=frame.height, cols=frame.width) as fields,
        status(f"computing {len(plan.features)} features"),
    ):
        features, state = fit_transform(frame, plan, params.mode)
        fields.update(features=len(plan.features), mode=params.mode)
    write_parquet_atomic(features, FEATURES)
    save_state(state, STATE)
    write_json_atomic(plan.to_dict(), PLAN)
    log.info("wrote %s (%d x %d), %s, %s", FEATURES, *features.shape, STATE, PLAN)
    return {"rows": features.height, "cols": features.width, "features": len(plan.features)}


if __name__ == "__main__":
    main_for("features", run, __doc__ or "")
