"""Deploying the champion: publishing its serving artifact and running the model server."""
