"""The monitoring servers' configs and the local alert inbox (called by scripts/monitoring.sh).

python -m greenr.observability render [FOLDER]     default: $GREENR_HOME/monitoring
python -m greenr.observability alert-inbox          receive Alertmanager's webhooks (foreground)
python -m greenr.observability alerts [--last N]    the alerts the inbox received, newest last
"""

from __future__ import annotations

import argparse
import logging
import sys
from pathlib import Path

from greenr.observability.alert_inbox import format_alerts, read_alerts, serve
from greenr.observability.monitoring_config import MonitoringSetupError, render
from greenr.settings import SettingsError, get_settings


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m greenr.observability",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    commands = parser.add_subparsers(dest="command", required=True)
    render_command = commands.add_parser("render", help="write the runtime configs and monitoring.env")
    render_command.add_argument(
        "folder", nargs="?", type=Path, help="where to write (default: $GREENR_HOME/monitoring)"
    )
    commands.add_parser("alert-inbox", help="receive Alertmanager's webhooks on GREENR_ALERT_INBOX_PORT")
    alerts_command = commands.add_parser("alerts", help="show the alerts the inbox received")
    alerts_command.add_argument("--last", type=int, default=20, help="how many, newest last (20)")
    args = parser.parse_args(argv)
    try:
        settings = get_settings()
    except SettingsError as error:
        print(f"greenr-monitoring: error: {error}", file=sys.stderr)
        return 2
    if args.command == "alert-inbox":
        logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s")
        serve(settings.alert_inbox_port, settings.alert_inbox_file)
        return 0
    if args.command == "alerts":
        if args.last < 1:
            parser.error("--last must be at least 1")
        alerts = read_alerts(settings.alert_inbox_file, args.last)
        if not alerts:
            print(
                f"no alert received yet ({settings.alert_inbox_file}); "
                "alerts arrive here while scripts/monitoring.sh runs"
            )
            return 0
        print(format_alerts(alerts))
        return 0
    try:
        folder = args.folder or settings.monitoring_path
        render(settings, folder)
    except MonitoringSetupError as error:
        print(f"greenr-monitoring: error: {error}", file=sys.stderr)
        return 2
    print(folder / "monitoring.env")
    return 0


if __name__ == "__main__":
    sys.exit(main())
