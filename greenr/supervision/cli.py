"""`start|stop|status` on the command line for a `DaemonSpec` (the API's and the web app's)."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable

from greenr.settings import Settings, SettingsError, load_settings
from greenr.supervision.daemon import DaemonError, DaemonSpec, Status, start, status, stop


def run_command(
    argv: list[str] | None,
    prog: str,
    description: str,
    spec_of: Callable[[Settings], DaemonSpec],
    describe: Callable[[DaemonSpec, Status], list[str]],
) -> int:
    """Parse `start|stop|status`, build the spec from the settings, and do it.

    Exit status: 0; 1 on an error (one line naming what to fix on stderr, no traceback);
    3 when `status` finds the server not running or not answering.
    """
    parser = argparse.ArgumentParser(prog=prog, description=description)
    parser.add_argument("command", choices=("start", "stop", "status"))
    args = parser.parse_args(argv)
    try:
        spec = spec_of(load_settings())
    except SettingsError as error:
        print(f"{prog}: error: {error}", file=sys.stderr)
        return 1

    def say(message: str) -> None:
        print(f"{spec.name}: {message}", flush=True)

    try:
        if args.command == "start":
            start(spec, say)
        elif args.command == "stop":
            stop(spec, say)
        else:
            found = status(spec, say)
            if found.code == 0:
                for line in describe(spec, found):
                    print(line)
            return found.code
    except DaemonError as error:
        print(f"{spec.name}: error: {error}", file=sys.stderr)
        return 1
    return 0
