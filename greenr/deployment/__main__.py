"""The served model, through the active ZenML stack's model deployer.

python -m greenr.deployment status     # every server of the model: version, URL, running or not
python -m greenr.deployment start      # start the last deployed server again (after a stop or a reboot)
python -m greenr.deployment stop       # stop it; every process it started is gone when this returns

Exit status: 0, or 3 when `status` finds no running server, 1 on an error.
"""

from __future__ import annotations

import argparse
import sys

from greenr.settings import SettingsError, get_settings
from greenr.zenml_environment import prepare_zenml


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m greenr.deployment", description=__doc__, formatter_class=argparse.RawTextHelpFormatter
    )
    parser.add_argument("command", choices=("status", "start", "stop"))
    args = parser.parse_args(argv)
    try:
        settings = get_settings()
    except SettingsError as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    prepare_zenml(settings)
    from greenr.deployment import control

    try:
        try:
            stack, deployer = control.active_deployer()
        except control.NoDeployerError as error:
            if args.command != "stop":
                raise
            print(f"nothing to stop: {error}")  # scripts/stop.sh on a fresh clone
            return 0
        timeout = settings.model_server_start_timeout_seconds
        if args.command == "start":
            server, started = control.start(deployer, settings.model_name, timeout)
            print(f"{server.line()}{'' if started else ' (it was already running)'}")
            return 0
        if args.command == "stop":
            stopped = control.stop(deployer, settings.model_name, timeout)
            for server in stopped:
                print(server.line())
            if not stopped:
                print(f"no server of {settings.model_name} runs on stack {stack}")
            return 0
        servers = control.status(deployer, settings.model_name)
        for server in servers:
            print(server.line())
        if not any(server.running for server in servers):
            if not servers:
                print(f"no server of {settings.model_name} was deployed on stack {stack}")
            else:
                print(f"start it again: {control.START_COMMAND}")
            return 3
    except control.DeploymentControlError as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
