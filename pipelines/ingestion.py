"""Ingestion: scan -> screen -> validate -> split -> store -> catalog -> summary."""

from zenml import pipeline

from greenr.ingestion.config import IngestionConfig
from steps.ingestion.record_catalog import record_catalog_step
from steps.ingestion.scan_source import scan_source_step
from steps.ingestion.screen_images import screen_images_step
from steps.ingestion.split_dataset import split_dataset_step
from steps.ingestion.store_objects import store_objects_step
from steps.ingestion.summarize import summarize_step
from steps.ingestion.validate_dataset import validate_dataset_step


# Caching is off: the source folder can change while the step's inputs (its path) stay the same.
@pipeline(enable_cache=False)
def ingestion_pipeline(source: str, config: IngestionConfig) -> None:
    """Turn a folder of labelled photos into a validated, stored, catalogued dataset version."""
    scan = scan_source_step(source)
    screened = screen_images_step(scan, config)
    validate_dataset_step(screened)
    plan = split_dataset_step(screened, config, after="validate_dataset_step")
    stored = store_objects_step(screened, plan)
    version, inserted = record_catalog_step(screened, plan, stored)
    summarize_step(screened, version, stored, inserted)
