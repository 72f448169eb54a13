"""Fetch the model artifact, keep a verified local copy, and fall back to it when the source fails.

An artifact is a folder (local path, file:// or s3://bucket/prefix) with two files:
`model.onnx` and `metadata.json` (format in serving/README.md), and, for models exported with the
embedding output, `embedding_reduction.json` (greenr.features.embedding_reduction: what the
embedding feature columns need; artifacts without it are served with those columns empty) and,
since issue 17, `open_set.json` (greenr.open_set: without it nothing is answered "neither"). The
cache folder holds

    artifacts/<sha256>/model.onnx, metadata.json[, embedding_reduction.json, open_set.json]
                                                     content-addressed copies, complete and verified
    last-good.json                                   which copy served last, and from which URI
    incoming/<random>/                               downloads in progress (never read)

A copy is moved under `artifacts/` only once its sha256 matches its metadata and the validator
(onnxruntime loads it with the right signature) accepted it, and `last-good.json` is replaced
atomically, so a crash or a concurrent worker never leaves a half-written copy that looks good.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import os
import re
import shutil
import time
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final, Protocol
from urllib.parse import unquote, urlparse

from greenr.features.embedding_reduction import REDUCTION_FILE
from greenr.open_set.scorer import OPEN_SET_FILE
from serving.config import S3Config

logger = logging.getLogger(__name__)

MODEL_FILE = "model.onnx"
METADATA_FILE = "metadata.json"
LAST_GOOD_FILE = "last-good.json"
# The JSON Schema of metadata.json, generated from greenr.contracts.ServingMetadata (a test keeps
# the two equal); the server's environment has no pydantic to use the model itself.
METADATA_SCHEMA = Path(__file__).resolve().parent / "metadata.schema.json"
_SHA256 = re.compile(r"^[0-9a-f]{64}$")
_CHUNK = 1 << 20


class ArtifactError(RuntimeError):
    """The artifact cannot be fetched, or it is incomplete, inconsistent or unloadable."""


def read_companion(directory: Path, name: str) -> bytes | None:
    """The bytes of a companion file next to model.onnx; None when the artifact was published
    without it (a version trained before that file existed).

    Raises:
        ArtifactError: the file is there but cannot be read.
    """
    path = directory / name
    try:
        return path.read_bytes()
    except FileNotFoundError:
        return None
    except OSError as error:
        raise ArtifactError(f"cannot read {path} ({error.strerror or error})") from None


class ModelUnavailableError(RuntimeError):
    """Neither MODEL_URI nor the local cache gives a usable model: the server cannot start."""


@dataclass(frozen=True)
class ArtifactMetadata:
    """The content of metadata.json: the fields of greenr.contracts.ServingMetadata."""

    model_name: str
    version: str
    alias: str
    labels: tuple[str, ...]
    input_size: int
    metrics: Mapping[str, float]
    dataset_version: str
    exported_at: str
    sha256: str


@dataclass(frozen=True)
class ResolvedArtifact:
    """A verified local copy of the artifact and where it came from."""

    directory: Path
    metadata: ArtifactMetadata
    model_uri: str
    """What MODEL_URI asked for."""
    source_uri: str
    """Where the served copy was fetched from (another URI when serving the fallback)."""
    fallback: bool
    fallback_reason: str | None

    @property
    def model_path(self) -> Path:
        return self.directory / MODEL_FILE

    @property
    def reduction_path(self) -> Path:
        """The embedding reduction published with the model (absent for older artifacts)."""
        return self.directory / REDUCTION_FILE


# Raises ArtifactError when the files at the path are not a usable model.
Validator = Callable[[Path, ArtifactMetadata], None]


def _metadata_validator() -> Any:
    """A JSON Schema validator of `METADATA_SCHEMA`, whose integers are JSON integers only.

    JSON Schema (draft 6 on) calls 224.0 an integer; `greenr.contracts.ServingMetadata`, which
    writes the file and whose schema this is, refuses it (pydantic's strict mode), so this does too.
    """
    # Imported here: only loading a model needs it (jsonschema comes with seldon-core).
    import jsonschema  # type: ignore[import-untyped]  # no stubs; seldon-core pins jsonschema 3

    base = jsonschema.Draft7Validator
    checker = base.TYPE_CHECKER.redefine(
        "integer", lambda _checker, value: isinstance(value, int) and not isinstance(value, bool)
    )
    validator_class = jsonschema.validators.extend(base, type_checker=checker)
    schema = json.loads(METADATA_SCHEMA.read_text(encoding="utf-8"))
    return validator_class(schema)


def parse_metadata(data: bytes) -> ArtifactMetadata:
    """Read metadata.json, validated against `metadata.schema.json` (generated from the contract,
    `greenr.contracts.ServingMetadata`), naming the first field that is missing or invalid.

    Raises:
        ArtifactError: not JSON, or not a document that the schema accepts.
    """
    try:
        raw: Any = json.loads(data)
    except (UnicodeDecodeError, json.JSONDecodeError) as error:
        raise ArtifactError(f"{METADATA_FILE} is not valid JSON ({error})") from None
    errors = sorted(_metadata_validator().iter_errors(raw), key=lambda error: list(error.absolute_path))
    if errors:
        where = "/".join(str(part) for part in errors[0].absolute_path)
        raise ArtifactError(f"{METADATA_FILE}: {repr(where) + ': ' if where else ''}{errors[0].message}")
    # Valid: the same conversions as the contract's validators (number version -> text, sha256
    # lower-case, metrics as floats).
    return ArtifactMetadata(
        model_name=raw["model_name"],
        version=str(raw["version"]),
        alias=raw["alias"],
        labels=tuple(raw["labels"]),
        input_size=raw["input_size"],
        metrics={name: float(value) for name, value in raw.get("metrics", {}).items()},
        dataset_version=raw["dataset_version"],
        exported_at=raw["exported_at"],
        sha256=raw["sha256"].lower(),
    )


def file_sha256(path: Path) -> str:
    """Hex SHA-256 of a file, read in chunks (the model is tens of MB)."""
    digest = hashlib.sha256()
    with path.open("rb") as stream:
        while chunk := stream.read(_CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


# ---------------------------------------------------------------- sources


class ArtifactSource(Protocol):
    """Where an artifact folder lives; every failure is raised as ArtifactError."""

    uri: str

    def read_bytes(self, name: str) -> bytes: ...

    def download(self, name: str, destination: Path) -> None: ...

    def download_optional(self, name: str, destination: Path) -> bool:
        """Download `name` if the artifact has it; False when it does not exist."""
        ...


class LocalSource:
    """A folder on this machine (plain path or file:// URI)."""

    def __init__(self, uri: str, root: Path) -> None:
        self.uri = uri
        self._root = root

    def read_bytes(self, name: str) -> bytes:
        try:
            return (self._root / name).read_bytes()
        except OSError as error:
            raise ArtifactError(f"cannot read {self._root / name} ({error.strerror or error})") from None

    def download(self, name: str, destination: Path) -> None:
        try:
            shutil.copyfile(self._root / name, destination)
        except OSError as error:
            raise ArtifactError(f"cannot copy {self._root / name} ({error.strerror or error})") from None

    def download_optional(self, name: str, destination: Path) -> bool:
        if not (self._root / name).exists():
            return False
        self.download(name, destination)
        return True


class S3Source:
    """An s3://bucket/prefix folder on AWS, MinIO or SeaweedFS."""

    def __init__(self, uri: str, bucket: str, prefix: str, client: Any) -> None:
        self.uri = uri
        self._bucket = bucket
        self._prefix = prefix.strip("/")
        self._client = client

    def _key(self, name: str) -> str:
        return f"{self._prefix}/{name}" if self._prefix else name

    def read_bytes(self, name: str) -> bytes:
        try:
            response = self._client.get_object(Bucket=self._bucket, Key=self._key(name))
            body: bytes = response["Body"].read()
            return body
        except Exception as error:
            raise ArtifactError(self._describe(name, error)) from None

    def download(self, name: str, destination: Path) -> None:
        try:
            self._client.download_file(self._bucket, self._key(name), str(destination))
        except Exception as error:
            raise ArtifactError(self._describe(name, error)) from None

    def download_optional(self, name: str, destination: Path) -> bool:
        try:
            self._client.head_object(Bucket=self._bucket, Key=self._key(name))
        except Exception as error:
            code = str(getattr(error, "response", {}).get("Error", {}).get("Code", ""))
            if code in {"404", "NoSuchKey", "NotFound"}:
                return False
            raise ArtifactError(self._describe(name, error)) from None
        self.download(name, destination)
        return True

    def _describe(self, name: str, error: Exception) -> str:
        # botocore's messages are precise (NoSuchKey, AccessDenied, could not connect to the
        # endpoint URL...); prefix them with the object so the log line stands on its own.
        return f"cannot fetch s3://{self._bucket}/{self._key(name)} ({type(error).__name__}: {error})"


def open_source(uri: str, s3: S3Config) -> ArtifactSource:
    """The source of a MODEL_URI: a local path, file:// or s3:// URI."""
    parsed = urlparse(uri)
    if parsed.scheme == "s3":
        if not parsed.netloc:
            raise ArtifactError(f"{uri!r} names no bucket: use s3://bucket/prefix")
        return S3Source(uri, parsed.netloc, parsed.path, _s3_client(s3))
    if parsed.scheme == "file":
        return LocalSource(uri, Path(unquote(parsed.path)))
    if parsed.scheme == "":
        return LocalSource(uri, Path(uri).expanduser())
    raise ArtifactError(f"unsupported MODEL_URI scheme {parsed.scheme!r}: use a local path, file:// or s3://")


def _s3_client(s3: S3Config) -> Any:
    # Imported here: boto3 takes ~0.3 s to import and local artifacts never need it.
    import boto3
    from botocore.config import Config

    return boto3.client(
        "s3",
        endpoint_url=s3.endpoint_url,
        region_name=s3.region,
        config=Config(
            # Path-style: MinIO and SeaweedFS serve buckets under the endpoint, not as subdomains.
            s3={"addressing_style": "path"},
            # One attempt and a short connect timeout: a down S3 server must send the server to
            # its cached copy in seconds, not after botocore's retries with backoff.
            retries={"max_attempts": 1, "mode": "standard"},
            connect_timeout=s3.timeout_seconds,
            read_timeout=max(s3.timeout_seconds, 30.0),
        ),
    )


# ---------------------------------------------------------------- cache


def resolve_artifact(model_uri: str, cache_dir: Path, validate: Validator, s3: S3Config) -> ResolvedArtifact:
    """Fetch MODEL_URI into the cache, or fall back to the last good cached copy.

    Raises:
        ModelUnavailableError: MODEL_URI failed and no usable cached copy exists; the message
            says both why the URI failed and why the cache could not help.
    """
    try:
        return _fetch_into_cache(open_source(model_uri, s3), cache_dir, validate)
    except ArtifactError as error:
        source_error = str(error)
    except OSError as error:
        # The cache itself (not the source) failed: full disk, read-only or foreign-owned folder.
        source_error = f"cannot store the artifact in the cache {cache_dir} ({error})"
    logger.warning("model artifact %s is not usable: %s", model_uri, source_error)
    try:
        cached = _load_last_good(cache_dir, validate)
    except (ArtifactError, OSError) as cache_error:
        raise ModelUnavailableError(
            f"cannot load the model from MODEL_URI={model_uri} ({source_error}) and there is no usable "
            f"cached copy in {cache_dir} to fall back to ({cache_error})"
        ) from None
    logger.warning(
        "serving the last good cached model instead: %s version %s (sha256 %s, fetched from %s)",
        cached.metadata.model_name,
        cached.metadata.version,
        cached.metadata.sha256[:12],
        cached.source_uri,
    )
    return ResolvedArtifact(
        directory=cached.directory,
        metadata=cached.metadata,
        model_uri=model_uri,
        source_uri=cached.source_uri,
        fallback=True,
        fallback_reason=source_error,
    )


def _fetch_into_cache(source: ArtifactSource, cache_dir: Path, validate: Validator) -> ResolvedArtifact:
    metadata_bytes = source.read_bytes(METADATA_FILE)
    metadata = parse_metadata(metadata_bytes)
    target = cache_dir / "artifacts" / metadata.sha256
    if _is_complete_copy(target, metadata):
        # Same model already cached: skip downloading it again, but take the fresh metadata
        # (the alias or the recorded metrics may have changed for the same weights).
        logger.info("model %s already cached at %s", metadata.sha256[:12], target)
        # Cached from before a companion was published next to it (or by an older release).
        _fetch_companions(source, target, missing_only=True)
        validate(target, metadata)
        _write_atomically(target / METADATA_FILE, metadata_bytes)
    else:
        _download_verified(source, metadata, metadata_bytes, target, validate)
    _write_last_good(cache_dir, metadata.sha256, source.uri)
    _prune(cache_dir, keep={metadata.sha256})
    return ResolvedArtifact(
        directory=target,
        metadata=metadata,
        model_uri=source.uri,
        source_uri=source.uri,
        fallback=False,
        fallback_reason=None,
    )


def _download_verified(
    source: ArtifactSource,
    metadata: ArtifactMetadata,
    metadata_bytes: bytes,
    target: Path,
    validate: Validator,
) -> None:
    staging = cache_dir_of(target) / "incoming" / uuid.uuid4().hex
    staging.mkdir(parents=True)
    try:
        (staging / METADATA_FILE).write_bytes(metadata_bytes)
        source.download(MODEL_FILE, staging / MODEL_FILE)
        actual = file_sha256(staging / MODEL_FILE)
        if actual != metadata.sha256:
            raise ArtifactError(
                f"{MODEL_FILE} has sha256 {actual}, {METADATA_FILE} says {metadata.sha256}: "
                "the artifact is corrupt or was only partly written"
            )
        _fetch_companions(source, staging)
        validate(staging, metadata)
        target.parent.mkdir(parents=True, exist_ok=True)
        if target.exists():
            if _is_complete_copy(target, metadata):
                # Another worker finished the same content while this one downloaded: its copy may
                # already be loading in that worker, so it stays (deleting it to move this one in
                # made a worker fail with "model.onnx ... File doesn't exist" at start).
                return
            # An incomplete copy left by a crash.
            shutil.rmtree(target, ignore_errors=True)
        try:
            os.replace(staging, target)
        except OSError:
            # Another worker moved the same content in first: keep theirs if it is complete.
            if not _is_complete_copy(target, metadata):
                raise
    finally:
        shutil.rmtree(staging, ignore_errors=True)


# The optional files published next to the model, and what serving lacks without each.
COMPANIONS: Final = (
    (REDUCTION_FILE, "the embedding feature columns stay empty"),
    (OPEN_SET_FILE, 'no photo is answered "neither"'),
)


def _fetch_companions(source: ArtifactSource, folder: Path, missing_only: bool = False) -> None:
    """Download the optional companion files into `folder` (each atomically); log the absent ones.

    `missing_only`: keep the ones a cached copy already has (the sha256 in metadata.json covers
    model.onnx only: a companion republished for the same weights reaches a server with an empty cache).
    """
    for name, without in COMPANIONS:
        if missing_only and (folder / name).is_file():
            continue
        incoming = folder / f".{name}.{uuid.uuid4().hex}"
        if source.download_optional(name, incoming):
            os.replace(incoming, folder / name)
        else:
            logger.info("%s has no %s: %s", source.uri, name, without)


def cache_dir_of(artifact_dir: Path) -> Path:
    """The cache root of `<cache>/artifacts/<sha256>`."""
    return artifact_dir.parent.parent


def _is_complete_copy(directory: Path, metadata: ArtifactMetadata) -> bool:
    model = directory / MODEL_FILE
    if not (model.is_file() and (directory / METADATA_FILE).is_file()):
        return False
    return file_sha256(model) == metadata.sha256


def _read_verified_copy(directory: Path, validate: Validator) -> ArtifactMetadata:
    try:
        metadata = parse_metadata((directory / METADATA_FILE).read_bytes())
    except OSError as error:
        raise ArtifactError(f"cannot read {directory / METADATA_FILE} ({error.strerror or error})") from None
    if not _is_complete_copy(directory, metadata):
        raise ArtifactError(f"the cached copy in {directory} is incomplete or its sha256 does not match")
    validate(directory, metadata)
    return metadata


@dataclass(frozen=True)
class _CachedCopy:
    directory: Path
    metadata: ArtifactMetadata
    source_uri: str


def _load_last_good(cache_dir: Path, validate: Validator) -> _CachedCopy:
    pointer = cache_dir / LAST_GOOD_FILE
    try:
        record: Any = json.loads(pointer.read_text())
        sha256 = str(record["sha256"])
        source_uri = str(record["model_uri"])
    except FileNotFoundError:
        raise ArtifactError(f"no {LAST_GOOD_FILE}: no model was ever loaded with this cache") from None
    except (OSError, ValueError, KeyError, TypeError) as error:
        raise ArtifactError(f"{pointer} is unreadable ({error})") from None
    if not _SHA256.match(sha256):
        raise ArtifactError(f"{pointer} names no valid sha256")
    directory = cache_dir / "artifacts" / sha256
    metadata = _read_verified_copy(directory, validate)
    return _CachedCopy(directory=directory, metadata=metadata, source_uri=source_uri)


def _write_last_good(cache_dir: Path, sha256: str, model_uri: str) -> None:
    record = {
        "sha256": sha256,
        "model_uri": model_uri,
        "fetched_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
    }
    _write_atomically(cache_dir / LAST_GOOD_FILE, (json.dumps(record, indent=2) + "\n").encode())


def _write_atomically(path: Path, data: bytes) -> None:
    temporary = path.with_name(f".{path.name}.{uuid.uuid4().hex}")
    temporary.write_bytes(data)
    # Atomic on POSIX: readers see the old or the new file, never a partial one.
    os.replace(temporary, path)


def _prune(cache_dir: Path, keep: set[str]) -> None:
    """Delete cached copies other than `keep` and stale downloads older than an hour."""
    for directory in (cache_dir / "artifacts").glob("*"):
        if directory.name not in keep:
            shutil.rmtree(directory, ignore_errors=True)
    cutoff = time.time() - 3600
    for directory in (cache_dir / "incoming").glob("*"):
        # Young ones may be another worker's download in progress.
        with contextlib.suppress(OSError):
            if directory.stat().st_mtime < cutoff:
                shutil.rmtree(directory, ignore_errors=True)
