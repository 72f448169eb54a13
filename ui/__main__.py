"""Run the web app: `python -m ui` serves it on GREENR_UI_HOST:GREENR_UI_PORT (127.0.0.1:8080).

It talks to the prediction API at GREENR_API_URL (default http://127.0.0.1:$GREENR_API_PORT) and
starts even when the API is down: the page then says so and offers Retry.
`scripts/web_app.sh start|stop|status` runs it in the background.
"""

from __future__ import annotations

import sys

from greenr.settings import SettingsError, load_settings


def main() -> int:
    """Read the settings and serve the app until interrupted; 2 on a configuration error."""
    try:
        settings = load_settings()
    except SettingsError as error:
        print(f"web app: {error}", file=sys.stderr)
        return 2
    # Imported here so that a configuration error is reported without loading NiceGUI.
    from greenr.json_logging import configure_json_logging
    from ui.app import run
    from ui.config import WebAppConfig

    configure_json_logging("web-app", "INFO", settings.log_dir, settings.log_max_bytes, settings.log_backups)

    config = WebAppConfig.from_settings(settings)
    print(
        f"web app: serving on http://{settings.ui_host}:{settings.ui_port}, prediction API at {settings.api}",
        flush=True,
    )
    if config.api_key is None:
        print(
            f"web app: warning: no API key (GREENR_UI_API_KEY unset, {settings.ui_api_key_file} missing): "
            "the API will refuse its calls; run: python -m greenr.api.keys setup-local",
            file=sys.stderr,
            flush=True,
        )
    run(config, host=settings.ui_host, port=settings.ui_port)
    return 0


if __name__ == "__main__":
    sys.exit(main())
