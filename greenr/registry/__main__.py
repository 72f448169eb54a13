"""Promote or roll back a registered model version by hand, or show the aliases.

python -m greenr.registry show
python -m greenr.registry promote VERSION --reason "..."
python -m greenr.registry rollback [VERSION]     # default: the champion before the current one
"""

from __future__ import annotations

import argparse
import sys

from greenr.registry.model_registry import (
    CHALLENGER,
    CHAMPION,
    RegistryError,
    get_alias,
    move_champion,
)
from greenr.registry.tracking_server import check_tracking_server
from greenr.registry.zenml_models import mark_production
from greenr.settings import SettingsError, get_settings
from greenr.zenml_environment import prepare_zenml


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m greenr.registry", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("show", help="print the champion and challenger versions")
    promote = sub.add_parser("promote", help="make VERSION the champion")
    promote.add_argument("version")
    promote.add_argument("--reason", default="promoted by hand")
    rollback = sub.add_parser("rollback", help="make VERSION (default: the previous champion) the champion")
    rollback.add_argument("version", nargs="?")
    args = parser.parse_args(argv)
    try:
        settings = get_settings()
        uri, name = settings.tracking_uri, settings.model_name
        check_tracking_server(uri)
        if args.command == "show":
            for alias in (CHAMPION, CHALLENGER):
                info = get_alias(uri, name, alias)
                print(f"{alias:>10}: {f'version {info.version}' if info else 'none'}")
            return 0
        if args.command == "promote":
            target, reason = args.version, args.reason
        else:
            target, reason = args.version or _previous_champion(uri, name), "rollback"
        previous = move_champion(uri, name, target, how="manual", reason=reason)
        was = previous.version if previous else "none"
        print(f"{name}: champion is now version {target} (was {was})")
        # The ZenML stage follows the registry, so the dashboard shows the same production model.
        prepare_zenml(settings)
        if mark_production(name, target):
            print(f"{name}: its ZenML model version is now in stage production")
    except (SettingsError, RegistryError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    return 0


def _previous_champion(uri: str, name: str) -> str:
    current = get_alias(uri, name, CHAMPION)
    previous = current.tags.get("champion.previous") if current else None
    if not previous or previous == "none":
        raise RegistryError(f"{name} has no previous champion to roll back to: name a version")
    return previous


if __name__ == "__main__":
    sys.exit(main())
