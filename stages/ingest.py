"""Stage ingest: synthetic sample or CSV -> raw-contract-checked table with a split column.

What dvc.yaml runs; the code is features_pipeline.stages.ingest."""

from features_pipeline.stages.ingest import main

if __name__ == "__main__":
    main()
