"""ZenML stack definitions (local, local-s3, cluster) and their idempotent registration."""
