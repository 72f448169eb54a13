"""Ingestion: from a folder of labelled photos to a catalogued, validated, split dataset."""
