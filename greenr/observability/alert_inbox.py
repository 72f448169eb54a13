"""The local stack's alert receiver: Alertmanager's webhooks land here, one JSON line per alert.

Alertmanager pages (`pager`) and files tickets (`tickets`) through webhooks
(monitoring/alertmanager/alertmanager.yml). On one machine nothing else listens on them, so
without this receiver a page is only a "connection refused" line in alertmanager.log.
scripts/monitoring.sh runs it on 127.0.0.1:GREENR_ALERT_INBOX_PORT (9095, the committed config's
port); `python -m greenr.observability alerts` shows what arrived. Where a real pager and ticket
system exist, GREENR_ALERT_PAGER_URL and GREENR_ALERT_TICKET_URL point the receivers at them.

    POST /pager, POST /tickets   Alertmanager's webhook payload (version 4): 200 once recorded
    GET /-/ready                 200 (scripts/monitoring.sh waits for it)
"""

from __future__ import annotations

import json
import logging
import os
import signal
import threading
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, Final

logger = logging.getLogger(__name__)

CHANNELS: Final = ("pager", "tickets")
# Alertmanager sends a whole alert group per notification; a few hundred alerts fit in 4 MB.
MAX_BODY_BYTES: Final = 4 * 1024 * 1024


class InboxError(ValueError):
    """A notification that is not Alertmanager's webhook payload; the message says what is wrong."""


@dataclass(frozen=True)
class ReceivedAlert:
    """One alert of one notification, as recorded."""

    received_at: str
    channel: str
    receiver: str
    status: str
    """Either "firing" or "resolved"."""
    alertname: str
    severity: str | None
    summary: str | None
    labels: dict[str, str]
    annotations: dict[str, str]
    starts_at: str | None
    ends_at: str | None


def _strings(value: Any, what: str) -> dict[str, str]:
    if not isinstance(value, Mapping):
        raise InboxError(f"{what} must be an object")
    return {str(key): str(item) for key, item in value.items()}


def parse_notification(body: bytes, channel: str, received_at: datetime) -> list[ReceivedAlert]:
    """The alerts of one webhook notification, in the order Alertmanager listed them.

    Raises:
        InboxError: the body is not JSON, has no `alerts` list, or an alert lacks its status or
            alertname label.
    """
    try:
        payload = json.loads(body)
    except (UnicodeDecodeError, json.JSONDecodeError) as error:
        raise InboxError(f"the body is not JSON ({error})") from None
    if not isinstance(payload, Mapping) or not isinstance(payload.get("alerts"), list):
        raise InboxError('expected Alertmanager\'s webhook payload: an object with an "alerts" list')
    received = received_at.astimezone(UTC).isoformat(timespec="seconds")
    alerts = []
    for index, alert in enumerate(payload["alerts"]):
        if not isinstance(alert, Mapping):
            raise InboxError(f"alert {index} must be an object")
        labels = _strings(alert.get("labels"), f"alert {index}'s labels")
        annotations = _strings(alert.get("annotations") or {}, f"alert {index}'s annotations")
        status = alert.get("status")
        if status not in ("firing", "resolved") or "alertname" not in labels:
            raise InboxError(f'alert {index} needs a status ("firing" or "resolved") and an alertname label')
        alerts.append(
            ReceivedAlert(
                received_at=received,
                channel=channel,
                receiver=str(payload.get("receiver", channel)),
                status=status,
                alertname=labels["alertname"],
                severity=labels.get("severity"),
                summary=annotations.get("summary"),
                labels=labels,
                annotations=annotations,
                starts_at=_optional_text(alert.get("startsAt")),
                ends_at=_optional_text(alert.get("endsAt")),
            )
        )
    return alerts


def _optional_text(value: Any) -> str | None:
    # Alertmanager writes endsAt "0001-01-01T00:00:00Z" for an alert that has not ended.
    if value is None or str(value).startswith("0001-"):
        return None
    return str(value)


class AlertInbox:
    """Appends received alerts to a JSON-lines file; safe across the server's request threads."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._lock = threading.Lock()

    def record(self, alerts: Sequence[ReceivedAlert]) -> None:
        lines = "".join(json.dumps(asdict(alert), sort_keys=True) + "\n" for alert in alerts).encode()
        with self._lock:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            with self.path.open("ab+") as file:
                # After a write cut short (a crash, a full disk), start a new line: the torn one
                # is then the only line lost.
                if file.seek(0, os.SEEK_END) > 0:
                    file.seek(-1, os.SEEK_END)
                    if file.read(1) != b"\n":
                        lines = b"\n" + lines
                file.write(lines)


def read_alerts(path: Path, last: int | None = None) -> list[ReceivedAlert]:
    """The recorded alerts, oldest first (the `last` most recent when given); none when no file.

    A line that cannot be read (a write cut short by a crash) is skipped, not fatal.
    """
    if not path.exists():
        return []
    alerts = []
    for line in path.read_text(encoding="utf-8").splitlines():
        try:
            alerts.append(ReceivedAlert(**json.loads(line)))
        except (json.JSONDecodeError, TypeError):
            logger.warning("skipping an unreadable line of %s", path)
    return alerts if last is None else alerts[-last:] if last > 0 else []


def format_alerts(alerts: Sequence[ReceivedAlert]) -> str:
    """One line per alert: when, channel, status, name, severity, summary."""
    rows = [
        (
            alert.received_at.replace("T", " ").removesuffix("+00:00"),
            alert.channel,
            alert.status.upper(),
            alert.alertname,
            alert.severity or "-",
            alert.summary or "",
        )
        for alert in alerts
    ]
    header = ("received (UTC)", "channel", "status", "alert", "severity", "summary")
    widths = [max(len(row[i]) for row in [header, *rows]) for i in range(5)]
    return "\n".join(
        "  ".join(cell.ljust(width) for cell, width in zip(row[:5], widths, strict=True)) + "  " + row[5]
        for row in [header, *rows]
    ).rstrip()


class _Handler(BaseHTTPRequestHandler):
    inbox: AlertInbox  # set on the subclass make_server builds

    def do_GET(self) -> None:
        if self.path.split("?", 1)[0] == "/-/ready":
            self._answer(200, "ready")
        else:
            self._answer(404, "not found: POST /pager or /tickets, GET /-/ready")

    def do_POST(self) -> None:
        channel = self.path.split("?", 1)[0].strip("/")
        if channel not in CHANNELS:
            self._answer(404, f"unknown channel {channel!r}: POST /pager or /tickets")
            return
        try:
            length = int(self.headers.get("Content-Length", ""))
        except ValueError:
            self._answer(411, "a Content-Length header is required")
            return
        if length < 0 or length > MAX_BODY_BYTES:
            self.close_connection = True  # the body is not read
            self._answer(413, f"the body is {length} bytes, at most {MAX_BODY_BYTES} are accepted")
            return
        try:
            alerts = parse_notification(self.rfile.read(length), channel, datetime.now(UTC))
        except InboxError as error:
            logger.warning("refused a notification on /%s: %s", channel, error)
            self._answer(400, str(error))
            return
        try:
            self.inbox.record(alerts)
        except OSError as error:
            # Alertmanager retries a failed delivery: nothing is lost while the disk is fixed.
            logger.error("could not record %d alert(s) in %s: %s", len(alerts), self.inbox.path, error)
            self._answer(500, "the alert could not be recorded; Alertmanager will retry")
            return
        for alert in alerts:
            logger.info(
                "%s %s %s (%s) %s",
                channel,
                alert.status,
                alert.alertname,
                alert.severity,
                alert.summary or "",
            )
        self._answer(200, "recorded")

    def _answer(self, status: int, text: str) -> None:
        body = (text + "\n").encode()
        self.send_response(status)
        self.send_header("Content-Type", "text/plain; charset=utf-8")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: Any) -> None:
        # Each recorded alert is logged once by do_POST; access lines would only repeat it.
        pass


def make_server(port: int, inbox: AlertInbox) -> ThreadingHTTPServer:
    """The receiver bound to 127.0.0.1:`port` (0: any free port), not yet serving."""
    handler = type("InboxHandler", (_Handler,), {"inbox": inbox})
    return ThreadingHTTPServer(("127.0.0.1", port), handler)


def serve(port: int, path: Path) -> None:
    """Receive alerts until SIGTERM or Ctrl-C."""
    server = make_server(port, AlertInbox(path))

    def stop(_signum: int, _frame: object) -> None:
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, stop)
    logger.info("alert inbox on http://127.0.0.1:%d, recording to %s", server.server_address[1], path)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()
