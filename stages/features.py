"""Stage features: plan config/features.yaml, compute it with Polars, save the fitted state.

What dvc.yaml runs; the code is features_pipeline.stages.features."""

from features_pipeline.stages.features import main

if __name__ == "__main__":
    main()
