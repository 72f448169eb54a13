"""Fixtures and helpers of the web app's tests: a fake prediction API, a simulated user, Chromium.

Test modules import the fixtures they use (`from web_fixtures import fake_api_fixture`): a
`tests/ui/conftest.py` would clash with `tests/conftest.py` under `mypy .` (two top-level modules
named `conftest`), so this folder has none. Each fixture is registered under a short name
(`fake_api`, `user`, ...) that differs from its function's name, so that a test's argument does
not shadow the import.

- `fake_api`: `tests/ui/fake_api.py` served on 127.0.0.1 for the test (a real HTTP server).
- `user`: NiceGUI's simulated user (`nicegui.testing.user_simulation`) with "/" open, the app
  pointed at `fake_api`; `open_user(config)` does the same for any configuration (for example an
  API URL where nothing listens). As with NiceGUI's own `user` fixture, a test fails when the
  app logs an ERROR (a traceback in a callback).
- `chromium`: a selenium driver on Debian's `chromium` + `chromium-driver` with the flags from
  PLATFORM.md. It fails, never skips, when they are missing (`.ci/run` installs them).
- `web_app_env`: the environment for `scripts/web_app.sh` with its own GREENR_HOME and port.

NiceGUI's pytest plugins (`nicegui.testing.user_plugin`, `...screen_plugin`) are not used: they
can only be registered in the top-level conftest or pytest's options (for the whole suite), their
`user` fixture needs pytest-asyncio's auto mode and a `main_file` ini option, and the `screen`
fixture writes screenshots into the working directory. `user_simulation(root=...)` is the public
API the `user` fixture is built on; the browser test drives the app as deployed instead.
"""

from __future__ import annotations

import asyncio
import logging
import os
import shutil
import time
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from pathlib import Path

import pytest
import pytest_asyncio
from fake_api import FAKE_API_KEY, FAKE_MONITORING_KEY, FakeApiServer
from http_kit import free_port
from nicegui import Client
from nicegui.testing import User, user_simulation
from selenium import webdriver
from selenium.webdriver.chrome.service import Service

from ui.api_client import ApiTimeouts
from ui.app import create_root
from ui.config import WebAppConfig

CHROMIUM = "/usr/bin/chromium"
CHROMEDRIVER = "/usr/bin/chromedriver"
# PLATFORM.md: what headless Chromium needs on the project's machines (no sandbox, no GPU, no
# network of its own).
CHROMIUM_FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
)
# Short, so that "API too slow" tests take seconds, not a minute.
TEST_TIMEOUTS = ApiTimeouts(connect=2.0, read=2.0, predict=2.0)

# `async with open_user(config) as user:` (the `open_user` fixture).
OpenUser = Callable[[WebAppConfig], AbstractAsyncContextManager[User]]


def web_config(
    api_url: str,
    *,
    max_upload_bytes: int = 10_000_000,
    max_batch_files: int = 32,
    history_page_size: int = 20,
    api_key: str | None = FAKE_API_KEY,
    monitoring_api_key: str | None = FAKE_MONITORING_KEY,
) -> WebAppConfig:
    """The app's configuration for a test: the given API, key and limits, short timeouts."""
    return WebAppConfig(
        api_url=api_url,
        api_key=api_key,
        max_upload_bytes=max_upload_bytes,
        max_batch_files=max_batch_files,
        history_page_size=history_page_size,
        timeouts=TEST_TIMEOUTS,
        monitoring_api_key=monitoring_api_key,
    )


async def _let_the_page_send_its_updates(timeout: float = 2.0) -> None:
    # NiceGUI's outbox task waits with asyncio.wait_for, which on Python 3.11 drops a cancellation
    # that arrives together with its result (python/cpython#86296, fixed in 3.12). A test that ends
    # right after the page changed stops the simulation with updates still queued: the outbox
    # ignores NiceGUI's shutdown, which then logs "Could not cancel ... tasks" (an ERROR, so the
    # test fails at random). Waiting until nothing is queued takes a few milliseconds.
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and any(
        client.outbox.updates or client.outbox.messages for client in Client.instances.values()
    ):
        await asyncio.sleep(0.01)


@pytest.fixture(name="fake_api")
def fake_api_fixture() -> Iterator[FakeApiServer]:
    """A fresh fake prediction API on 127.0.0.1, stopped after the test."""
    with FakeApiServer() as server:
        yield server


@pytest.fixture(name="open_user")
def open_user_fixture(caplog: pytest.LogCaptureFixture) -> Iterator[OpenUser]:
    """`async with open_user(config) as user:` a simulated user on the app built from `config`."""

    @asynccontextmanager
    async def open_with(config: WebAppConfig) -> AsyncIterator[User]:
        async with user_simulation(root=create_root(config)) as user:
            yield user
            await _let_the_page_send_its_updates()

    yield open_with
    errors = [record for record in caplog.get_records("call") if record.levelno >= logging.ERROR]
    if errors:
        pytest.fail(f"the web app logged errors: {[record.getMessage() for record in errors]}", pytrace=False)


@pytest_asyncio.fixture(name="user")
async def user_fixture(fake_api: FakeApiServer, open_user: OpenUser) -> AsyncIterator[User]:
    """A simulated user on the app, which talks to `fake_api`, with "/" open."""
    async with open_user(web_config(fake_api.url)) as simulated:
        await simulated.open("/")
        yield simulated


@pytest.fixture(name="chromium", scope="session")
def chromium_fixture() -> Iterator[webdriver.Chrome]:
    """Headless Chromium driven by chromedriver (Debian packages), shared by the session."""
    missing = [path for path in (CHROMIUM, CHROMEDRIVER) if not shutil.which(path)]
    if missing:
        pytest.fail(
            f"browser tests need {' and '.join(missing)}: apt-get install chromium chromium-driver",
            pytrace=False,
        )
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in (*CHROMIUM_FLAGS, "--window-size=1280,1000"):
        options.add_argument(flag)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    # An explicit driver path: without it selenium-manager tries to download one (no internet).
    driver = webdriver.Chrome(service=Service(executable_path=CHROMEDRIVER), options=options)
    driver.set_page_load_timeout(30)
    yield driver
    driver.quit()


@pytest.fixture(name="web_app_env")
def web_app_env_fixture(tmp_path: Path) -> Callable[[str], dict[str, str]]:
    """`web_app_env(api_url)`: environment for `scripts/web_app.sh` with its own home and port."""

    def make(api_url: str) -> dict[str, str]:
        return {
            **os.environ,
            "GREENR_HOME": str(tmp_path / "greenr-home"),
            "GREENR_UI_HOST": "127.0.0.1",
            "GREENR_UI_PORT": str(free_port()),
            "GREENR_API_URL": api_url,
            "GREENR_UI_API_KEY": FAKE_API_KEY,
            "GREENR_UI_MONITORING_API_KEY": FAKE_MONITORING_KEY,
        }

    return make
