"""Steps of the ingestion pipeline."""
