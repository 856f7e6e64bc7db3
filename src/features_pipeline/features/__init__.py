"""Feature engine: a typed declarative spec, a dependency planner and a Polars executor."""
