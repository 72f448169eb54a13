"""Readiness probes for local servers: an HTTP answer, an S3 bucket that exists."""

from __future__ import annotations

import os
import time
import urllib.error
import urllib.request
from collections.abc import Callable

from greenr.local_services.s3_identities import S3Keys


class NotReady(RuntimeError):
    """The server did not become usable in time (or its process died)."""


def http_status(url: str, timeout: float) -> int | None:
    """The HTTP status `url` answers with, or None when nothing answers."""
    try:
        with urllib.request.urlopen(url, timeout=timeout) as response:
            return int(response.status)
    except urllib.error.HTTPError as error:
        return int(error.code)  # an error status is still an answer
    except OSError:
        return None


def process_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # exists, owned by someone else
    return True


def wait_until(
    ready: Callable[[], bool],
    *,
    what: str,
    timeout: float,
    pid: int | None = None,
    interval: float = 0.3,
    clock: Callable[[], float] = time.monotonic,
    sleep: Callable[[float], None] = time.sleep,
) -> None:
    """Poll `ready` until true; NotReady after `timeout` seconds or as soon as process `pid` is gone."""
    deadline = clock() + timeout
    while not ready():
        if pid is not None and not process_alive(pid):
            raise NotReady(f"{what}: its process (pid {pid}) exited")
        if clock() > deadline:
            raise NotReady(f"{what}: not ready after {timeout:g} s")
        sleep(interval)


def ensure_bucket(
    endpoint: str, bucket: str, keys: S3Keys, *, timeout: float, pid: int | None = None
) -> bool:
    """Wait for the S3 endpoint to answer, then create `bucket` unless it exists; True if created."""
    # Imported here: only this probe needs boto3, and `python -m greenr.local_services http-ok`
    # runs on every status check.
    import boto3
    from botocore.config import Config
    from botocore.exceptions import BotoCoreError, ClientError

    def answers() -> bool:
        return http_status(endpoint, 2.0) is not None

    wait_until(answers, what=f"S3 at {endpoint}", timeout=timeout, pid=pid)
    s3 = boto3.client(
        "s3",
        endpoint_url=endpoint,
        aws_access_key_id=keys.access_key,
        aws_secret_access_key=keys.secret_key,
        region_name="us-east-1",
        config=Config(
            s3={"addressing_style": "path"}, retries={"max_attempts": 1}, connect_timeout=2, read_timeout=10
        ),
    )
    created = False
    last_error: Exception | None = None

    def bucket_ready() -> bool:
        # The S3 gateway answers HTTP before its filer is up: retry until the bucket call works.
        nonlocal created, last_error
        try:
            s3.head_bucket(Bucket=bucket)
            return True
        except ClientError as error:
            last_error = error
            if str(error.response.get("Error", {}).get("Code")) not in ("404", "NoSuchBucket", "NotFound"):
                return False
        except BotoCoreError as error:
            last_error = error
            return False
        try:
            s3.create_bucket(Bucket=bucket)
        except (ClientError, BotoCoreError) as error:
            last_error = error
            return False
        created = True
        return True

    try:
        wait_until(bucket_ready, what=f"bucket {bucket}", timeout=timeout, pid=pid, interval=0.5)
    except NotReady as error:
        raise NotReady(f"{error} (last error: {last_error})") from error
    return created
