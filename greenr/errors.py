"""The errors a user can meet, whose messages already say what to do (no traceback needed)."""

from __future__ import annotations

from greenr.catalog.database import CatalogUnavailable
from greenr.ingestion.scan import SourceError
from greenr.monitoring.retraining import RetrainingRefused
from greenr.monitoring.run_options import MonitoringOptionError
from greenr.registry.model_registry import RegistryError
from greenr.storage.object_store import StorageUnavailable
from greenr.validation.image_validation import ValidationFailed

USER_ERRORS: tuple[type[Exception], ...] = (
    CatalogUnavailable,
    MonitoringOptionError,
    RegistryError,
    RetrainingRefused,
    SourceError,
    StorageUnavailable,
    ValidationFailed,
)
