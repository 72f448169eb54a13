"""Monitoring: production windows against each model version's reference, feedback, retraining."""
