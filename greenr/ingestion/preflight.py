"""Checks run before the ingestion pipeline starts, so a wrong setup fails fast and clearly."""

from __future__ import annotations

from pathlib import Path

from greenr.ingestion.scan import SourceError
from greenr.resources import catalog_engine, object_store
from greenr.settings import Settings


def check_ingestion_inputs(settings: Settings, source: Path) -> None:
    """The source folder exists, the catalog answers (and is migrated), the object store answers."""
    if not source.is_dir():
        raise SourceError(
            f"source folder {source} does not exist or is not a folder: "
            "pass --source DIR or set GREENR_SOURCE_DIR"
        )
    catalog_engine(settings).dispose()
    object_store(settings).check_reachable()
