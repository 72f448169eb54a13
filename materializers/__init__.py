"""ZenML materializers for the project's own artifact types."""
