"""Registered model versions and their aliases in MLflow (aliases only: stages are deprecated).

`champion` is the version in production; `challenger` the latest trained one. Every move of
`champion` is recorded as tags on the version it points to.
"""

from __future__ import annotations

import tempfile
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict

CHAMPION = "champion"
RETRAINING_TAG = "retraining.reason"
"""Set on a version the retraining chain trained (`run.py --pipeline retraining`): why it ran.
The retrain policy's cooldown starts at the newest such version."""
CHALLENGER = "challenger"


class RegistryError(RuntimeError):
    """The registry cannot do what was asked; the message says why and what to do."""


class NoChampionError(RegistryError, LookupError):
    """The registry has no champion (to deploy, to compare with)."""


class VersionInfo(BaseModel):
    """What callers need to know about one registered version."""

    model_config = ConfigDict(frozen=True)

    name: str
    version: str
    run_id: str | None
    source: str
    aliases: tuple[str, ...]
    tags: dict[str, str]
    created_at: datetime | None = None


def _client(tracking_uri: str) -> Any:
    from mlflow import MlflowClient

    return MlflowClient(tracking_uri=tracking_uri, registry_uri=tracking_uri)


def _info(version: Any) -> VersionInfo:
    return VersionInfo(
        name=version.name,
        version=str(version.version),
        run_id=version.run_id,
        source=version.source,
        aliases=tuple(version.aliases or ()),
        tags=dict(version.tags or {}),
        created_at=(
            datetime.fromtimestamp(version.creation_timestamp / 1000, UTC)
            if version.creation_timestamp
            else None
        ),
    )


def register_version(tracking_uri: str, name: str, model_uri: str, tags: dict[str, str]) -> VersionInfo:
    """Register `model_uri` as a new version of `name` (created if missing) and tag it."""
    import mlflow
    from mlflow.exceptions import MlflowException

    client = _client(tracking_uri)
    try:
        client.get_registered_model(name)
    except MlflowException:
        client.create_registered_model(name, description="Dandelion vs grass classifier (ONNX).")
    # mlflow.register_model resolves MLflow 3's "models:/m-<id>" logged-model URIs (with the
    # model id a tracking server requires); the client's create_model_version does not.
    mlflow.set_tracking_uri(tracking_uri)
    mlflow.set_registry_uri(tracking_uri)
    registered = mlflow.register_model(model_uri=model_uri, name=name, tags=tags)
    return get_version(tracking_uri, name, str(registered.version))


def get_alias(tracking_uri: str, name: str, alias: str) -> VersionInfo | None:
    """The version an alias points to, or None when the alias (or the model) does not exist."""
    from mlflow.exceptions import MlflowException

    try:
        return _info(_client(tracking_uri).get_model_version_by_alias(name, alias))
    except MlflowException:
        return None


def get_version(tracking_uri: str, name: str, version: str) -> VersionInfo:
    """One version; a clear error when it does not exist."""
    from mlflow.exceptions import MlflowException

    try:
        return _info(_client(tracking_uri).get_model_version(name, version))
    except MlflowException:
        raise RegistryError(
            f"model {name!r} has no version {version!r}: list them with the MLflow UI"
        ) from None


def latest_version(tracking_uri: str, name: str) -> VersionInfo | None:
    """The most recently registered version (highest number), or None when there is none."""
    from mlflow.exceptions import MlflowException

    try:
        versions = _client(tracking_uri).search_model_versions(f"name = '{name}'")
    except MlflowException:
        return None
    return _info(max(versions, key=lambda version: int(version.version))) if versions else None


def last_retraining_at(tracking_uri: str, name: str) -> datetime | None:
    """When the retraining chain last registered a version of `name`; None when it never did."""
    from mlflow.exceptions import MlflowException

    try:
        versions = _client(tracking_uri).search_model_versions(f"name = '{name}'")
    except MlflowException:
        return None
    times = [
        info.created_at
        for info in map(_info, versions)
        if RETRAINING_TAG in info.tags and info.created_at is not None
    ]
    return max(times, default=None)


def set_alias(tracking_uri: str, name: str, alias: str, version: str) -> None:
    """Point an alias at a version."""
    _client(tracking_uri).set_registered_model_alias(name, alias, version)


def tag_version(tracking_uri: str, name: str, version: str, tags: dict[str, str]) -> None:
    """Set tags on a version (values are strings in MLflow)."""
    client = _client(tracking_uri)
    for key, value in tags.items():
        client.set_model_version_tag(name, version, key, value)


def move_champion(tracking_uri: str, name: str, version: str, how: str, reason: str) -> VersionInfo | None:
    """Make `version` the champion; returns the previous champion. `how` is "gate" or "manual"."""
    get_version(tracking_uri, name, version)
    previous = get_alias(tracking_uri, name, CHAMPION)
    set_alias(tracking_uri, name, CHAMPION, version)
    tag_version(
        tracking_uri,
        name,
        version,
        {
            "champion.since": datetime.now(UTC).isoformat(timespec="seconds"),
            "champion.how": how,
            "champion.reason": reason,
            "champion.previous": previous.version if previous else "none",
        },
    )
    return previous


def download_version(tracking_uri: str, name: str, version: str, destination: Path) -> Path:
    """Download a version's model folder (MLmodel, model.onnx...) and return its path."""
    import mlflow

    destination.mkdir(parents=True, exist_ok=True)
    mlflow.set_tracking_uri(tracking_uri)
    mlflow.set_registry_uri(tracking_uri)
    local = mlflow.artifacts.download_artifacts(
        artifact_uri=f"models:/{name}/{version}", dst_path=str(destination)
    )
    return Path(local)


def download_run_file(tracking_uri: str, run_id: str, artifact_path: str) -> bytes | None:
    """One file of a run's artifacts; None when the run has no such file.

    Raises:
        RegistryError: the tracking server cannot be read.
    """
    import mlflow
    from mlflow.exceptions import MlflowException

    client = _client(tracking_uri)
    folder, _, name = artifact_path.rpartition("/")
    try:
        listed = {Path(item.path).name for item in client.list_artifacts(run_id, folder or None)}
    except MlflowException as error:
        raise RegistryError(
            f"cannot list the artifacts of run {run_id} at {tracking_uri} ({error})"
        ) from None
    if name not in listed:
        return None
    with tempfile.TemporaryDirectory() as tmp:
        local = mlflow.artifacts.download_artifacts(
            run_id=run_id, artifact_path=artifact_path, dst_path=tmp, tracking_uri=tracking_uri
        )
        return Path(local).read_bytes()
