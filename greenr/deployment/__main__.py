"""Inspect or stop the local model server that the deployment pipeline started.

python -m greenr.deployment status     # what is served, and where
python -m greenr.deployment stop       # stop the local model server
"""

from __future__ import annotations

import argparse
import sys

from greenr.deployment.local_server import ModelServerError, serving_status, stop_local_server
from greenr.settings import SettingsError, get_settings


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m greenr.deployment", description=__doc__)
    parser.add_argument("command", choices=("status", "stop"))
    args = parser.parse_args(argv)
    try:
        settings = get_settings()
        if args.command == "stop":
            stop_local_server(settings)
            print("model server stopped")
            return 0
        status = serving_status(settings)
        if status is None:
            print(f"no model server answers at {settings.model_server}")
            return 3
        fallback = " (FALLBACK: serving the cached copy)" if status.fallback else ""
        print(f"{status.model_name} version {status.version} at {settings.model_server}{fallback}")
    except (SettingsError, ModelServerError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
