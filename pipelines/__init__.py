"""ZenML pipelines: each file only wires steps together."""
