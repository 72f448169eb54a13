"""The MLflow model registry: versions, aliases, and the promotion gate."""
