"""Stage train: feature table -> cross-validated, fitted model (skops) + model card + CV metrics.

What dvc.yaml runs; the code is features_pipeline.stages.train."""

from features_pipeline.stages.train import main

if __name__ == "__main__":
    main()
