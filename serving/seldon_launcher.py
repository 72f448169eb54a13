"""The image's command: Seldon's launcher, with every line it and its processes write as JSON.

    python -m serving.seldon_launcher serving.seldon_entry.GreenrSeldonModel --service-type MODEL

(serving/Dockerfile's CMD; the arguments are `seldon-core-microservice`'s.) Seldon's launcher
(seldon_core.microservice.main, 1.18) starts with `logging.basicConfig` in plain text and runs
its REST and metrics servers as gunicorn applications with a fixed set of options and gunicorn's
plain-text logger: its first lines and gunicorn's were plain text, written before any project
code ran. Here the JSON root logger is configured first (basicConfig then changes nothing), and
Seldon's two gunicorn applications get `serving.gunicorn_logging.RootLogger`, so gunicorn's
records reach that root logger too; then the launcher's own main runs, unchanged. Its processes
(REST server, its worker, metrics server, gRPC server) are forked and inherit the handlers.
"""

from __future__ import annotations

from typing import Any

from serving.server_logging import configure_server_logging

GUNICORN_LOGGER = "serving.gunicorn_logging.RootLogger"


def main() -> None:
    """Configure JSON logging, then run `seldon-core-microservice` with this process's arguments."""
    configure_server_logging()
    # Imported only now: importing it imports gunicorn, whose pkg_resources import warns, and
    # that warning must already be a JSON line.
    from seldon_core import microservice

    microservice.UserModelApplication = _with_json_logger(microservice.UserModelApplication)
    microservice.StandaloneApplication = _with_json_logger(microservice.StandaloneApplication)
    microservice.main()


def _with_json_logger(application: type[Any]) -> type[Any]:
    """Seldon's gunicorn application class, with gunicorn's records sent to the root logger.

    The launcher builds its options in closures and passes no logger class; its application
    classes (seldon_core.gunicorn_utils) copy those options into gunicorn's config in
    `load_config`, the one place a setting can be added.
    """

    class JsonLoggingApplication(application):  # type: ignore[misc]  # seldon_core is untyped
        def load_config(self) -> None:
            super().load_config()
            self.cfg.set("logger_class", GUNICORN_LOGGER)

    JsonLoggingApplication.__name__ = application.__name__
    return JsonLoggingApplication


if __name__ == "__main__":
    main()
