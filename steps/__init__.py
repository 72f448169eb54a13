"""ZenML steps: thin adapters over the greenr package."""
