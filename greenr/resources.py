"""Building the shared resources of a run (catalog engine, object store) from settings."""

from __future__ import annotations

from sqlalchemy import Engine

from greenr.catalog.database import open_catalog
from greenr.settings import Settings
from greenr.storage.object_store import ObjectStore, open_object_store, s3_options


def catalog_engine(settings: Settings) -> Engine:
    """The catalog database, migrated to the latest schema."""
    return open_catalog(settings.catalog_url)


def object_store(settings: Settings) -> ObjectStore:
    """The object store at the settings' lake URI."""
    return open_object_store(settings.lake, s3_options(settings))
