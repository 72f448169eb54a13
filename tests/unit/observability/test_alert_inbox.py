"""The local alert inbox: Alertmanager's webhook payload parsed, recorded and shown; bad input refused."""

from __future__ import annotations

import http.client
import json
import threading
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from greenr.observability.__main__ import main
from greenr.observability.alert_inbox import (
    MAX_BODY_BYTES,
    AlertInbox,
    InboxError,
    format_alerts,
    make_server,
    parse_notification,
    read_alerts,
)
from greenr.observability.monitoring_config import ALERTMANAGER_CONFIG, alertmanager_config, load_yaml
from greenr.settings import Settings

RECEIVED = datetime(2026, 12, 1, 8, 17, 5, 123456, tzinfo=UTC)


def alert(
    status: str = "firing", name: str = "GreenrModelServerDown", ends: str | None = None
) -> dict[str, Any]:
    return {
        "status": status,
        "labels": {"alertname": name, "severity": "critical", "component": "model-server"},
        "annotations": {
            "summary": "Model server 127.0.0.1:9000 is down",
            "runbook_url": "docs/runbooks.md#greenrmodelserverdown",
        },
        "startsAt": "2026-12-01T08:16:03.198Z",
        "endsAt": ends or "0001-01-01T00:00:00Z",
        "generatorURL": "http://127.0.0.1:9090/graph",
        "fingerprint": "8a1c",
    }


def payload(*alerts: dict[str, Any], receiver: str = "pager") -> bytes:
    """What Alertmanager 0.2x posts to a webhook (version 4)."""
    return json.dumps(
        {
            "version": "4",
            "groupKey": '{}/{severity="critical"}:{alertname="GreenrModelServerDown"}',
            "truncatedAlerts": 0,
            "status": alerts[0]["status"],
            "receiver": receiver,
            "groupLabels": {"alertname": alerts[0]["labels"]["alertname"]},
            "commonLabels": alerts[0]["labels"],
            "commonAnnotations": {},
            "externalURL": "http://127.0.0.1:9093",
            "alerts": list(alerts),
        }
    ).encode()


def test_a_notification_becomes_one_record_per_alert() -> None:
    resolved = alert("resolved", "GreenrApiDown", ends="2026-12-01T08:18:05.1Z")
    records = parse_notification(payload(alert(), resolved), "pager", RECEIVED)
    assert [(r.status, r.alertname, r.channel, r.receiver) for r in records] == [
        ("firing", "GreenrModelServerDown", "pager", "pager"),
        ("resolved", "GreenrApiDown", "pager", "pager"),
    ]
    first = records[0]
    assert first.received_at == "2026-12-01T08:17:05+00:00"
    assert first.severity == "critical"
    assert first.summary == "Model server 127.0.0.1:9000 is down"
    assert first.annotations["runbook_url"] == "docs/runbooks.md#greenrmodelserverdown"
    # Alertmanager's "not ended" date is no date at all.
    assert first.ends_at is None
    assert records[1].ends_at == "2026-12-01T08:18:05.1Z"


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (b"\xff\xfe not json", "not JSON"),
        (b"[1, 2]", '"alerts" list'),
        (b'{"alerts": {"a": 1}}', '"alerts" list'),
        (b'{"alerts": ["text"]}', "alert 0 must be an object"),
        (json.dumps({"alerts": [{"status": "firing", "labels": {}}]}).encode(), "alertname"),
        (json.dumps({"alerts": [{"status": "odd", "labels": {"alertname": "A"}}]}).encode(), "status"),
        (json.dumps({"alerts": [{"status": "firing", "labels": ["alertname"]}]}).encode(), "labels"),
    ],
)
def test_anything_but_alertmanagers_payload_is_refused_with_the_reason(body: bytes, message: str) -> None:
    with pytest.raises(InboxError, match=message):
        parse_notification(body, "pager", RECEIVED)


def test_recorded_alerts_read_back_and_a_torn_line_is_skipped(tmp_path: Path) -> None:
    path = tmp_path / "monitoring" / "alerts.jsonl"
    assert read_alerts(path) == []
    inbox = AlertInbox(path)
    inbox.record(parse_notification(payload(alert()), "pager", RECEIVED))
    with path.open("a") as file:
        file.write('{"received_at": "2026-12-01T08:1')  # a write cut short by a crash
    inbox.record(parse_notification(payload(alert("resolved")), "pager", RECEIVED))
    alerts = read_alerts(path)
    assert [a.status for a in alerts] == ["firing", "resolved"]
    assert [a.status for a in read_alerts(path, last=1)] == ["resolved"]


def test_the_table_has_a_line_per_alert_with_its_summary() -> None:
    records = parse_notification(payload(alert(), alert("resolved")), "pager", RECEIVED)
    lines = format_alerts(records).splitlines()
    assert lines[0].split() == ["received", "(UTC)", "channel", "status", "alert", "severity", "summary"]
    assert lines[1].split()[:6] == [
        "2026-12-01",
        "08:17:05",
        "pager",
        "FIRING",
        "GreenrModelServerDown",
        "critical",
    ]
    assert lines[2].split()[3] == "RESOLVED"
    assert lines[1].endswith("Model server 127.0.0.1:9000 is down")


@pytest.fixture
def inbox_server(tmp_path: Path) -> Iterator[tuple[int, Path]]:
    path = tmp_path / "alerts.jsonl"
    server = make_server(0, AlertInbox(path))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server.server_address[1], path
    finally:
        server.shutdown()
        server.server_close()


def request(
    port: int, method: str, path: str, body: bytes = b"", headers: dict[str, str] | None = None
) -> tuple[int, str]:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    try:
        connection.request(method, path, body=body, headers=headers or {})
        response = connection.getresponse()
        return response.status, response.read().decode()
    finally:
        connection.close()


def test_the_server_records_pages_and_tickets_and_answers_readiness(inbox_server: tuple[int, Path]) -> None:
    port, path = inbox_server
    assert request(port, "GET", "/-/ready") == (200, "ready\n")
    assert request(port, "POST", "/pager", payload(alert()))[0] == 200
    ticket = alert(name="GreenrDriftDetected") | {
        "labels": {"alertname": "GreenrDriftDetected", "severity": "warning"}
    }
    assert request(port, "POST", "/tickets", payload(ticket, receiver="tickets"))[0] == 200
    assert [(a.channel, a.alertname, a.severity) for a in read_alerts(path)] == [
        ("pager", "GreenrModelServerDown", "critical"),
        ("tickets", "GreenrDriftDetected", "warning"),
    ]


def test_the_server_refuses_bad_requests_and_records_nothing(inbox_server: tuple[int, Path]) -> None:
    port, path = inbox_server
    status, text = request(port, "POST", "/pages", payload(alert()))
    assert status == 404
    assert "/pager or /tickets" in text
    status, text = request(port, "POST", "/pager", b"not json")
    assert status == 400
    assert "not JSON" in text
    # A too large body is refused from its Content-Length, before it is read.
    status, text = request(port, "POST", "/pager", b"{}", {"Content-Length": str(MAX_BODY_BYTES + 1)})
    assert status == 413
    assert str(MAX_BODY_BYTES) in text
    assert request(port, "GET", "/alerts")[0] == 404
    assert read_alerts(path) == []
    # The server still works after all of that.
    assert request(port, "POST", "/pager", payload(alert()))[0] == 200
    assert len(read_alerts(path)) == 1


def test_an_alert_that_cannot_be_written_is_a_500_so_alertmanager_retries(tmp_path: Path) -> None:
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("a file where the inbox's folder should be")
    server = make_server(0, AlertInbox(blocker / "alerts.jsonl"))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        status, text = request(server.server_address[1], "POST", "/pager", payload(alert()))
    finally:
        server.shutdown()
        server.server_close()
    assert status == 500
    assert "retry" in text


def test_the_receivers_post_to_the_inbox_unless_webhooks_are_configured(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    base = load_yaml(ALERTMANAGER_CONFIG)
    monkeypatch.setenv("GREENR_ALERT_INBOX_PORT", "19095")
    settings = Settings()
    config = alertmanager_config(
        base, settings.alert_webhook_url("pager"), settings.alert_webhook_url("tickets")
    )
    urls = {r["name"]: r["webhook_configs"][0]["url"] for r in config["receivers"]}
    assert urls == {"pager": "http://127.0.0.1:19095/pager", "tickets": "http://127.0.0.1:19095/tickets"}
    monkeypatch.delenv("GREENR_ALERT_INBOX_PORT")
    monkeypatch.setenv("GREENR_ALERT_PAGER_URL", "https://pager.example.org/hook")
    configured = Settings()
    assert configured.alert_webhook_url("pager") == "https://pager.example.org/hook"
    assert configured.alert_webhook_url("tickets") == "http://127.0.0.1:9095/tickets"
    # The committed config (checked by amtool as it is) names the default inbox port.
    committed = {r["name"]: r["webhook_configs"][0]["url"] for r in base["receivers"]}
    assert committed == {"pager": "http://127.0.0.1:9095/pager", "tickets": "http://127.0.0.1:9095/tickets"}


def test_the_alerts_command_shows_the_inbox(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["alerts"]) == 0
    assert "no alert received yet" in capsys.readouterr().out
    settings = Settings()
    AlertInbox(settings.alert_inbox_file).record(
        parse_notification(payload(alert(), alert("resolved")), "pager", RECEIVED)
    )
    assert main(["alerts", "--last", "1"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert len(lines) == 2
    assert "RESOLVED" in lines[1]
