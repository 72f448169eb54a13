"""Downloading photos from untrusted URLs: bounded in time, size, redirects and concurrency.

Every URL ends as bytes or as a one-line reason; nothing here raises for a bad URL, so one dead
link never stops a run. Retries (with exponential backoff) only for what can heal on its own:
timeouts, connection errors and 5xx answers; a 404 or a wrong content type is final.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import httpx

MAX_REDIRECTS = 3
# The connect and per-read timeouts; the whole download is also bounded by `total_seconds`.
CONNECT_SECONDS = 5.0


@dataclass(frozen=True)
class DownloadPolicy:
    """Limits of one download."""

    max_bytes: int
    total_seconds: float
    retries: int
    workers: int
    backoff_seconds: float = 0.5


@dataclass(frozen=True)
class Downloaded:
    """The body of a successful download."""

    url: str
    data: bytes
    content_type: str


@dataclass(frozen=True)
class DownloadFailed:
    """Why a URL gave no photo (`detail` is for people; `retryable` says if trying again could help)."""

    url: str
    detail: str
    retryable: bool = False


class _Refused(Exception):
    def __init__(self, detail: str, retryable: bool = False) -> None:
        super().__init__(detail)
        self.detail = detail
        self.retryable = retryable


def download_all(
    urls: Sequence[str], policy: DownloadPolicy, client: httpx.Client | None = None
) -> list[Downloaded | DownloadFailed]:
    """Download every URL with at most `policy.workers` at once; results in the order of `urls`."""
    own = client is None
    http = client or new_client(policy)
    try:
        with ThreadPoolExecutor(max_workers=policy.workers, thread_name_prefix="download") as pool:
            return list(pool.map(lambda url: download_one(http, url, policy), urls))
    finally:
        if own:
            http.close()


def new_client(policy: DownloadPolicy) -> httpx.Client:
    """An HTTP client with explicit timeouts and a redirect limit, sized for the worker pool."""
    read = min(policy.total_seconds, 10.0)
    return httpx.Client(
        timeout=httpx.Timeout(connect=CONNECT_SECONDS, read=read, write=read, pool=policy.total_seconds),
        follow_redirects=True,
        max_redirects=MAX_REDIRECTS,
        limits=httpx.Limits(max_connections=policy.workers),
        headers={"User-Agent": "greenr-ingestion", "Accept": "image/*"},
    )


def download_one(
    client: httpx.Client, url: str, policy: DownloadPolicy, sleep: Callable[[float], None] = time.sleep
) -> Downloaded | DownloadFailed:
    """One URL, retried with backoff while the failure is retryable."""
    failure = DownloadFailed(url, "not tried")
    for attempt in range(policy.retries + 1):
        if attempt:
            sleep(policy.backoff_seconds * 2 ** (attempt - 1))
        try:
            return _fetch(client, url, policy)
        except _Refused as refused:
            failure = DownloadFailed(url, refused.detail, refused.retryable)
        if not failure.retryable:
            break
    if failure.retryable and policy.retries:
        return DownloadFailed(url, f"{failure.detail} (after {policy.retries + 1} attempts)", True)
    return failure


def _fetch(client: httpx.Client, url: str, policy: DownloadPolicy) -> Downloaded:
    if httpx.URL(url).scheme not in ("http", "https"):
        raise _Refused(f"not an http(s) URL: {url!r}")
    deadline = time.monotonic() + policy.total_seconds
    try:
        with client.stream("GET", url) as response:
            if response.status_code >= 500:
                raise _Refused(f"HTTP {response.status_code} from the server", retryable=True)
            if response.status_code != 200:
                raise _Refused(f"HTTP {response.status_code} {response.reason_phrase}".rstrip())
            content_type = response.headers.get("content-type", "").split(";")[0].strip().lower()
            if not content_type.startswith("image/"):
                raise _Refused(f"content type {content_type or 'missing'!r} is not image/*")
            declared = response.headers.get("content-length")
            if declared is not None and declared.isdigit() and int(declared) > policy.max_bytes:
                raise _Refused(f"{declared} bytes (Content-Length) exceeds the limit of {policy.max_bytes}")
            chunks: list[bytes] = []
            size = 0
            for chunk in response.iter_bytes():
                size += len(chunk)
                if size > policy.max_bytes:
                    raise _Refused(f"body exceeds the limit of {policy.max_bytes} bytes: download aborted")
                if time.monotonic() > deadline:
                    raise _Refused(f"took longer than {policy.total_seconds:g} s: download aborted", True)
                chunks.append(chunk)
            return Downloaded(url=url, data=b"".join(chunks), content_type=content_type)
    except httpx.TooManyRedirects:
        raise _Refused(f"more than {MAX_REDIRECTS} redirects") from None
    except httpx.TimeoutException as error:
        raise _Refused(f"timed out ({type(error).__name__})", retryable=True) from None
    except httpx.TransportError as error:
        raise _Refused(f"connection failed ({type(error).__name__}: {error})", retryable=True) from None
    except httpx.InvalidURL as error:
        raise _Refused(f"invalid URL ({error})") from None
