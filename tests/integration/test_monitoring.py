"""Monitoring against the real servers: Prometheus, Alertmanager and Pushgateway started by
scripts/monitoring.sh on free ports, scraping a real prediction API (scripts/api_server.sh) and a
real model server (the local deployer's service), alerts delivered to the local alert inbox that
scripts/monitoring.sh runs (greenr/observability/alert_inbox.py) and read back from its file.

- The live metrics of the API, the model server and the Pushgateway (after the pipelines' own
  push functions pushed a run and a drift result) cover every metric name the rules and the
  dashboards use.
- Stopping the model server fires GreenrModelServerDown, which reaches the inbox's pager channel with
  its labels within a bounded time, not before its `for:`; starting it again sends the resolve
  notification. The committed rules and routing, rewritten by tests/alert_timings.py with shorter
  waits: the scrape and evaluation interval is 1 s instead of 15 s, the alert's `for:` 10 s
  instead of 1 m, the pager route's group_wait and group_interval 1 s and 2 s instead of 10 s and
  1 m (promtool's unit tests check the real `for:`; waiting them out took two minutes).
"""

from __future__ import annotations

import os
import signal
import subprocess
import time
import urllib.parse
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml
from alert_timings import shorten_alert_waits, shorten_route_timers
from cli_runner import isolated_env, run_python, run_script
from http_kit import free_port
from model_server_kit import ModelServer, new_server, real_photos
from monitoring_tools import tool
from prometheus_client.parser import text_string_to_metric_families
from promql_names import names_used_by_dashboards, names_used_by_rules

from greenr.observability import pushed_metrics
from greenr.observability.alert_inbox import ReceivedAlert, read_alerts
from greenr.observability.monitoring_config import RULES_DIR, load_yaml
from greenr.observability.push import push_drift_result, push_pipeline_run
from greenr.settings import REPO_ROOT

pytest_plugins = ["model_server_fixtures"]
pytestmark = [pytest.mark.integration, pytest.mark.slow]

MONITORING_SCRIPT = REPO_ROOT / "scripts" / "monitoring.sh"
API_SCRIPT = REPO_ROOT / "scripts" / "api_server.sh"
INTERVAL = "1s"
# The alert the down test waits for and the route that pages it, with shorter waits (the copies
# Prometheus and Alertmanager run are rewritten from the committed files by alert_timings.py).
ALERT = "GreenrModelServerDown"
ALERT_FOR_SECONDS = 10
PAGER_TIMERS = {"group_wait": "1s", "group_interval": "2s"}
# The alert's `for:` + the pager route's group_wait + scrape and evaluation intervals +
# Prometheus' and Alertmanager's delivery: ~13 s expected; bounded at 60 s.
FIRING_BOUND_SECONDS = 60
# After the restart: the alert resolves at the next evaluation, the pager route sends the
# resolution at its next group_interval tick.
RESOLVED_BOUND_SECONDS = 60


@dataclass(frozen=True)
class Seen:
    """An alert the inbox recorded, and when this test first saw it in the inbox's file."""

    alert: ReceivedAlert
    seen: float


def wait_for_alert(inbox: Path, status: str, alertname: str, timeout: float) -> Seen | None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for alert in read_alerts(inbox):
            if alert.status == status and alert.alertname == alertname:
                return Seen(alert, time.monotonic())
        time.sleep(0.2)
    return None


@dataclass
class Stack:
    """The model server, the API and the monitoring servers, each on its own free port."""

    home: Path
    model_server: ModelServer
    artifact: Path
    api_port: int
    prometheus_port: int
    alertmanager_port: int
    pushgateway_port: int
    alert_inbox_port: int

    def env(self) -> dict[str, str]:
        return isolated_env(
            self.home,
            {
                "GREENR_API_PORT": str(self.api_port),
                "GREENR_MODEL_SERVER_PORT": str(self.model_server.port),
                "GREENR_PROMETHEUS_PORT": str(self.prometheus_port),
                "GREENR_ALERTMANAGER_PORT": str(self.alertmanager_port),
                "GREENR_PUSHGATEWAY_PORT": str(self.pushgateway_port),
                "GREENR_MONITORING_INTERVAL": INTERVAL,
                "GREENR_ALERT_INBOX_PORT": str(self.alert_inbox_port),
            },
        )

    def script(self, script: Path, command: str) -> subprocess.CompletedProcess[str]:
        return run_script(script, command, self.env())

    @property
    def inbox(self) -> Path:
        return self.home / "monitoring" / "alerts.jsonl"

    @property
    def api(self) -> str:
        return f"http://127.0.0.1:{self.api_port}"

    @property
    def pushgateway(self) -> str:
        return f"http://127.0.0.1:{self.pushgateway_port}"

    def query(self, promql: str) -> list[dict[str, Any]]:
        response = httpx.get(
            f"http://127.0.0.1:{self.prometheus_port}/api/v1/query", params={"query": promql}, timeout=10
        )
        response.raise_for_status()
        result: list[dict[str, Any]] = response.json()["data"]["result"]
        return result

    def wait_until(self, promql: str, timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        while not self.query(promql):
            assert time.monotonic() < deadline, f"Prometheus never saw {promql}"
            time.sleep(0.5)

    def alert_for_seconds(self, alert: str) -> float | None:
        """The `for:` of an alert as the running Prometheus has it."""
        response = httpx.get(
            f"http://127.0.0.1:{self.prometheus_port}/api/v1/rules", params={"type": "alert"}, timeout=10
        )
        response.raise_for_status()
        for group in response.json()["data"]["groups"]:
            for rule in group["rules"]:
                if rule["name"] == alert:
                    duration: float = rule["duration"]
                    return duration
        return None

    def pager_timers(self) -> dict[str, str]:
        """The PAGER_TIMERS keys of the pager route as the running Alertmanager has them."""
        response = httpx.get(f"http://127.0.0.1:{self.alertmanager_port}/api/v2/status", timeout=10)
        response.raise_for_status()
        config = yaml.safe_load(response.json()["config"]["original"])
        (route,) = [route for route in config["route"]["routes"] if route["receiver"] == "pager"]
        return {key: str(route[key]) for key in PAGER_TIMERS}

    def use_shorter_alert_waits(self, folder: Path) -> None:
        """Point the running Prometheus and Alertmanager at copies of their rendered configs with
        the shorter waits (SIGHUP reloads both), and wait until both run them."""
        state = self.home / "monitoring"
        rules = {
            path.name: path
            for path in shorten_alert_waits(RULES_DIR, {ALERT: f"{ALERT_FOR_SECONDS}s"}, folder)
        }
        prometheus = load_yaml(state / "prometheus.yml")
        prometheus["rule_files"] = [str(rules[Path(name).name]) for name in prometheus["rule_files"]]
        (state / "prometheus.yml").write_text(yaml.safe_dump(prometheus, sort_keys=False))
        alertmanager = shorten_route_timers(load_yaml(state / "alertmanager.yml"), "pager", PAGER_TIMERS)
        (state / "alertmanager.yml").write_text(yaml.safe_dump(alertmanager, sort_keys=False))
        for server in ("prometheus", "alertmanager"):
            os.kill(int((state / f"{server}.pid").read_text()), signal.SIGHUP)
        deadline = time.monotonic() + 30
        while self.alert_for_seconds(ALERT) != ALERT_FOR_SECONDS or self.pager_timers() != PAGER_TIMERS:
            assert time.monotonic() < deadline, "Prometheus or Alertmanager did not reload the shorter waits"
            time.sleep(0.2)


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory, serving_env: Path, artifact: Path) -> Iterator[Stack]:
    for name in ("prometheus", "alertmanager", "pushgateway"):
        tool(name)  # skip locally / fail in CI when a binary is missing
    root = tmp_path_factory.mktemp("monitoring")
    server = new_server(root / "model-server")
    server.start(str(artifact))
    running = Stack(
        home=root / "home",
        model_server=server,
        artifact=artifact,
        api_port=free_port(),
        prometheus_port=free_port(),
        alertmanager_port=free_port(),
        pushgateway_port=free_port(),
        alert_inbox_port=free_port(),
    )
    try:
        # Keys as the quickstart makes them (home/api-keys/): the traffic below uses the admin key.
        keys = run_python(["-m", "greenr.api.keys", "setup-local"], running.env())
        assert keys.returncode == 0, keys.stdout + keys.stderr
        for script in (API_SCRIPT, MONITORING_SCRIPT):
            result = running.script(script, "start")
            assert result.returncode == 0, result.stdout + result.stderr
        running.use_shorter_alert_waits(root / "rules")
        yield running
    finally:
        running.script(MONITORING_SCRIPT, "stop")
        running.script(API_SCRIPT, "stop")
        server.stop()


def metric_names(text: str) -> set[str]:
    """Every sample name of a Prometheus text exposition (`_bucket`, `_total`... included)."""
    return {sample.name for family in text_string_to_metric_families(text) for sample in family.samples}


def test_live_metrics_cover_every_name_the_rules_and_dashboards_use(stack: Stack) -> None:
    # Traffic that makes the labelled series exist: a prediction, a feedback on it.
    photo = real_photos(1)[0]
    admin_key = (stack.home / "api-keys" / "admin.key").read_text().strip()
    with httpx.Client(
        base_url=stack.api, timeout=30, headers={"Authorization": f"Bearer {admin_key}"}
    ) as client:
        answer = client.post("/predict", files=[("files", (photo.name, photo.read_bytes(), "image/jpeg"))])
        assert answer.status_code == 200, answer.text
        prediction = answer.json()["predictions"][0]
        feedback = client.post("/feedback", json={"prediction_id": prediction["id"], "label": "grass"})
        assert feedback.status_code == 201, feedback.text
        api_text = client.get("/metrics").text
    # The pipelines' own push functions, so the names come from the code that pushes them.
    assert push_pipeline_run(stack.pushgateway, "training", 12.5, True)
    assert push_pipeline_run(stack.pushgateway, "training", 3.0, False)
    assert push_drift_result(stack.pushgateway, {"brightness": 0.31}, {"brightness": 0.2}, True, 2)
    model_text = httpx.get(f"http://127.0.0.1:{stack.model_server.port}/metrics", timeout=10).text
    push_text = httpx.get(f"{stack.pushgateway}/metrics", timeout=10).text

    exported = metric_names(api_text) | metric_names(model_text) | metric_names(push_text)
    # Prometheus' own per-target series.
    exported |= {"up", "scrape_duration_seconds"}
    assert set(pushed_metrics.PIPELINE_RUN_METRICS + pushed_metrics.DRIFT_METRICS) <= exported
    for source, used in (("rules", names_used_by_rules()), ("dashboards", names_used_by_dashboards())):
        missing = sorted(name for name in used if ":" not in name and name not in exported)
        assert not missing, f"{source} use metrics nobody exports: {missing}"

    # The model server tells which model it serves, not a fallback, with its test accuracy.
    assert (
        'greenr_model_server_model_info{alias="champion",model_name="greenr-classifier",version="3"} 1.0'
        in model_text
    )
    assert "greenr_model_server_fallback 0.0" in model_text
    assert "greenr_model_server_model_test_accuracy 0.95" in model_text
    # The pushed metrics reach Prometheus with their pipeline label (honor_labels).
    stack.wait_until('greenr_pipeline_last_run_success{job="greenr-pipelines", pipeline="training"} == 0')
    stack.wait_until('greenr_drift_consecutive_runs{pipeline="monitoring"} == 2')


def test_model_server_down_pages_and_resolves(stack: Stack) -> None:
    stack.wait_until('up{job="greenr-model-server"} == 1')
    stack.wait_until('up{job="greenr-api"} == 1')

    stack.model_server.stop()
    stopped = time.monotonic()
    firing = wait_for_alert(stack.inbox, "firing", ALERT, FIRING_BOUND_SECONDS)
    assert firing is not None, f"no page within {FIRING_BOUND_SECONDS} s: {read_alerts(stack.inbox)}"
    delay = firing.seen - stopped
    print(f"\nmodel server stopped -> page received: {delay:.1f} s")
    assert firing.alert.channel == "pager"
    assert firing.alert.receiver == "pager"
    assert firing.alert.labels == {
        "alertname": "GreenrModelServerDown",
        "severity": "critical",
        "component": "model-server",
        "job": "greenr-model-server",
        "instance": f"127.0.0.1:{stack.model_server.port}",
        "project": "greenr",
    }
    assert firing.alert.annotations["runbook_url"] == "docs/runbooks.md#greenrmodelserverdown"
    # The alert's `for:` is respected: no page before it is over.
    assert delay >= ALERT_FOR_SECONDS

    stack.model_server.start(str(stack.artifact))
    restarted = time.monotonic()
    resolved = wait_for_alert(stack.inbox, "resolved", ALERT, RESOLVED_BOUND_SECONDS)
    assert resolved is not None, f"no resolve within {RESOLVED_BOUND_SECONDS} s: {read_alerts(stack.inbox)}"
    print(f"model server started -> resolve received: {resolved.seen - restarted:.1f} s")
    assert resolved.alert.channel == "pager"
    assert resolved.alert.ends_at is not None
    # What `bash scripts/monitoring.sh alerts` shows a person: the page and its resolution.
    shown = stack.script(MONITORING_SCRIPT, "alerts")
    assert shown.returncode == 0, shown.stderr
    assert any("FIRING" in line and ALERT in line for line in shown.stdout.splitlines())
    assert any("RESOLVED" in line and ALERT in line for line in shown.stdout.splitlines())
    # The only page was this one; tickets went only to what the pushes of the first test caused
    # (a drift streak of 2, a failed training run), never to the API or the model server.
    pages = {alert.alertname for alert in read_alerts(stack.inbox) if alert.channel == "pager"}
    assert pages == {"GreenrModelServerDown"}
    tickets = {alert.alertname for alert in read_alerts(stack.inbox) if alert.channel == "tickets"}
    assert tickets <= {"GreenrDataDrift", "GreenrPipelineFailed"}


def test_monitoring_script_status_and_urls(stack: Stack) -> None:
    status = stack.script(MONITORING_SCRIPT, "status")
    assert status.returncode == 0, status.stdout + status.stderr
    for port in (
        stack.prometheus_port,
        stack.alertmanager_port,
        stack.pushgateway_port,
        stack.alert_inbox_port,
    ):
        assert f"http://127.0.0.1:{port}" in status.stdout
    # Started twice: the second start says it runs and prints the URLs again.
    again = stack.script(MONITORING_SCRIPT, "start")
    assert again.returncode == 0, again.stdout + again.stderr
    assert "already running" in again.stdout
    query = urllib.parse.quote('up{job="greenr-pushgateway"}')
    assert (
        httpx.get(f"http://127.0.0.1:{stack.prometheus_port}/api/v1/query?query={query}").status_code == 200
    )
