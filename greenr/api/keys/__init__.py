"""API keys of the prediction API: tokens, the catalog table, key files and the CLI."""
