"""What the web app needs to know, taken from the settings once at start."""

from __future__ import annotations

from dataclasses import dataclass, field

from greenr.settings import Settings
from ui.api_client import ApiTimeouts


@dataclass(frozen=True)
class WebAppConfig:
    """The web app's configuration: where the API is and what the page accepts."""

    api_url: str
    max_upload_bytes: int
    max_batch_files: int
    history_page_size: int = 20
    timeouts: ApiTimeouts = field(default_factory=ApiTimeouts)

    @classmethod
    def from_settings(cls, settings: Settings) -> WebAppConfig:
        """The configuration the settings describe."""
        return cls(
            api_url=settings.api,
            max_upload_bytes=settings.max_upload_bytes,
            max_batch_files=settings.max_batch_files,
        )
