"""What the stages share and nobody else owns: artifact paths, the split vocabulary, the plan.json,
model-card and metrics-file models, dtype names and params machinery. Imports nothing above it."""
