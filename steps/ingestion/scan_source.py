"""Step: list the candidate files of the source folder."""

from pathlib import Path

from zenml import step

from greenr.dataset.rules import ImageRules
from greenr.ingestion.scan import ScanResult, scan_source


@step
def scan_source_step(source: str) -> ScanResult:
    """Scan `source/<class>/` folders; files outside known classes are rejected."""
    return scan_source(Path(source), ImageRules.from_suite().labels)
