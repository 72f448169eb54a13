"""A local HTTP server that serves photos and the ways a URL can go wrong (for URL-list tests).

/photos/<name>      a photo from `photos` (image/jpeg)
/missing            404
/slow               waits `slow_seconds` before answering
/html               200 with text/html
/huge               an image/jpeg body larger than any limit, sent without Content-Length
/loop               a redirect to itself, forever
/flaky              503 on the first request, the photo `flaky` after
/archive            `archive` bytes (application/gzip), for the reference dataset fetch
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from http_kit import serving


@dataclass
class Served:
    """What the server answers, and the paths it was asked for."""

    photos: dict[str, bytes] = field(default_factory=dict)
    archive: bytes = b""
    slow_seconds: float = 3.0
    huge_bytes: int = 30_000_000
    requests: list[str] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)


def _handler(served: Served) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, format: str, *args: object) -> None:
            pass

        def _send(self, status: int, content_type: str, body: bytes, length: bool = True) -> None:
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            if length:
                self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def do_GET(self) -> None:
            with served.lock:
                served.requests.append(self.path)
                asked = served.requests.count(self.path)
            path = self.path.split("?", 1)[0]
            if path.startswith("/photos/") and path.removeprefix("/photos/") in served.photos:
                self._send(200, "image/jpeg", served.photos[path.removeprefix("/photos/")])
            elif path == "/slow":
                time.sleep(served.slow_seconds)
                self._send(200, "image/jpeg", next(iter(served.photos.values())))
            elif path == "/html":
                self._send(200, "text/html; charset=utf-8", b"<html>not a photo</html>")
            elif path == "/huge":
                self.send_response(200)
                self.send_header("Content-Type", "image/jpeg")
                self.send_header("Connection", "close")
                self.end_headers()
                chunk = b"\xff" * 65536
                try:
                    for _ in range(served.huge_bytes // len(chunk)):
                        self.wfile.write(chunk)
                except (BrokenPipeError, ConnectionResetError):
                    pass  # the client aborted, as it should
            elif path == "/loop":
                self.send_response(302)
                self.send_header("Location", "/loop")
                self.send_header("Content-Length", "0")
                self.end_headers()
            elif path == "/flaky":
                if asked == 1:
                    self._send(503, "text/plain", b"try again")
                else:
                    self._send(200, "image/jpeg", served.photos["flaky"])
            elif path == "/archive":
                self._send(200, "application/gzip", served.archive)
            else:
                self._send(404, "text/plain", b"not found")

    return Handler


class _Server(ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request: object, client_address: object) -> None:
        pass  # a client that gave up (a timeout, an aborted oversized body) is what the tests cause


@contextmanager
def photo_server(served: Served) -> Iterator[str]:
    """Serve on 127.0.0.1 (a free port) while the block runs; yields the base URL."""
    with serving(_Server(("127.0.0.1", 0), _handler(served))) as url:
        yield url
