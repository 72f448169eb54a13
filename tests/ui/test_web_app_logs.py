"""The web app as deployed (`scripts/web_app.sh`) writes only JSON lines, into bounded files.

Its own lines, NiceGUI's and uvicorn's: `$GREENR_HOME/web/web.log` (its stdout and stderr, which
it rotates itself) and, with GREENR_LOG_DIR, `<dir>/web-app.log`.
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


def test_every_line_the_web_app_writes_is_json_and_its_output_file_rotates(
    fake_api: FakeApiServer, web_app_env: Callable[[str], dict[str, str]], tmp_path: Path
) -> None:
    logs = tmp_path / "logs"
    # A bound so small that the start-up lines alone rotate the output file (one backup kept).
    env = {
        **web_app_env(fake_api.url),
        "GREENR_LOG_DIR": str(logs),
        "GREENR_LOG_MAX_BYTES": "300",
        "GREENR_LOG_BACKUPS": "1",
    }
    started = run_script(WEB_APP_SCRIPT, "start", env)
    assert started.returncode == 0, started.stdout + started.stderr
    try:
        for _ in range(3):
            page = httpx.get(f"http://127.0.0.1:{env['GREENR_UI_PORT']}/", timeout=10)
            assert page.status_code == 200
        assert (
            httpx.get(f"http://127.0.0.1:{env['GREENR_UI_PORT']}/no-such-page", timeout=10).status_code == 404
        )
        status = run_script(WEB_APP_SCRIPT, "status", env)
        # The daemon reads the JSON line's message for its status line.
        assert f"prediction API at {fake_api.url}" in status.stdout, status.stdout + status.stderr
    finally:
        stopped = run_script(WEB_APP_SCRIPT, "stop", env)
    assert stopped.returncode == 0, stopped.stdout + stopped.stderr

    web_log = Path(env["GREENR_HOME"]) / "web" / "web.log"
    outputs = sorted(web_log.parent.glob("web.log*"))
    assert [path.name for path in outputs] in (["web.log"], ["web.log", "web.log.1"])
    for path in outputs:
        json_lines(path)
    entries = [entry for path in sorted(logs.glob("web-app.log*")) for entry in json_lines(path)]
    messages = [str(entry["message"]) for entry in entries]
    assert any(message.startswith("web app: serving on") for message in messages), messages
    assert not any("NiceGUI ready to go" in message for message in messages)
