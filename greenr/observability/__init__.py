"""Metrics the pipelines push to the Pushgateway, and the configs of the monitoring servers.

Lowest floor: imports nothing of greenr (prometheus_client, PyYAML and the standard library only),
so pipelines, entry points and tests all share one home for these names.
"""
