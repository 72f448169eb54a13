"""Helpers the local service scripts call (scripts/services.sh): S3 keys, readiness probes.

The scripts start and stop processes; what needs parsing, waiting or an S3 client lives here, where
ruff, mypy and the tests see it. Run as `python -m greenr.local_services COMMAND ...`.
"""
