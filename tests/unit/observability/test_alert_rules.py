"""Prometheus rules and the Alertmanager config, checked by the real promtool and amtool.

`promtool test rules` runs monitoring/prometheus/tests/alerts_test.yml: every alert fires when
it should, stays quiet when it should not, and waits out its `for:`. The Python checks below
make sure that stays true as alerts are added: each has its labels, annotations, a runbook
section and both kinds of unit test.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
import yaml
from monitoring_tools import run_tool, tool

from greenr.observability.monitoring_config import (
    ALERTMANAGER_CONFIG,
    MONITORING_DIR,
    PROMETHEUS_CONFIG,
    RULES_DIR,
    Targets,
    alertmanager_config,
    load_yaml,
    prometheus_config,
    render,
)
from greenr.settings import REPO_ROOT, Settings

RULE_TESTS = sorted((MONITORING_DIR / "prometheus" / "tests").glob("*_test.yml"))
RUNBOOKS = REPO_ROOT / "docs" / "runbooks.md"
REQUIRED_ALERTS = {
    "GreenrApiDown",
    "GreenrModelServerDown",
    "GreenrApiHighErrorRatio",
    "GreenrApiHighLatency",
    "GreenrFallbackModelInUse",
    "GreenrDataDrift",
    "GreenrFeedbackErrorRateHigh",
    "GreenrTrainingOverdue",
    "GreenrMonitoringOverdue",
    "GreenrLowConfidenceShareHigh",
    "GreenrNeitherShareHigh",
}


def alert_rules() -> list[dict[str, Any]]:
    rules = load_yaml(RULES_DIR / "alerts.yml")
    return [rule for group in rules["groups"] for rule in group["rules"] if "alert" in rule]


def markdown_anchors(text: str) -> set[str]:
    """GitHub's anchors of the markdown headings: lower case, punctuation dropped, spaces to -."""
    anchors = set()
    for line in text.splitlines():
        if line.startswith("#"):
            title = line.lstrip("#").strip().lower()
            anchors.add(re.sub(r"[^a-z0-9 _-]", "", title).replace(" ", "-"))
    return anchors


def test_promtool_checks_the_rules() -> None:
    result = run_tool("promtool", "check", "rules", *sorted(RULES_DIR.glob("*.yml")))
    assert result.returncode == 0, result.stdout + result.stderr


def test_promtool_unit_tests_of_every_alert_pass() -> None:
    assert len(RULE_TESTS) == 2
    result = run_tool("promtool", "test", "rules", *RULE_TESTS)
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.count("SUCCESS") == len(RULE_TESTS)


def test_promtool_unit_tests_can_fail(tmp_path: Path) -> None:
    # The same tests against rules whose 5xx threshold was raised to 10 %: they must fail.
    rules = tmp_path / "rules"
    rules.mkdir()
    (rules / "recording.yml").write_text((RULES_DIR / "recording.yml").read_text())
    (rules / "alerts.yml").write_text(
        (RULES_DIR / "alerts.yml")
        .read_text()
        .replace("greenr:api_5xx_ratio:rate5m > 0.01", "greenr:api_5xx_ratio:rate5m > 0.1")
    )
    tests = tmp_path / "tests"
    tests.mkdir()
    copies = [tests / test.name for test in RULE_TESTS]
    for test, copy in zip(RULE_TESTS, copies, strict=True):
        copy.write_text(test.read_text())
    result = run_tool("promtool", "test", "rules", *copies)
    assert result.returncode != 0
    assert "GreenrApiHighErrorRatio" in result.stdout + result.stderr


def test_required_alerts_exist() -> None:
    assert {rule["alert"] for rule in alert_rules()} >= REQUIRED_ALERTS


@pytest.mark.parametrize("rule", alert_rules(), ids=lambda rule: rule["alert"])
def test_every_alert_is_labelled_annotated_and_has_a_runbook(rule: dict[str, Any]) -> None:
    assert rule["labels"]["severity"] in {"critical", "warning"}
    assert rule["labels"]["component"]
    annotations = rule["annotations"]
    assert annotations["summary"]
    assert annotations["description"]
    path, _, anchor = annotations["runbook_url"].partition("#")
    assert path == "docs/runbooks.md"
    assert anchor == rule["alert"].lower()
    assert anchor in markdown_anchors(RUNBOOKS.read_text()), (
        f"docs/runbooks.md has no section {rule['alert']}"
    )


@pytest.mark.parametrize("rule", alert_rules(), ids=lambda rule: rule["alert"])
def test_every_alert_has_unit_tests_that_fire_and_stay_quiet(rule: dict[str, Any]) -> None:
    cases = [
        case
        for path in RULE_TESTS
        for test in load_yaml(path)["tests"]
        for case in test.get("alert_rule_test", [])
        if case["alertname"] == rule["alert"]
    ]
    assert any(case.get("exp_alerts") for case in cases), f"no test where {rule['alert']} fires"
    assert any(not case.get("exp_alerts") for case in cases), f"no test where {rule['alert']} stays quiet"


def test_committed_and_rendered_prometheus_configs_are_valid(tmp_path: Path) -> None:
    result = run_tool("promtool", "check", "config", PROMETHEUS_CONFIG)
    assert result.returncode == 0, result.stdout + result.stderr
    targets = Targets(
        api="127.0.0.1:18000",
        model_server="127.0.0.1:19000",
        pushgateway="127.0.0.1:19091",
        alertmanager="127.0.0.1:19093",
    )
    rendered = prometheus_config(load_yaml(PROMETHEUS_CONFIG), targets, "1s", RULES_DIR)
    path = tmp_path / "prometheus.yml"
    path.write_text(yaml.safe_dump(rendered))
    result = run_tool("promtool", "check", "config", path)
    assert result.returncode == 0, result.stdout + result.stderr
    jobs = {
        scrape["job_name"]: scrape["static_configs"][0]["targets"] for scrape in rendered["scrape_configs"]
    }
    assert jobs == {
        "greenr-api": ["127.0.0.1:18000"],
        "greenr-model-server": ["127.0.0.1:19000"],
        "greenr-pushgateway": ["127.0.0.1:19091"],
    }
    # The pipelines' `pipeline` and `job` labels survive the scrape of the Pushgateway.
    assert next(s for s in rendered["scrape_configs"] if s["job_name"] == "greenr-pushgateway")[
        "honor_labels"
    ]


def test_amtool_accepts_the_committed_and_rendered_configs(tmp_path: Path) -> None:
    result = run_tool("amtool", "check-config", ALERTMANAGER_CONFIG)
    assert result.returncode == 0, result.stdout + result.stderr
    rendered = alertmanager_config(
        load_yaml(ALERTMANAGER_CONFIG), "http://127.0.0.1:1/page", "http://127.0.0.1:1/ticket"
    )
    path = tmp_path / "alertmanager.yml"
    path.write_text(yaml.safe_dump(rendered))
    result = run_tool("amtool", "check-config", path)
    assert result.returncode == 0, result.stdout + result.stderr
    urls = {r["name"]: r["webhook_configs"][0]["url"] for r in rendered["receivers"]}
    assert urls == {"pager": "http://127.0.0.1:1/page", "tickets": "http://127.0.0.1:1/ticket"}


@pytest.mark.parametrize(
    ("labels", "receiver"),
    [
        (["alertname=GreenrModelServerDown", "severity=critical", "component=model-server"], "pager"),
        (["alertname=GreenrApiHighLatency", "severity=warning", "component=api"], "tickets"),
        (["alertname=SomethingNew"], "tickets"),
    ],
)
def test_alertmanager_routes_critical_to_the_pager_and_warnings_to_tickets(
    labels: list[str], receiver: str
) -> None:
    result = run_tool("amtool", "config", "routes", "test", f"--config.file={ALERTMANAGER_CONFIG}", *labels)
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.strip() == receiver


def test_model_server_down_inhibits_latency_and_error_alerts() -> None:
    config = load_yaml(ALERTMANAGER_CONFIG)
    inhibited = [
        target
        for rule in config["inhibit_rules"]
        if rule["source_matchers"] == ['alertname="GreenrModelServerDown"']
        for target in rule["target_matchers"]
    ]
    assert inhibited, "no inhibit rule has GreenrModelServerDown as its source"
    pattern = re.compile(inhibited[0].split("=~", 1)[1].strip('"'))
    for alert in ("GreenrApiHighLatency", "GreenrModelServerHighLatency", "GreenrApiHighErrorRatio"):
        assert pattern.fullmatch(alert), alert
    assert not pattern.fullmatch("GreenrApiDown")


def test_unset_webhooks_keep_the_committed_receivers() -> None:
    base = load_yaml(ALERTMANAGER_CONFIG)
    assert alertmanager_config(base, None, None) == base


def test_render_writes_configs_and_the_env_the_script_reads(tmp_path: Path) -> None:
    for name in ("prometheus", "alertmanager", "pushgateway"):
        tool(name)
    settings = Settings(
        GREENR_API_PORT=18001, GREENR_MODEL_SERVER_PORT=19001, GREENR_PROMETHEUS_PORT=19590,
        GREENR_MONITORING_INTERVAL="2s", GREENR_ALERT_PAGER_URL="http://127.0.0.1:1/p",
    )  # fmt: skip
    values = render(settings, tmp_path)
    assert values["API_TARGET"] == "127.0.0.1:18001"
    assert values["MODEL_SERVER_TARGET"] == "127.0.0.1:19001"
    assert values["PROMETHEUS_PORT"] == "19590"
    env = dict(line.split("=", 1) for line in (tmp_path / "monitoring.env").read_text().splitlines())
    assert env == values
    prometheus = load_yaml(tmp_path / "prometheus.yml")
    assert prometheus["global"]["scrape_interval"] == "2s"
    assert all(Path(path).is_file() for path in prometheus["rule_files"])
    assert run_tool("promtool", "check", "config", tmp_path / "prometheus.yml").returncode == 0
    assert run_tool("amtool", "check-config", tmp_path / "alertmanager.yml").returncode == 0
