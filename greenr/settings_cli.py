"""Print one resolved setting, for the shell scripts that must not re-default what Settings owns.

    python -m greenr.settings_cli home          # GREENR_HOME, resolved (default <repo>/.greenr)
    python -m greenr.settings_cli log_dir       # empty when unset

An invalid environment prints the settings' one-line error and exits 2.
"""

from __future__ import annotations

import sys
from pathlib import Path

from greenr.settings import Settings, SettingsError, load_settings


def setting_value(settings: Settings, name: str) -> str:
    """The field's value as a script wants it: paths absolute, None empty."""
    if name not in Settings.model_fields:
        raise KeyError(f"no setting named {name!r}: see greenr/settings.py")
    value = getattr(settings, name)
    if value is None:
        return ""
    if isinstance(value, Path):
        return str(value.resolve())
    return str(value)


def main(argv: list[str]) -> int:
    if len(argv) != 1:
        print("usage: python -m greenr.settings_cli FIELD", file=sys.stderr)
        return 2
    try:
        print(setting_value(load_settings(), argv[0]))
    except (SettingsError, KeyError) as error:
        print(f"settings: error: {error.args[0]}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
