"""What the web app needs to know, taken from the settings once at start.

The API key stays in this server process: the page's Python callbacks call the API, the browser
never sees the key (it is not in any page, URL or websocket message).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from pydantic import SecretStr

from greenr.settings import Settings
from ui.api_client import ApiTimeouts

LOG_SERVICE = "web-app"
"""The web app's `service` in its JSON log lines, and its log file's name (<GREENR_LOG_DIR>/web-app.log)."""


@dataclass(frozen=True)
class WebAppConfig:
    """The web app's configuration: where the API is and what the page accepts."""

    api_url: str
    # The web app's `predict` key; repr=False keeps it out of logs and tracebacks.
    api_key: str | None = field(repr=False)
    max_upload_bytes: int
    max_batch_files: int
    history_page_size: int = 20
    timeouts: ApiTimeouts = field(default_factory=ApiTimeouts)
    # The Monitoring page's `monitor` key (reads /monitoring/... only); None: the page says so.
    monitoring_api_key: str | None = field(default=None, repr=False)

    @classmethod
    def from_settings(cls, settings: Settings) -> WebAppConfig:
        """The configuration the settings describe."""
        return cls(
            api_url=settings.api,
            api_key=web_app_key(settings),
            max_upload_bytes=settings.max_upload_bytes,
            max_batch_files=settings.max_batch_files,
            monitoring_api_key=monitoring_key(settings),
        )


def web_app_key(settings: Settings) -> str | None:
    """GREENR_UI_API_KEY, else the key file the quickstart writes, else None (the API will say 401)."""
    return _key(settings.ui_api_key, settings.ui_api_key_file)


def monitoring_key(settings: Settings) -> str | None:
    """GREENR_UI_MONITORING_API_KEY, else the quickstart's web-app-monitoring.key, else None."""
    return _key(settings.ui_monitoring_api_key, settings.ui_monitoring_api_key_file)


def _key(value: SecretStr | None, key_file: Path) -> str | None:
    if value is not None:
        return value.get_secret_value()
    # Read here rather than through greenr.api.keys: the web app knows the API by HTTP only.
    try:
        return key_file.read_text(encoding="ascii").strip() or None
    except FileNotFoundError:
        return None
