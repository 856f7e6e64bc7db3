"""Executors of a feature plan: Polars (default), DuckDB (bigger than memory on one machine) and
Spark (a cluster, or Spark Connect). Feature types are written once with narwhals; an executor
supplies what differs between engines: reading the input, joining learned tables, collecting."""
