"""The runtime configs of Prometheus and Alertmanager, rendered from the committed ones.

`monitoring/prometheus/prometheus.yml` and `monitoring/alertmanager/alertmanager.yml` are the
configs of the local quickstart on the default ports, checked by promtool and amtool as they are.
`scripts/monitoring.sh` (and the alert integration test) run a copy where only what differs per
machine changes: scrape targets and intervals, rule file paths, the Alertmanager address, and the
receivers' webhook URLs. Routing, grouping, inhibition and the rules themselves stay the
committed ones.
"""

from __future__ import annotations

import copy
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from greenr.settings import REPO_ROOT, Settings

MONITORING_DIR = REPO_ROOT / "monitoring"
PROMETHEUS_CONFIG = MONITORING_DIR / "prometheus" / "prometheus.yml"
RULES_DIR = MONITORING_DIR / "prometheus" / "rules"
ALERTMANAGER_CONFIG = MONITORING_DIR / "alertmanager" / "alertmanager.yml"
GRAFANA_DIR = MONITORING_DIR / "grafana"

# Debian names first (prometheus-alertmanager, prometheus-pushgateway), then upstream's.
BINARIES: dict[str, tuple[str, ...]] = {
    "prometheus": ("prometheus",),
    "promtool": ("promtool",),
    "alertmanager": ("prometheus-alertmanager", "alertmanager"),
    "amtool": ("amtool",),
    "pushgateway": ("prometheus-pushgateway", "pushgateway"),
}
INSTALL_HINT = (
    "apt-get install -y --no-install-recommends prometheus prometheus-alertmanager prometheus-pushgateway"
)

JOB_OF_TARGET = {
    "api": "greenr-api",
    "model_server": "greenr-model-server",
    "pushgateway": "greenr-pushgateway",
}


class MonitoringSetupError(RuntimeError):
    """A monitoring binary or config is missing; the message says what to install or fix."""


def find_binary(tool: str) -> Path | None:
    """Where `tool` (a key of BINARIES) is installed, None when it is not."""
    for name in BINARIES[tool]:
        found = shutil.which(name)
        if found:
            return Path(found)
    return None


def require_binary(tool: str) -> Path:
    """Like find_binary, but a missing tool is an error that says how to install it."""
    found = find_binary(tool)
    if found is None:
        raise MonitoringSetupError(f"{' or '.join(BINARIES[tool])} is not installed: run {INSTALL_HINT}")
    return found


@dataclass(frozen=True)
class Targets:
    """host:port of everything Prometheus talks to."""

    api: str
    model_server: str
    pushgateway: str
    alertmanager: str

    @classmethod
    def from_settings(cls, settings: Settings) -> Targets:
        return cls(
            api=_host_port(settings.api),
            model_server=_host_port(settings.model_server),
            pushgateway=f"127.0.0.1:{settings.pushgateway_port}",
            alertmanager=f"127.0.0.1:{settings.alertmanager_port}",
        )


def _host_port(url: str) -> str:
    return url.split("://", 1)[-1].split("/", 1)[0]


def load_yaml(path: Path) -> dict[str, Any]:
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    if not isinstance(data, dict):
        raise MonitoringSetupError(f"{path} is not a YAML mapping")
    return data


def prometheus_config(
    base: dict[str, Any], targets: Targets, interval: str, rules_dir: Path
) -> dict[str, Any]:
    """The committed Prometheus config with these targets, this interval and absolute rule paths."""
    config = copy.deepcopy(base)
    config["global"]["scrape_interval"] = interval
    config["global"]["evaluation_interval"] = interval
    config["rule_files"] = [str(rules_dir / Path(name).name) for name in config["rule_files"]]
    config["alerting"]["alertmanagers"] = [{"static_configs": [{"targets": [targets.alertmanager]}]}]
    by_job = {job: getattr(targets, field) for field, job in JOB_OF_TARGET.items()}
    for scrape in config["scrape_configs"]:
        job = scrape["job_name"]
        if job not in by_job:
            raise MonitoringSetupError(f"{PROMETHEUS_CONFIG} has a job {job!r} this renderer does not know")
        scrape["static_configs"] = [{"targets": [by_job[job]]}]
    return config


def alertmanager_config(
    base: dict[str, Any], pager_url: str | None, ticket_url: str | None
) -> dict[str, Any]:
    """The committed Alertmanager config with the pager's and the ticket channel's webhook URLs."""
    config = copy.deepcopy(base)
    urls = {"pager": pager_url, "tickets": ticket_url}
    for receiver in config["receivers"]:
        url = urls.get(receiver["name"])
        if url:
            for webhook in receiver.get("webhook_configs", []):
                webhook["url"] = url
    return config


def render(settings: Settings, folder: Path) -> dict[str, str]:
    """Write prometheus.yml, alertmanager.yml and monitoring.env into `folder`; returns the env values.

    The receivers' webhooks are the configured ones, else the local alert inbox's
    (greenr/observability/alert_inbox.py), which scripts/monitoring.sh runs next to the servers.

    monitoring.env (KEY=VALUE lines) tells scripts/monitoring.sh the binaries, ports and paths,
    so that the script neither looks them up nor re-defaults a setting.
    """
    binaries = {tool: require_binary(tool) for tool in ("prometheus", "alertmanager", "pushgateway")}
    folder.mkdir(parents=True, exist_ok=True)
    targets = Targets.from_settings(settings)
    prometheus = prometheus_config(
        load_yaml(PROMETHEUS_CONFIG), targets, settings.monitoring_interval, RULES_DIR
    )
    alertmanager = alertmanager_config(
        load_yaml(ALERTMANAGER_CONFIG),
        settings.alert_webhook_url("pager"),
        settings.alert_webhook_url("tickets"),
    )
    (folder / "prometheus.yml").write_text(yaml.safe_dump(prometheus, sort_keys=False), encoding="utf-8")
    (folder / "alertmanager.yml").write_text(yaml.safe_dump(alertmanager, sort_keys=False), encoding="utf-8")
    values = {
        "PROMETHEUS_BIN": str(binaries["prometheus"]),
        "ALERTMANAGER_BIN": str(binaries["alertmanager"]),
        "PUSHGATEWAY_BIN": str(binaries["pushgateway"]),
        "PROMETHEUS_PORT": str(settings.prometheus_port),
        "ALERTMANAGER_PORT": str(settings.alertmanager_port),
        "PUSHGATEWAY_PORT": str(settings.pushgateway_port),
        "ALERT_INBOX_PORT": str(settings.alert_inbox_port),
        "PAGER_URL": settings.alert_webhook_url("pager"),
        "TICKET_URL": settings.alert_webhook_url("tickets"),
        "API_TARGET": targets.api,
        "MODEL_SERVER_TARGET": targets.model_server,
    }
    (folder / "monitoring.env").write_text(
        "".join(f"{key}={value}\n" for key, value in values.items()), encoding="utf-8"
    )
    return values
