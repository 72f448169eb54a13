"""The web app as deployed (`scripts/web_app.sh`) writes only JSON lines.

Its own lines, NiceGUI's and uvicorn's: `$GREENR_HOME/web/web.log` (its stdout and stderr) and,
with GREENR_LOG_DIR, `<dir>/web-app.log`. That the stdout/stderr file rotates at its bound is
tested with a real process in tests/unit/observability/test_json_logging.py.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import httpx
import pytest
from cli_runner import run_script
from fake_api import FakeApiServer
from web_fixtures import fake_api_fixture, web_app_env_fixture  # noqa: F401 (fixtures, used by name)

from greenr.settings import REPO_ROOT

pytestmark = pytest.mark.slow

WEB_APP_SCRIPT = REPO_ROOT / "scripts" / "web_app.sh"
REQUIRED_KEYS = {"time", "level", "service", "logger", "message", "request_id"}


def json_lines(path: Path) -> list[dict[str, object]]:
    """Every line of the file, parsed: fails on a plain-text line or a missing key."""
    entries = []
    for line in path.read_text().splitlines():
        entry = json.loads(line)
        assert set(entry) >= REQUIRED_KEYS, entry
        assert entry["service"] == "web-app", entry
        entries.append(entry)
    return entries


@pytest.mark.parametrize("log_folder", [True, False], ids=["GREENR_LOG_DIR", "no-log-dir"])
def test_every_line_the_web_app_writes_is_json(
    fake_api: FakeApiServer, web_app_env: Callable[[str], dict[str, str]], tmp_path: Path, log_folder: bool
) -> None:
    logs = tmp_path / "logs"
    env = web_app_env(fake_api.url)
    if log_folder:
        env["GREENR_LOG_DIR"] = str(logs)
    started = run_script(WEB_APP_SCRIPT, "start", env)
    assert started.returncode == 0, started.stdout + started.stderr
    try:
        for _ in range(3):
            page = httpx.get(f"http://127.0.0.1:{env['GREENR_UI_PORT']}/", timeout=10)
            assert page.status_code == 200
        status = run_script(WEB_APP_SCRIPT, "status", env)
        # The daemon reads the JSON line's message for its status line.
        assert f"prediction API at {fake_api.url}" in status.stdout, status.stdout + status.stderr
    finally:
        stopped = run_script(WEB_APP_SCRIPT, "stop", env)
    assert stopped.returncode == 0, stopped.stdout + stopped.stderr

    output = Path(env["GREENR_HOME"]) / "web"
    # Its stdout and stderr (web.log): every line without a log folder, errors only with one.
    files = [*sorted(logs.glob("web-app.log*")), *sorted(output.glob("web.log*"))]
    assert (logs / "web-app.log").is_file() == log_folder
    entries = [entry for path in files for entry in json_lines(path)]
    messages = [str(entry["message"]) for entry in entries]
    assert any(message.startswith("web app: serving on") for message in messages), messages
    assert not any("NiceGUI ready to go" in message for message in messages)
