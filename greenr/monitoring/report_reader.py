"""Reading a monitoring run's drift report (summary JSON and whylogs HTML) back from the object store.

The keys come from the catalog (`monitoring_runs.report_key`) and from the summary itself
(`html_key`), both written by the monitoring pipeline; this module only checks that what it
reads is what they promise. `StorageUnavailable` (the store is down) passes through.
"""

from __future__ import annotations

from pydantic import ValidationError

from greenr.monitoring.report import MONITORING_PREFIX, DriftReport
from greenr.storage.object_store import ObjectStore


class ReportMissing(LookupError):
    """No object at the report's key (deleted, or the run never wrote it)."""


class ReportInvalid(ValueError):
    """The object is not a drift report this version can read; the message says why, in one line."""


def read_report(store: ObjectStore, key: str) -> DriftReport:
    """The drift report stored at `key`."""
    data = _read(store, key)
    try:
        return DriftReport.model_validate_json(data)
    except ValidationError as error:
        first = error.errors()[0]
        where = ".".join(str(part) for part in first["loc"]) or "the document"
        problem = "not valid JSON" if first["type"] == "json_invalid" else f"{where}: {first['msg']}"
        raise ReportInvalid(f"{store.uri(key)} is not a drift report ({problem})") from None


def read_report_html(store: ObjectStore, key: str) -> bytes:
    """The whylogs HTML drift report stored at `key` (only under processed/monitoring/)."""
    if not key.startswith(f"{MONITORING_PREFIX}/") or ".." in key.split("/"):
        raise ReportInvalid(f"the report's HTML key {key!r} is not under {MONITORING_PREFIX}/")
    return _read(store, key)


def _read(store: ObjectStore, key: str) -> bytes:
    try:
        return store.get(key)
    except FileNotFoundError:
        raise ReportMissing(f"no object at {store.uri(key)}") from None
