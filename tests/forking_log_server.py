"""A stand-in for gunicorn under serving/log_writer.py: a parent and a forked child that log at once.

    python tests/forking_log_server.py LINES

Each process configures the model server's JSON logging from the environment (as gunicorn's
master and `serving.wsgi.create_app` in the worker do), logs LINES numbered lines and one error;
the parent also prints a plain-text line, waits for the child and exits with status 3
(tests/unit/model_server/test_log_writer.py).
"""

from __future__ import annotations

import logging
import os
import sys

from greenr.json_logging import configure_json_logging
from serving.config import log_settings


def log_lines(role: str, lines: int) -> None:
    log_dir, max_bytes, backups = log_settings(os.environ)
    configure_json_logging("model-server", "INFO", log_dir, max_bytes, backups)
    logger = logging.getLogger(f"test.{role}")
    logger.info("GREENR_LOG_DIR in the server: %s", os.environ.get("GREENR_LOG_DIR"))
    for index in range(lines):
        logger.info("%s line %d %s", role, index, "x" * 60)
    logger.error("%s: one error", role)


def main(lines: int) -> None:
    child = os.fork()
    if child == 0:
        log_lines("worker", lines)
        os._exit(0)
    log_lines("master", lines)
    print("a plain print from a library", flush=True)
    os.waitpid(child, 0)
    sys.exit(3)


if __name__ == "__main__":
    main(int(sys.argv[1]))
