"""Copies of the committed alerting configs whose waits are shortened, for the alert integration test.

Waiting out the real `for: 1m` and the pager route's 1-minute group interval made the integration
test take two minutes of sleep. These functions rewrite copies of the committed files by code (so
expressions, labels, annotations, matchers, receivers and grouping stay the committed ones, and a
renamed alert or route fails here instead of being silently left long); promtool's unit tests
(monitoring/prometheus/tests/) keep checking the real `for:` durations.
"""

from __future__ import annotations

import copy
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import yaml

from greenr.observability.monitoring_config import load_yaml


def shorten_alert_waits(rules_dir: Path, waits: Mapping[str, str], folder: Path) -> list[Path]:
    """Write every rule file of `rules_dir` into `folder`, the alerts named in `waits` with that `for:`.

    Each named alert must exist and already wait (`for:`): the copy shortens a wait, it never adds one.
    """
    folder.mkdir(parents=True, exist_ok=True)
    written: list[Path] = []
    found: set[str] = set()
    for source in sorted(rules_dir.glob("*.yml")):
        rules = load_yaml(source)
        for group in rules["groups"]:
            for rule in group["rules"]:
                name = rule.get("alert")
                if name in waits:
                    if "for" not in rule:
                        raise ValueError(f"{source}: {name} has no `for:` to shorten")
                    rule["for"] = waits[name]
                    found.add(name)
        target = folder / source.name
        target.write_text(yaml.safe_dump(rules, sort_keys=False), encoding="utf-8")
        written.append(target)
    missing = sorted(set(waits) - found)
    if missing:
        raise ValueError(f"no alert named {missing} in {rules_dir}")
    return written


def _routes(route: dict[str, Any]) -> Iterator[dict[str, Any]]:
    yield route
    for child in route.get("routes", []):
        yield from _routes(child)


def shorten_route_timers(config: dict[str, Any], receiver: str, timers: Mapping[str, str]) -> dict[str, Any]:
    """A copy of an Alertmanager config whose routes to `receiver` use `timers` (group_wait,
    group_interval...); each timer must already be set on such a route."""
    shortened = copy.deepcopy(config)
    routes = [route for route in _routes(shortened["route"]) if route.get("receiver") == receiver]
    if not routes:
        raise ValueError(f"no route sends to the receiver {receiver!r}")
    for route in routes:
        for key, value in timers.items():
            if key not in route:
                raise ValueError(f"the route to {receiver!r} sets no {key} to shorten")
            route[key] = value
    return shortened
