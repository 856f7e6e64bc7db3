"""Stage evaluate: model on the test split -> metrics + gates, plot data, offline report.

What dvc.yaml runs; the code is features_pipeline.stages.evaluate."""

from features_pipeline.stages.evaluate import main

if __name__ == "__main__":
    main()
