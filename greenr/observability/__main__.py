"""Render the monitoring servers' runtime configs (called by scripts/monitoring.sh).

python -m greenr.observability render [FOLDER]    default: $GREENR_HOME/monitoring
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from greenr.observability.monitoring_config import MonitoringSetupError, render
from greenr.settings import SettingsError, get_settings


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m greenr.observability", description=__doc__)
    parser.add_argument("command", choices=["render"])
    parser.add_argument(
        "folder", nargs="?", type=Path, help="where to write (default: $GREENR_HOME/monitoring)"
    )
    args = parser.parse_args(argv)
    try:
        settings = get_settings()
        folder = args.folder or settings.monitoring_path
        render(settings, folder)
    except (SettingsError, MonitoringSetupError) as error:
        print(f"greenr-monitoring: error: {error}", file=sys.stderr)
        return 2
    print(folder / "monitoring.env")
    return 0


if __name__ == "__main__":
    sys.exit(main())
