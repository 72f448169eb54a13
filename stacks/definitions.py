"""Reading stacks/*.yaml and filling their ${placeholders} from the settings."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from greenr.settings import Settings

STACKS_DIR = Path(__file__).parent
STACK_NAMES = ("local", "local-s3", "cluster")
_PLACEHOLDER = re.compile(r"\$\{([a-z0-9_]+)\}")
# "${?name}" as a whole value: the key is dropped when the setting is not configured.
_OPTIONAL = re.compile(r"^\$\{\?([a-z0-9_]+)\}$")
_DROP = object()


class StackDefinitionError(ValueError):
    """A stack file refers to a value the settings do not provide."""


@dataclass(frozen=True)
class ComponentSpec:
    """One stack component: its type (orchestrator, artifact_store...), name, flavor and config."""

    type: str
    name: str
    flavor: str
    config: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class FlavorSpec:
    """A project flavor its components use: the component type and the flavor class's source."""

    type: str
    source: str


@dataclass(frozen=True)
class StackSpec:
    """A stack: its components, the project flavors and the ZenML secrets they refer to."""

    name: str
    components: list[ComponentSpec]
    secrets: dict[str, dict[str, str]]
    flavors: list[FlavorSpec] = field(default_factory=list)


def stack_values(settings: Settings) -> dict[str, str | None]:
    """The values stack files may refer to as ${name}; None means "not configured"."""

    def secret(value: Any) -> str | None:
        return value.get_secret_value() if value is not None else None

    return {
        "artifact_path": str(settings.artifact_path),
        "model_server_path": str(settings.model_server_path),
        "mlflow_tracking_uri": settings.tracking_uri,
        "mlflow_tracking_username": settings.mlflow_tracking_username,
        "mlflow_tracking_password": secret(settings.mlflow_tracking_password),
        "s3_artifact_path": settings.s3_artifact_uri,
        "s3_endpoint_url": settings.s3_endpoint_url,
        "aws_region": settings.aws_region,
        "aws_access_key_id": settings.aws_access_key_id,
        "aws_secret_access_key": secret(settings.aws_secret_access_key),
        "k8s_context": settings.k8s_context,
        "k8s_namespace": settings.k8s_namespace,
        "container_registry": settings.container_registry,
        "cluster_s3_endpoint_url": settings.cluster_s3_endpoint_url,
        "cluster_artifact_path": settings.cluster_artifact_uri,
        "cluster_mlflow_uri": settings.cluster_mlflow_uri,
        "cluster_mlflow_username": settings.cluster_mlflow_username,
        "cluster_mlflow_password": secret(settings.cluster_mlflow_password),
        "seldon_base_url": settings.seldon_base_url,
    }


# Which variable a person sets to provide each value (for error messages).
_VARIABLE_OF = {
    "s3_endpoint_url": "AWS_ENDPOINT_URL_S3",
    "aws_access_key_id": "AWS_ACCESS_KEY_ID",
    "aws_secret_access_key": "AWS_SECRET_ACCESS_KEY",
    "cluster_mlflow_password": "GREENR_CLUSTER_MLFLOW_PASSWORD",
}

_S3_VALUES = frozenset({"s3_endpoint_url", "aws_access_key_id", "aws_secret_access_key"})
# The values a person on one machine has at hand: those of the project's own S3 server.
_LOCAL_S3_HINT = (
    " (the project's own S3 server: bash scripts/services.sh start, then source .greenr/services/client.env)"
)


def _fill(node: Any, values: Mapping[str, str | None], stack: str) -> Any:
    if isinstance(node, dict):
        filled = {key: _fill(value, values, stack) for key, value in node.items()}
        return {key: value for key, value in filled.items() if value is not _DROP}
    if isinstance(node, list):
        return [_fill(value, values, stack) for value in node]
    if not isinstance(node, str):
        return node
    optional = _OPTIONAL.match(node)
    if optional:
        name = optional.group(1)
        if name not in values:
            raise StackDefinitionError(f"stack {stack!r}: unknown placeholder ${{?{name}}}")
        value = values[name]
        return _DROP if value is None else value

    def replace(match: re.Match[str]) -> str:
        name = match.group(1)
        if name not in values:
            raise StackDefinitionError(f"stack {stack!r}: unknown placeholder ${{{name}}}")
        value = values[name]
        if value is None:
            # Unreachable after _check_configured, which names every missing variable at once.
            raise StackDefinitionError(f"stack {stack!r}: ${{{name}}} is not configured")
        return value

    return _PLACEHOLDER.sub(replace, node)


def _required_names(node: Any) -> list[str]:
    """Every non-optional placeholder of a stack file, in document order."""
    if isinstance(node, dict):
        return [name for value in node.values() for name in _required_names(value)]
    if isinstance(node, list):
        return [name for value in node for name in _required_names(value)]
    if isinstance(node, str) and not _OPTIONAL.match(node):
        return _PLACEHOLDER.findall(node)
    return []


def _check_configured(raw: Any, values: Mapping[str, str | None], stack: str) -> None:
    """One error naming every variable the stack needs and the environment lacks (not one at a time)."""
    missing = [
        name for name in dict.fromkeys(_required_names(raw)) if name in values and values[name] is None
    ]
    if not missing:
        return
    variables = [_VARIABLE_OF.get(name, name.upper()) for name in missing]
    listed = variables[0] if len(variables) == 1 else ", ".join(variables[:-1]) + " and " + variables[-1]
    them = "it" if len(variables) == 1 else "them"
    hint = _LOCAL_S3_HINT if stack == "local-s3" and set(missing) <= _S3_VALUES else ""
    raise StackDefinitionError(f"stack {stack!r} needs {listed}: set {them} and register again{hint}")


def load_stack(name: str, values: Mapping[str, str | None], stacks_dir: Path = STACKS_DIR) -> StackSpec:
    """Parse stacks/<name>.yaml with its placeholders filled."""
    path = stacks_dir / f"{name}.yaml"
    if not path.exists():
        raise StackDefinitionError(f"no stack file {path}; known stacks: {', '.join(STACK_NAMES)}")
    raw = yaml.safe_load(path.read_text())
    _check_configured(raw, values, name)
    document = _fill(raw, values, name)
    components = [
        ComponentSpec(
            type=component_type,
            name=spec["name"],
            flavor=spec["flavor"],
            config=dict(spec.get("config") or {}),
        )
        for component_type, spec in document["components"].items()
    ]
    secrets = {
        key: {k: str(v) for k, v in value.items()} for key, value in (document.get("secrets") or {}).items()
    }
    flavors = [FlavorSpec(type=spec["type"], source=spec["source"]) for spec in document.get("flavors") or []]
    return StackSpec(name=document["name"], components=components, secrets=secrets, flavors=flavors)
