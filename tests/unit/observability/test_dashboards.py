"""Grafana's provisioning and dashboards, checked offline (no Grafana server runs here).

Valid JSON with the fields Grafana needs, unique uids and panel ids, every panel's datasource
provisioned, every PromQL expression parsed by promtool, every recording rule a panel uses
defined. That every metric name is exported is checked against the live servers in
tests/integration/test_monitoring.py.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml
from monitoring_tools import run_tool
from promql_names import (
    dashboard_expressions,
    dashboards,
    metric_names,
    panels,
    recorded_names,
    rule_expressions,
)

from greenr.observability.monitoring_config import GRAFANA_DIR, load_yaml

PROVISIONING = GRAFANA_DIR / "provisioning"
EXPECTED = {"greenr-service", "greenr-model", "greenr-pipelines"}


def provisioned_datasource_uids() -> set[str]:
    uids = set()
    for path in sorted((PROVISIONING / "datasources").glob("*.yml")):
        uids |= {source["uid"] for source in load_yaml(path)["datasources"]}
    return uids


def test_provisioning_has_a_prometheus_datasource_with_a_fixed_uid_and_a_file_provider() -> None:
    (source,) = load_yaml(PROVISIONING / "datasources" / "prometheus.yml")["datasources"]
    assert source["type"] == "prometheus"
    assert source["uid"] == "greenr-prometheus"
    (provider,) = load_yaml(PROVISIONING / "dashboards" / "greenr.yml")["providers"]
    assert provider["type"] == "file"
    assert provider["options"]["path"]


def test_the_three_dashboards_exist_with_unique_uids() -> None:
    uids = [dashboard["uid"] for dashboard in dashboards().values()]
    assert len(uids) == len(set(uids))
    assert set(uids) == EXPECTED


@pytest.mark.parametrize("path", sorted(dashboards()), ids=lambda path: path.name)
def test_dashboard_structure(path: Path) -> None:
    dashboard = dashboards()[path]
    for key in ("uid", "title", "panels", "schemaVersion", "time"):
        assert key in dashboard, f"{path.name} has no {key}"
    ids = [panel["id"] for panel in panels(dashboard)]
    assert len(ids) == len(set(ids)), f"{path.name} repeats a panel id"
    uids = provisioned_datasource_uids()
    for panel in panels(dashboard):
        assert panel["title"]
        assert panel["description"], f"{path.name}: {panel['title']} has no description"
        assert {"x", "y", "w", "h"} <= set(panel["gridPos"])
        assert panel["targets"], f"{path.name}: {panel['title']} has no query"
        datasources: list[dict[str, Any]] = [
            panel["datasource"],
            *(t["datasource"] for t in panel["targets"]),
        ]
        for datasource in datasources:
            assert datasource["uid"] in uids, (
                f"{path.name}: {panel['title']} uses an unprovisioned datasource"
            )


def test_every_expression_parses_with_promtool(tmp_path: Path) -> None:
    # promtool parses every expression of a rule file: each panel query becomes a recording rule.
    expressions = [expr for _, expr in dashboard_expressions()]
    rules = [
        {"record": f"greenr_dashboard_check_{index}", "expr": expr} for index, expr in enumerate(expressions)
    ]
    path = tmp_path / "dashboard_queries.yml"
    path.write_text(yaml.safe_dump({"groups": [{"name": "dashboards", "rules": rules}]}))
    result = run_tool("promtool", "check", "rules", path)
    assert result.returncode == 0, result.stdout + result.stderr
    assert f"{len(rules)} rules found" in result.stdout


def test_promtool_refuses_a_broken_expression(tmp_path: Path) -> None:
    path = tmp_path / "broken.yml"
    path.write_text(
        yaml.safe_dump({"groups": [{"name": "x", "rules": [{"record": "x", "expr": "sum(rate(a[5m])"}]}]})
    )
    assert run_tool("promtool", "check", "rules", path).returncode != 0


def test_every_recording_rule_a_panel_or_rule_uses_is_defined() -> None:
    used = {
        name for _, expr in [*dashboard_expressions(), *rule_expressions()] for name in metric_names(expr)
    }
    undefined = sorted(name for name in used if ":" in name and name not in recorded_names())
    assert not undefined, undefined


def test_metric_names_are_read_from_promql() -> None:
    expr = 'sum by (le) (rate(a_bucket{route!~"/metrics|x"}[5m])) / on() group_left() b and time() - c > 0.1'
    assert metric_names(expr) == {"a_bucket", "b", "c"}
