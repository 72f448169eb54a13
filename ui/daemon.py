"""Run the web app in the background on this machine (scripts/web_app.sh wraps this).

    python -m ui.daemon start    start it (idempotent) and wait until its page answers
    python -m ui.daemon stop     stop it and wait until every process it started is gone
    python -m ui.daemon status   what runs (exit 0 when the page answers, 3 otherwise)

Address and timeouts come from greenr/settings.py (GREENR_UI_HOST, GREENR_UI_PORT,
GREENR_WEB_START_TIMEOUT, GREENR_API_URL, ...); state lives in $GREENR_HOME/web/.
"""

from __future__ import annotations

import sys

from greenr.settings import REPO_ROOT, Settings
from greenr.supervision.cli import run_command
from greenr.supervision.daemon import DaemonSpec, Status, first_log_line, local_address
from ui.config import LOG_SERVICE

# uvicorn closes open browser connections and exits within its 5 s graceful-shutdown bound.
GRACE_SECONDS = 20.0
SERVING_LINE = r"^web app: serving"


def web_daemon(settings: Settings) -> DaemonSpec:
    """The web app as a background server: `python -m ui` under this Python."""
    address = local_address(settings.ui_host, settings.ui_port)
    state = settings.home / "web"
    return DaemonSpec(
        name="web-app",
        state_dir=state,
        command=(sys.executable, "-m", "ui"),
        command_mark="-m ui",
        probe_url=f"{address}/",
        address=address,
        port_setting="GREENR_UI_PORT",
        start_timeout_seconds=settings.web_start_timeout_seconds,
        grace_seconds=GRACE_SECONDS,
        # A bad setting is one line starting with "web app: invalid".
        reason_pattern=r"^web app: invalid",
        # The repository is the working directory so that `-m ui` finds the package.
        file_stem="web",
        cwd=REPO_ROOT,
        environment={"NICEGUI_STORAGE_PATH": str(state / "storage")},
        # When a test starts the app, NiceGUI would see this, switch to its own test mode and
        # ignore GREENR_UI_PORT.
        unset=("PYTEST_CURRENT_TEST",),
        service_log=settings.log_dir / f"{LOG_SERVICE}.log" if settings.log_dir is not None else None,
    )


def describe(spec: DaemonSpec, found: Status) -> list[str]:
    serving = first_log_line(spec, SERVING_LINE)
    detail = f"; {serving.removeprefix('web app: ')}" if serving else ""
    return [f"{spec.name}: running (pid {found.pid}) at {found.address}{detail}"]


def main(argv: list[str] | None = None) -> int:
    return run_command(argv, "python -m ui.daemon", __doc__ or "", web_daemon, describe)


if __name__ == "__main__":
    sys.exit(main())
