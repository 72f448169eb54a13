"""Step: list the candidate files of the source (a folder, an S3 prefix or a URL list)."""

from zenml import step

from greenr.dataset.rules import ImageRules
from greenr.ingestion.scan import ScanResult
from greenr.ingestion.sources import scan_any_source
from greenr.settings import get_settings


@step
def scan_source_step(source: str) -> ScanResult:
    """Stage S3 objects or URL downloads, then scan `<class>/` folders; unknown classes are rejected."""
    rules = ImageRules.from_suite()
    return scan_any_source(source, get_settings(), rules.labels, rules.max_bytes)
