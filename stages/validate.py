"""Stage validate: check the feature table before any model is trained on it.

What dvc.yaml runs; the code is features_pipeline.stages.validate."""

from features_pipeline.stages.validate import main

if __name__ == "__main__":
    main()
