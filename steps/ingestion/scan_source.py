"""Step: list the candidate files of the source (a folder, an S3 prefix, a URL list or the feedback store)."""

from zenml import step

from greenr.dataset.rules import ImageRules
from greenr.ingestion.scan import ScanResult
from greenr.ingestion.sources import scan_any_source, source_kind
from greenr.monitoring.feedback_source import scan_feedback
from greenr.resources import catalog_engine, object_store
from greenr.settings import get_settings


@step
def scan_source_step(source: str) -> ScanResult:
    """Stage S3 objects, URL downloads or feedback photos, then scan `<class>/` folders."""
    rules = ImageRules.from_suite()
    settings = get_settings()
    if source_kind(source) == "feedback":
        store, engine = object_store(settings), catalog_engine(settings)
        return scan_feedback(store, engine, settings.staging_path, rules.labels)
    return scan_any_source(source, settings, rules.labels, rules.max_bytes)
