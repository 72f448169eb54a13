"""Register the project's ZenML stacks and optionally activate one.

python -m stacks register [--stack local|local-s3|cluster ...] [--activate NAME]
python -m stacks set NAME          # same as `zenml stack set NAME` on the project's store
python -m stacks validate NAME     # ZenML's own checks of every component, without running
"""

from __future__ import annotations

import argparse
import sys

from greenr.settings import SettingsError, get_settings
from greenr.zenml_environment import prepare_zenml
from stacks.definitions import STACK_NAMES, StackDefinitionError, load_stack, stack_values


def not_registered(name: str) -> str:
    """The one-line answer to `set` or `validate` of a stack the ZenML store does not have."""
    return (
        f"stack {name!r} is not registered: register it first with python -m stacks register --stack {name}"
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m stacks", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    register = sub.add_parser("register", help="register stacks idempotently")
    register.add_argument("--stack", action="append", choices=STACK_NAMES, help="default: local")
    register.add_argument("--activate", choices=STACK_NAMES)
    activate = sub.add_parser("set", help="activate a registered stack")
    activate.add_argument("name", choices=STACK_NAMES)
    check = sub.add_parser("validate", help="validate a registered stack without running it")
    check.add_argument("name", choices=STACK_NAMES)
    args = parser.parse_args(argv)
    try:
        settings = get_settings()
        prepare_zenml(settings)
        from zenml.client import Client

        from stacks.registration import ensure_stack, is_registered

        client = Client()
        if args.command == "register":
            for name in args.stack or ["local"]:
                outcome = ensure_stack(client, load_stack(name, stack_values(settings)))
                for what, result in outcome.items():
                    print(f"{result:>9}  {what}")
        if args.command in ("set", "validate") and not is_registered(client, args.name):
            print(f"error: {not_registered(args.name)}", file=sys.stderr)
            return 2
        if args.command == "validate":
            from zenml.stack import Stack

            try:
                Stack.from_model(client.get_stack(args.name, allow_name_prefix_match=False)).validate()
            except Exception as error:  # ZenML raises plain RuntimeError/ValueError/KeyError here
                print(f"error: stack {args.name} is not valid: {error}", file=sys.stderr)
                return 1
            print(f"stack {args.name} is valid")
            return 0
        target = args.activate if args.command == "register" else args.name
        if target:
            client.activate_stack(target)
            print(f"active stack: {target}")
    except (SettingsError, StackDefinitionError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
