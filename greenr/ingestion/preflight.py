"""Checks run before the ingestion pipeline starts, so a wrong setup fails fast and clearly."""

from __future__ import annotations

from pathlib import Path

from greenr.ingestion.scan import SourceError
from greenr.ingestion.sources import source_kind
from greenr.resources import catalog_engine, object_store
from greenr.settings import Settings
from greenr.storage.object_store import open_object_store, s3_options


def check_ingestion_inputs(settings: Settings, source: str) -> None:
    """The source exists, the catalog answers (and is migrated), the object store answers."""
    kind = source_kind(source)
    if kind == "s3":
        # The bucket answers; an empty prefix is reported by the scan with its own message.
        open_object_store(source, s3_options(settings)).check_reachable()
    elif kind == "urls" and not Path(source).is_file():
        raise SourceError(f"URL list {source} does not exist: pass --source FILE.csv with lines 'url,label'")
    elif kind == "folder" and not Path(source).is_dir():
        raise SourceError(
            f"source folder {source} does not exist or is not a folder: "
            "pass --source DIR (or s3://bucket/prefix/, or FILE.csv of 'url,label' lines) "
            "or set GREENR_SOURCE_DIR"
        )
    catalog_engine(settings).dispose()
    object_store(settings).check_reachable()
