"""The serving artifact of a registered version: model.onnx + metadata.json (serving/README.md)."""

from __future__ import annotations

import hashlib
import json
import tempfile
from datetime import UTC, datetime
from pathlib import Path

import onnx
from pydantic import BaseModel

from greenr.registry import model_registry
from greenr.registry.model_registry import VersionInfo
from greenr.storage.object_store import ObjectStore


class PublishedModel(BaseModel):
    """Where the model server finds a version, and what it is."""

    name: str
    version: str
    uri: str
    sha256: str
    created: bool


def artifact_prefix(name: str, version: str) -> str:
    """models/<name>/v<version>: one folder per registered version, never rewritten."""
    return f"models/{name}/v{version}"


def metadata_document(
    info: VersionInfo, alias: str, labels: list[str], onnx_sha256: str
) -> dict[str, object]:
    """metadata.json of the serving artifact, from the version's registry tags."""
    metrics = {
        key: float(value) for key, value in info.tags.items() if key.startswith("test_") and _is_number(value)
    }
    return {
        "model_name": info.name,
        "version": info.version,
        "alias": alias,
        "labels": labels,
        "input_size": 224,
        "metrics": metrics,
        "dataset_version": info.tags.get("dataset_version", "unknown"),
        "exported_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "sha256": onnx_sha256,
    }


def _is_number(value: str) -> bool:
    try:
        float(value)
    except ValueError:
        return False
    return True


def publish_version(
    tracking_uri: str, store: ObjectStore, info: VersionInfo, alias: str, labels: list[str]
) -> PublishedModel:
    """Copy a registered version into the store as a serving artifact (skipped when present).

    model.onnx is written before metadata.json, so a reader never finds metadata announcing a
    model that is not there yet.
    """
    prefix = artifact_prefix(info.name, info.version)
    present = store.existing_keys(prefix)
    if {f"{prefix}/model.onnx", f"{prefix}/metadata.json"} <= present:
        metadata = json.loads(store.get(f"{prefix}/metadata.json"))
        return PublishedModel(
            name=info.name,
            version=info.version,
            uri=store.uri(prefix),
            sha256=metadata["sha256"],
            created=False,
        )
    with tempfile.TemporaryDirectory() as tmp:
        local = model_registry.download_version(tracking_uri, info.name, info.version, Path(tmp))
        onnx_files = list(local.rglob("*.onnx"))
        if len(onnx_files) != 1:
            raise model_registry.RegistryError(
                f"{info.name} version {info.version} holds {len(onnx_files)} ONNX files, expected 1"
            )
        # Re-serialised through onnx so weights kept as external data end up inside the one file
        # the model server loads.
        data = onnx.load(str(onnx_files[0])).SerializeToString()
    sha = hashlib.sha256(data).hexdigest()
    store.put(f"{prefix}/model.onnx", data)
    document = metadata_document(info, alias, labels, sha)
    store.put(f"{prefix}/metadata.json", json.dumps(document, indent=1).encode())
    return PublishedModel(
        name=info.name, version=info.version, uri=store.uri(prefix), sha256=sha, created=True
    )
