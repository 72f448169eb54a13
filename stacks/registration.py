"""Registering stacks, their components and secrets in ZenML, idempotently.

Each object is created when missing, updated when its definition changed, and left alone
otherwise, so running the registration twice changes nothing.
"""

from __future__ import annotations

from typing import Any

from zenml.client import Client
from zenml.enums import StackComponentType
from zenml.exceptions import EntityExistsError

from stacks.definitions import ComponentSpec, FlavorSpec, StackSpec


def _not_found(error: Exception) -> bool:
    return isinstance(error, KeyError) or type(error).__name__ in {"KeyError", "EntityNotFoundError"}


def is_registered(client: Client, stack_name: str) -> bool:
    """Whether the active ZenML store has a stack of exactly this name."""
    try:
        client.get_stack(stack_name, allow_name_prefix_match=False)
    except Exception as error:
        if not _not_found(error):
            raise
        return False
    return True


def ensure_secret(client: Client, name: str, values: dict[str, str]) -> str:
    """Create or update a ZenML secret; returns "created", "updated" or "unchanged"."""
    try:
        secret = client.get_secret(name)
    except Exception as error:
        if not _not_found(error):
            raise
        client.create_secret(name=name, values=values)
        return "created"
    if secret.secret_values == values:
        return "unchanged"
    client.update_secret(
        name_id_or_prefix=secret.id,
        add_or_update_values=values,
        remove_values=[key for key in secret.secret_values if key not in values],
    )
    return "updated"


def ensure_flavor(client: Client, spec: FlavorSpec) -> tuple[str, str]:
    """Register a project flavor from its source; returns its name and "created" or "unchanged"."""
    from zenml.stack.flavor import validate_flavor_source

    component_type = StackComponentType(spec.type)
    _, flavor = validate_flavor_source(spec.source, component_type)
    try:
        existing = client.get_flavor_by_name_and_type(flavor.name, component_type)
    except KeyError:
        client.create_flavor(source=spec.source, component_type=component_type)
        return flavor.name, "created"
    if existing.source != spec.source:
        raise EntityExistsError(
            f"flavor {flavor.name!r} exists with source {existing.source!r}, not {spec.source!r}: "
            f"delete it (zenml {spec.type.replace('_', '-')} flavor delete {flavor.name}) and register again"
        )
    return flavor.name, "unchanged"


def ensure_component(client: Client, spec: ComponentSpec) -> str:
    """Create or update one stack component; returns "created", "updated" or "unchanged"."""
    component_type = StackComponentType(spec.type)
    try:
        existing = client.get_stack_component(component_type, spec.name, allow_name_prefix_match=False)
    except Exception as error:
        if not _not_found(error):
            raise
        client.create_stack_component(
            name=spec.name, flavor=spec.flavor, component_type=component_type, configuration=spec.config
        )
        return "created"
    if existing.flavor_name != spec.flavor:
        raise EntityExistsError(
            f"component {spec.name!r} exists with flavor {existing.flavor_name!r}, not {spec.flavor!r}: "
            f"delete it (zenml {spec.type.replace('_', '-')} delete {spec.name}) and register again"
        )
    if _same_config(existing.configuration, spec.config):
        return "unchanged"
    client.update_stack_component(
        name_id_or_prefix=existing.id,
        component_type=component_type,
        # ZenML merges configurations and drops None values: keys absent from the definition
        # are set to None so the file stays the source of truth.
        configuration={**dict.fromkeys(existing.configuration), **spec.config},
    )
    return "updated"


def _same_config(stored: dict[str, Any], wanted: dict[str, Any]) -> bool:
    # ZenML stores only the values a user set; compare the keys the definition sets.
    return all(stored.get(key) == value for key, value in wanted.items()) and set(stored) <= set(wanted)


def ensure_stack(client: Client, spec: StackSpec) -> dict[str, str]:
    """Register a whole stack; returns what happened to each secret, component and the stack."""
    outcome: dict[str, str] = {}
    for flavor in spec.flavors:
        name, result = ensure_flavor(client, flavor)
        outcome[f"flavor {name}"] = result
    for name, values in spec.secrets.items():
        outcome[f"secret {name}"] = ensure_secret(client, name, values)
    for component in spec.components:
        outcome[f"{component.type} {component.name}"] = ensure_component(client, component)
    wanted = {StackComponentType(c.type): c.name for c in spec.components}
    try:
        stack = client.get_stack(spec.name, allow_name_prefix_match=False)
    except Exception as error:
        if not _not_found(error):
            raise
        client.create_stack(name=spec.name, components=dict(wanted))
        outcome[f"stack {spec.name}"] = "created"
        return outcome
    current = {component_type: models[0].name for component_type, models in stack.components.items()}
    if current == wanted:
        outcome[f"stack {spec.name}"] = "unchanged"
    else:
        client.update_stack(
            name_id_or_prefix=stack.id,
            component_updates={t: [n] for t, n in wanted.items()},
        )
        outcome[f"stack {spec.name}"] = "updated"
    return outcome
