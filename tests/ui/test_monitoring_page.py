"""The Monitoring tab: charts of production activity, the latest drift report, the retrain decisions.

Driven by NiceGUI's simulated user against `fake_api.py`, whose /monitoring/... bodies are built
with the real API's models (greenr.monitoring.activity, greenr.monitoring.report); the last test
runs the app as deployed (`scripts/web_app.sh`) in a real headless Chromium.
"""

from __future__ import annotations

import subprocess
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from cli_runner import run_script
from fake_api import FAKE_API_KEY, FAKE_MONITORING_KEY, FakeApiServer
from monitoring_runs_kit import DRIFT_HTML, sample_report
from nicegui import ui
from nicegui.testing import User
from selenium import webdriver
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import WebDriverWait
from web_fixtures import (  # noqa: F401 (the *_fixture names are pytest fixtures, used by name)
    OpenUser,
    chromium_fixture,
    fake_api_fixture,
    open_user_fixture,
    user_fixture,
    web_app_env_fixture,
    web_config,
)

from greenr.monitoring.activity import Activity, ClassCount, ConfidenceBin, FeedbackPoint, MonitoringRunItem
from greenr.settings import REPO_ROOT
from ui.monitoring_panel import NO_KEY

WEB_APP_SCRIPT = REPO_ROOT / "scripts" / "web_app.sh"
RETRIES = 50
RUN_ID = "run-0042"
DAY = datetime(2026, 11, 28, tzinfo=UTC)


def summary(run_id: str | None = RUN_ID) -> dict[str, Any]:
    """Two days of predictions, feedback on the second, two monitoring runs (the newer retrains)."""
    per_class = [
        ClassCount(start=DAY, label="dandelion", count=30),
        ClassCount(start=DAY, label="grass", count=20),
        ClassCount(start=DAY + timedelta(days=1), label="dandelion", count=5),
        ClassCount(start=DAY + timedelta(days=1), label="grass", count=45),
    ]
    confidence = [
        ConfidenceBin(
            low=0.5 + i * 0.05, high=0.55 + i * 0.05, counts={"dandelion": i, "grass": 2 * i} if i else {}
        )
        for i in range(10)
    ]
    runs = [
        MonitoringRunItem(
            id=run_id or "run-0043",
            started_at=DAY + timedelta(days=1, hours=12),
            finished_at=DAY + timedelta(days=1, hours=12, minutes=1),
            since=DAY,
            until=DAY + timedelta(days=1, hours=12),
            predictions=100,
            windows=2,
            drifted=True,
            retrain=True,
            forced=False,
            reasons=["drift in 2 consecutive runs (policy: 2)", "cooldown over"],
            report_key=None if run_id is None else f"processed/monitoring/{run_id}/summary.json",
        ),
        MonitoringRunItem(
            id="run-0041",
            started_at=DAY,
            finished_at=DAY + timedelta(minutes=1),
            since=None,
            until=DAY,
            predictions=0,
            windows=0,
            drifted=False,
            retrain=False,
            forced=False,
            reasons=["12 new confirmed labels (policy: 50)"],
            report_key=None,
        ),
    ]
    return Activity(
        since=DAY - timedelta(days=5),
        until=DAY + timedelta(days=2),
        bucket="day",
        predictions=100,
        per_class=per_class,
        confidence=confidence,
        feedback=[FeedbackPoint(start=DAY + timedelta(days=1), labelled=10, correct=8, accuracy=0.8)],
        runs=runs,
        latest_report_run_id=run_id,
    ).model_dump(mode="json")


def with_monitoring_data(server: FakeApiServer) -> None:
    server.state.monitoring = summary()
    server.state.reports[RUN_ID] = sample_report(RUN_ID).model_dump(mode="json")
    server.state.report_html[RUN_ID] = DRIFT_HTML


def charts(user: User, marker: str) -> list[ui.echart]:
    found = [element for element in user.find(marker=marker).elements if isinstance(element, ui.echart)]
    return sorted(found, key=lambda chart: chart.id)


def series(chart: ui.echart) -> dict[str, list[Any]]:
    return {item["name"]: item["data"] for item in chart.options["series"]}


async def open_monitoring(user: User) -> None:
    user.find("Monitoring").click()
    await user.should_see(marker="monitoring-headline", retries=RETRIES)


# ---------------------------------------------------------------- the simulated user


@pytest.mark.asyncio
async def test_empty_state_says_what_to_run(user: User) -> None:
    await open_monitoring(user)
    await user.should_see(
        "No predictions in the last 7 days and no monitoring run yet: classify a few photos, "
        "then run `python run.py --pipeline monitoring`.",
        retries=RETRIES,
    )
    await user.should_see(marker="monitoring-empty")
    await user.should_see(marker="drift-empty")
    await user.should_not_see(marker="chart-predictions")
    await user.should_not_see(marker="chart-drift")


@pytest.mark.asyncio
async def test_charts_show_the_data_given(user: User, fake_api: FakeApiServer) -> None:
    with_monitoring_data(fake_api)
    await open_monitoring(user)
    await user.should_see(
        "100 predictions in the last 7 days; 10 feedback answers, 80.0 % right.", retries=RETRIES
    )

    (predictions,) = charts(user, "chart-predictions")
    # Every day of the period (UTC), empty days included.
    assert predictions.options["xAxis"]["data"] == [f"11-{day}" for day in range(23, 31)]
    assert series(predictions) == {
        "dandelion": [0, 0, 0, 0, 0, 30, 5, 0],
        "grass": [0, 0, 0, 0, 0, 20, 45, 0],
    }
    (confidence,) = charts(user, "chart-confidence")
    assert confidence.options["xAxis"]["data"][0] == "0.50–0.55"
    assert series(confidence)["grass"] == [2 * i for i in range(10)]
    (feedback,) = charts(user, "chart-feedback")
    assert series(feedback) == {"accuracy": [None] * 6 + [0.8, None]}

    await user.should_see(marker="drift-headline", retries=RETRIES)
    await user.should_see("1 of 2 windows drifted (bonferroni, α = 0.05); run verdict: drift; 2 consecutive")
    drift = charts(user, "chart-drift")
    assert [chart.options["title"]["text"] for chart in drift] == ["brightness", "label", "embedding"]
    brightness = series(drift[0])
    # Window 1's brightness drifted: its adjusted p-value (0.003) is under the threshold (0.05),
    # so its bar (-log10 p) stands above the threshold's line, in red.
    assert [point["value"] for point in brightness["value"]] == [0.0, 2.523]
    assert [point["itemStyle"]["color"] for point in brightness["value"]] == ["#2e7d32", "#c62828"]
    assert brightness["threshold"] == [1.301, 1.301]
    assert drift[0].options["yAxis"]["name"] == "-log10 p"
    rows = user.find(marker="drift-table").elements.pop()
    assert isinstance(rows, ui.table)
    assert rows.rows[0]["column"] == "brightness"
    assert rows.rows[0]["verdict"] == "drifted"
    assert len(rows.rows) == 6

    link = user.find(marker="drift-report-link").elements.pop()
    assert isinstance(link, ui.link)
    assert link.props["href"] == f"/monitoring/reports/{RUN_ID}/drift.html"

    runs = user.find(marker="runs-table").elements.pop()
    assert isinstance(runs, ui.table)
    assert [(row["id"], row["decision"]) for row in runs.rows] == [(RUN_ID, "retrain"), ("run-0041", "no")]
    assert runs.rows[0]["reasons"] == "drift in 2 consecutive runs (policy: 2); cooldown over"
    assert runs.rows[1]["reasons"] == "12 new confirmed labels (policy: 50)"
    # The page's calls carried the monitoring key (the fake refuses any other on /monitoring/...).
    assert fake_api.state.refused_calls == 0


@pytest.mark.asyncio
async def test_runs_without_a_report_say_what_to_run(user: User, fake_api: FakeApiServer) -> None:
    fake_api.state.monitoring = summary(run_id=None)
    await open_monitoring(user)
    await user.should_see("No drift report yet: after a few predictions, run", retries=RETRIES)
    await user.should_see(marker="chart-predictions")
    runs = user.find(marker="runs-table").elements.pop()
    assert isinstance(runs, ui.table)
    assert len(runs.rows) == 2


@pytest.mark.asyncio
async def test_a_report_the_api_cannot_give_is_said(user: User, fake_api: FakeApiServer) -> None:
    fake_api.state.monitoring = summary()  # names RUN_ID, whose report the fake does not have
    await open_monitoring(user)
    await user.should_see(
        f"The latest drift report cannot be shown: no monitoring run has the id '{RUN_ID}'", retries=RETRIES
    )
    await user.should_see(marker="chart-predictions")


@pytest.mark.asyncio
async def test_without_a_monitoring_key_the_page_tells_the_operator(
    open_user: OpenUser, fake_api: FakeApiServer
) -> None:
    async with open_user(web_config(fake_api.url, monitoring_api_key=None)) as user:
        await user.open("/")
        await open_monitoring(user)
        await user.should_see(NO_KEY, retries=RETRIES)
    assert fake_api.state.monitoring_calls == 0


@pytest.mark.asyncio
async def test_a_predict_key_is_refused_with_the_apis_words(
    open_user: OpenUser, fake_api: FakeApiServer
) -> None:
    async with open_user(web_config(fake_api.url, monitoring_api_key=FAKE_API_KEY)) as user:
        await user.open("/")
        await open_monitoring(user)
        await user.should_see("use a key with the monitor or admin role", retries=RETRIES)


@pytest.mark.asyncio
async def test_refresh_and_period(user: User, fake_api: FakeApiServer) -> None:
    await open_monitoring(user)
    await user.should_see(marker="monitoring-empty", retries=RETRIES)
    with_monitoring_data(fake_api)
    user.find(marker="monitoring-refresh").click()
    await user.should_see(marker="chart-predictions", retries=RETRIES)
    select = user.find(marker="monitoring-days").elements.pop()
    assert isinstance(select, ui.select)
    calls = fake_api.state.monitoring_calls
    select.set_value(30)
    await user.should_see("100 predictions in the last 30 days", retries=RETRIES)
    assert fake_api.state.monitoring_calls == calls + 1


# ---------------------------------------------------------------- a real browser


def web_app(command: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    done: subprocess.CompletedProcess[str] = run_script(WEB_APP_SCRIPT, command, env)
    return done


def wait_for_text(driver: webdriver.Chrome, text: str, timeout: float = 20) -> None:
    query = f'//*[not(self::script) and contains(normalize-space(text()), "{text}")]'
    WebDriverWait(driver, timeout).until(
        lambda d: any(e.is_displayed() for e in d.find_elements(By.XPATH, query))
    )


@pytest.mark.browser
@pytest.mark.slow
def test_monitoring_in_a_real_browser(
    fake_api: FakeApiServer,
    chromium: webdriver.Chrome,
    web_app_env: Callable[[str], dict[str, str]],
    tmp_path: Path,
) -> None:
    env = web_app_env(fake_api.url)
    started = web_app("start", env)
    assert started.returncode == 0, started.stderr
    base = f"http://127.0.0.1:{env['GREENR_UI_PORT']}"
    try:
        chromium.get(f"{base}/")
        wait_for_text(chromium, "API ready")
        chromium.find_element(By.XPATH, '//*[@role="tab" and contains(., "Monitoring")]').click()
        wait_for_text(chromium, "No predictions in the last 7 days and no monitoring run yet")
        wait_for_text(chromium, "python run.py --pipeline monitoring")
        assert chromium.find_elements(By.CSS_SELECTOR, ".nicegui-echart") == []

        with_monitoring_data(fake_api)
        chromium.find_element(By.XPATH, '//button[contains(., "Refresh")]').click()
        wait_for_text(chromium, "100 predictions in the last 7 days")
        wait_for_text(chromium, "1 of 2 windows drifted")
        WebDriverWait(chromium, 20).until(
            lambda d: len(d.find_elements(By.CSS_SELECTOR, ".nicegui-echart svg")) == 6
        )
        texts: list[str] = chromium.execute_script(
            "return [...document.querySelectorAll('.nicegui-echart')]"
            ".map((chart) => [...chart.querySelectorAll('svg text')].map((t) => t.textContent).join('|'));"
        )
        predictions, confidence, feedback, *drift = texts
        assert "Predictions per day (UTC)" in predictions
        assert "11-29" in predictions
        assert "dandelion" in predictions
        assert "grass" in predictions
        assert "0.50–0.55" in confidence
        assert "Feedback accuracy" in feedback
        assert len(drift) == 3
        for chart, column in zip(drift, ["brightness", "label", "embedding"], strict=True):
            assert column in chart.split("|"), chart
            assert "#1 v3" in chart.split("|"), chart  # the windows' axis
        # Something was drawn: 2 days x 2 classes of bars, and 2 windows per drift column.
        drawn: list[int] = chromium.execute_script(
            "return [...document.querySelectorAll('.nicegui-echart svg')].map((svg) => "
            "[...svg.querySelectorAll('path')].filter((p) => (p.getAttribute('d') || '').length > 0).length);"
        )
        assert all(count >= 2 for count in drawn), drawn
        wait_for_text(chromium, "cooldown over")

        link = chromium.find_element(By.XPATH, '//a[contains(., "Open the whylogs drift report")]')
        assert link.get_attribute("target") == "_blank"
        link.click()
        WebDriverWait(chromium, 10).until(lambda d: len(d.window_handles) == 2)
        main = chromium.current_window_handle
        chromium.switch_to.window(next(handle for handle in chromium.window_handles if handle != main))
        wait_for_text(chromium, "whylogs drift report")
        assert chromium.current_url == f"{base}/monitoring/reports/{RUN_ID}/drift.html"
        chromium.close()
        chromium.switch_to.window(main)

        relayed = httpx.get(f"{base}/monitoring/reports/{RUN_ID}/drift.html")
        assert relayed.content == DRIFT_HTML
        assert relayed.headers["content-security-policy"] == "sandbox allow-scripts"
        missing = httpx.get(f"{base}/monitoring/reports/run-404/drift.html")
        assert missing.status_code == 404
        assert "wrote no HTML drift report" in missing.text

        for name, scroll in (("monitoring.png", 0), ("monitoring-drift.png", 700)):
            chromium.execute_script(f"window.scrollTo(0, {scroll})")
            chromium.save_screenshot(str(tmp_path / name))
            print(f"screenshot: {tmp_path / name}")
        console: list[dict[str, str]] = chromium.get_log("browser")  # type: ignore[no-untyped-call]
        severe = [entry for entry in console if entry.get("level") == "SEVERE"]
        assert not severe, severe
        assert fake_api.state.refused_calls == 0
        assert FAKE_MONITORING_KEY not in chromium.page_source
    finally:
        stopped = web_app("stop", env)
    assert stopped.returncode == 0, stopped.stderr
