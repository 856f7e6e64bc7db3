"""Ingest: synthetic Sales Records, CSV parsing, the raw contract and the train/test split."""
