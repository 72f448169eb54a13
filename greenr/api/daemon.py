"""Run the prediction API in the background on this machine (scripts/api_server.sh wraps this).

    python -m greenr.api.daemon start    start it (idempotent) and wait until GET /health answers
    python -m greenr.api.daemon stop     stop it (uvicorn finishes the requests in flight) and
                                         wait until every process it started is gone
    python -m greenr.api.daemon status   what runs, and its /health (exit 0 when it answers, 3 if not)

Address, timeouts and the rest come from greenr/settings.py (GREENR_API_HOST, GREENR_API_PORT,
GREENR_API_START_TIMEOUT, ...); state lives in $GREENR_HOME/api/ (greenr.supervision.daemon).
"""

from __future__ import annotations

import sys

from greenr.settings import Settings
from greenr.supervision.cli import run_command
from greenr.supervision.daemon import DaemonSpec, Status, local_address

# uvicorn finishes the requests in flight (up to 10 s), then runs the lifespan shutdown
# (connections closed).
GRACE_SECONDS = 30.0


def api_daemon(settings: Settings) -> DaemonSpec:
    """The API as a background server: `python -m greenr.api` under this Python."""
    address = local_address(settings.api_host, settings.api_port)
    return DaemonSpec(
        name="api-server",
        state_dir=settings.home / "api",
        command=(sys.executable, "-m", "greenr.api"),
        command_mark="-m greenr.api",
        probe_url=f"{address}/health",
        address=address,
        port_setting="GREENR_API_PORT",
        start_timeout_seconds=settings.api_start_timeout_seconds,
        grace_seconds=GRACE_SECONDS,
        # A configuration error is one line starting with "greenr-api: error".
        reason_pattern=r"^greenr-api: error",
    )


def describe(spec: DaemonSpec, found: Status) -> list[str]:
    return [
        f"{spec.name}: running (pid {found.pid}) at {found.address} (docs: {found.address}/docs)",
        found.body or "",
    ]


def main(argv: list[str] | None = None) -> int:
    return run_command(argv, "python -m greenr.api.daemon", __doc__ or "", api_daemon, describe)


if __name__ == "__main__":
    sys.exit(main())
