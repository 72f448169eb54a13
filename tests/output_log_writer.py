"""A process whose stdout and stderr are a log file, as greenr.supervision.daemon starts a server.

    python tests/output_log_writer.py OUTPUT_LOG LINES MAX_BYTES

Configures the JSON logging with that file as its output log, logs LINES lines, prints, warns,
writes to stderr, and dies of an uncaught exception: every one of them must end up a JSON line
in a bounded set of files (tests/unit/observability/test_json_logging.py).
"""

from __future__ import annotations

import logging
import sys
import warnings
from pathlib import Path

from greenr.json_logging import configure_json_logging


def main(output_log: Path, lines: int, max_bytes: int) -> None:
    configure_json_logging("api", "INFO", None, max_bytes, 2, output_log)
    logger = logging.getLogger("greenr.test.output")
    for index in range(lines):
        logger.info("line %d %s", index, "x" * 50)
    print("a plain print from a library")
    print("two lines\nin one print", file=sys.stderr)
    warnings.warn("a library's warning", UserWarning, stacklevel=1)
    raise RuntimeError("the server crashed")


if __name__ == "__main__":
    main(Path(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3]))
