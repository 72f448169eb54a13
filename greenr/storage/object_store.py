"""Content-addressed object storage on a local folder or S3 (SeaweedFS, MinIO, AWS).

Keys are relative ("raw/<sha256>.jpg"); the store maps them under its root URI. Writes are
whole-object: S3 PUTs are atomic, and local files are written to a temporary name and renamed,
so a crash never leaves half an object behind.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import fsspec

from greenr.settings import Settings

# The roadmap's bucket layout; the README explains what each prefix holds.
PREFIXES = (
    "raw",
    "processed",
    "train",
    "validation",
    "test",
    "models",
    "quarantine",
    "predictions",
    "feedback",
)


class StorageUnavailable(RuntimeError):
    """The object store cannot be reached or refused the request; the message says what to do."""


@dataclass(frozen=True)
class S3Options:
    """Connection options for an S3-compatible server."""

    endpoint_url: str | None
    access_key_id: str | None
    secret_access_key: str | None
    region: str
    timeout_seconds: float


class ObjectStore:
    """A root URI plus the fsspec filesystem that serves it."""

    def __init__(self, root: str, fs: fsspec.AbstractFileSystem) -> None:
        self.root = root.rstrip("/")
        self.fs = fs

    @property
    def is_local(self) -> bool:
        return "file" in _protocols(self.fs)

    def uri(self, key: str) -> str:
        """Full URI of a key (what a person or another tool can open)."""
        return f"{self.root}/{key}"

    def _path(self, key: str) -> str:
        return str(self.fs._strip_protocol(self.uri(key)))

    def check_reachable(self) -> None:
        """Fail fast, with advice, when the store cannot be listed or created."""
        if self.is_local:
            Path(self._path("")).mkdir(parents=True, exist_ok=True)
            return
        bucket = self._path("").split("/", 1)[0]
        try:
            # ls, not exists: s3fs's exists() answers False when the server is down.
            self.fs.ls(bucket, refresh=True)
        except FileNotFoundError:
            raise StorageUnavailable(
                f"bucket {bucket!r} does not exist at the S3 endpoint: create it or set GREENR_LAKE_URI"
            ) from None
        except Exception as error:
            raise StorageUnavailable(_advice(self.root, error)) from None

    def existing_keys(self, prefix: str) -> set[str]:
        """Keys present under a prefix (one listing, not one request per object)."""
        base = self._path(prefix).rstrip("/")
        try:
            found = self.fs.find(base, refresh=True) if not self.is_local else self.fs.find(base)
        except FileNotFoundError:
            return set()
        except Exception as error:
            raise StorageUnavailable(_advice(self.root, error)) from None
        root = self._path("").rstrip("/")
        return {str(path)[len(root) + 1 :] for path in found}

    def put_missing(
        self,
        objects: Mapping[str, Callable[[], bytes]],
        progress: Callable[[int, int], None] | None = None,
    ) -> int:
        """Write the objects whose keys are absent; bytes are produced lazily. Returns how many."""
        prefixes = {key.split("/", 1)[0] for key in objects}
        present: set[str] = set()
        for prefix in prefixes:
            present |= self.existing_keys(prefix)
        missing = sorted(key for key in objects if key not in present)
        for done, key in enumerate(missing, start=1):
            self.put(key, objects[key]())
            if progress is not None:
                progress(done, len(missing))
        return len(missing)

    def put(self, key: str, data: bytes) -> None:
        """Write one whole object."""
        path = self._path(key)
        try:
            if self.is_local:
                Path(path).parent.mkdir(parents=True, exist_ok=True)
                tmp = f"{path}.tmp-{uuid.uuid4().hex}"
                Path(tmp).write_bytes(data)
                os.replace(tmp, path)
            else:
                self.fs.pipe_file(path, data)
        except Exception as error:
            raise StorageUnavailable(_advice(self.root, error)) from None

    def delete(self, key: str) -> None:
        """Remove one object; one that is not there is not an error."""
        path = self._path(key)
        try:
            if self.is_local:
                Path(path).unlink(missing_ok=True)
            else:
                self.fs.rm_file(path)
        except FileNotFoundError:
            pass
        except Exception as error:
            raise StorageUnavailable(_advice(self.root, error)) from None

    def get(self, key: str) -> bytes:
        """Read one whole object."""
        try:
            return bytes(self.fs.cat_file(self._path(key)))
        except FileNotFoundError:
            raise
        except Exception as error:
            raise StorageUnavailable(_advice(self.root, error)) from None


def _protocols(fs: fsspec.AbstractFileSystem) -> tuple[str, ...]:
    protocol = fs.protocol
    return (protocol,) if isinstance(protocol, str) else tuple(protocol)


def _advice(root: str, error: Exception) -> str:
    return (
        f"object store {root} is unreachable or refused the request ({type(error).__name__}: {error}). "
        "Check that the S3 server runs (scripts/services.sh start) and that GREENR_LAKE_URI, "
        "AWS_ENDPOINT_URL_S3 and the AWS_* keys are right, then re-run: finished uploads are kept."
    )


def s3_options(settings: Settings) -> S3Options:
    """The S3 connection options carried by the settings."""
    secret = settings.aws_secret_access_key
    return S3Options(
        endpoint_url=settings.s3_endpoint_url,
        access_key_id=settings.aws_access_key_id,
        secret_access_key=secret.get_secret_value() if secret else None,
        region=settings.aws_region,
        timeout_seconds=settings.s3_timeout_seconds,
    )


def s3_filesystem(options: S3Options) -> fsspec.AbstractFileSystem:
    """An s3fs filesystem with short timeouts and few retries, so a down server fails fast."""
    config: dict[str, Any] = {
        "connect_timeout": options.timeout_seconds,
        "read_timeout": options.timeout_seconds * 4,
        "retries": {"max_attempts": 2, "mode": "standard"},
    }
    fs = fsspec.filesystem(
        "s3",
        key=options.access_key_id,
        secret=options.secret_access_key,
        endpoint_url=options.endpoint_url,
        client_kwargs={"region_name": options.region},
        config_kwargs=config,
        skip_instance_cache=True,
    )
    # s3fs retries some errors itself on top of botocore; one extra try is enough here.
    fs.retries = 2
    return fs


def open_object_store(root: str, options: S3Options) -> ObjectStore:
    """The store for a root URI: s3:// goes to S3, anything else is a local folder."""
    if root.startswith("s3://"):
        return ObjectStore(root, s3_filesystem(options))
    local_root = root.removeprefix("file://")
    return ObjectStore(str(Path(local_root).resolve()), fsspec.filesystem("file"))
