"""Run the web app: `python -m ui` serves it on GREENR_UI_HOST:GREENR_UI_PORT (127.0.0.1:8080).

It talks to the prediction API at GREENR_API_URL (default http://127.0.0.1:$GREENR_API_PORT) and
starts even when the API is down: the page then says so and offers Retry.
`scripts/web_app.sh start|stop|status` runs it in the background.
"""

from __future__ import annotations

import logging
import sys

from greenr.json_logging import configure_json_logging
from greenr.settings import SettingsError, load_settings
from ui.config import LOG_SERVICE

logger = logging.getLogger("ui")


def main() -> int:
    """Read the settings and serve the app until interrupted; 2 on a configuration error."""
    try:
        settings = load_settings()
    except SettingsError as error:
        # A JSON line like every other (no log folder is known yet); the daemon shows its message.
        configure_json_logging(LOG_SERVICE)
        logger.error("web app: %s", error)
        return 2
    # Every line the app writes is JSON: ours, NiceGUI's and uvicorn's (ui.app.run passes
    # log_config=None so that uvicorn's records reach these handlers).
    configure_json_logging(
        LOG_SERVICE,
        "INFO",
        settings.log_dir,
        settings.log_max_bytes,
        settings.log_backups,
        settings.output_log,
    )
    # Imported here so that a configuration error is reported without loading NiceGUI.
    from ui.app import run
    from ui.config import WebAppConfig

    config = WebAppConfig.from_settings(settings)
    logger.info(
        "web app: serving on http://%s:%s, prediction API at %s",
        settings.ui_host,
        settings.ui_port,
        settings.api,
    )
    if config.api_key is None:
        logger.warning(
            "web app: warning: no API key (GREENR_UI_API_KEY unset, %s missing): "
            "the API will refuse its calls; run: python -m greenr.api.keys setup-local",
            settings.ui_api_key_file,
        )
    run(config, host=settings.ui_host, port=settings.ui_port)
    return 0


if __name__ == "__main__":
    sys.exit(main())
