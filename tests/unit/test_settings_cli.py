"""The shell scripts read GREENR_HOME and friends through settings_cli, never their own default."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from greenr.settings import REPO_ROOT, load_settings
from greenr.settings_cli import main, setting_value


def test_a_setting_is_printed_resolved(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.delenv("GREENR_HOME", raising=False)
    monkeypatch.delenv("GREENR_LOG_DIR", raising=False)
    assert setting_value(load_settings(), "home") == str((REPO_ROOT / ".greenr").resolve())
    assert setting_value(load_settings(), "log_dir") == ""
    monkeypatch.setenv("GREENR_HOME", str(tmp_path / "x" / ".." / "state"))
    assert setting_value(load_settings(), "home") == str(tmp_path / "state")


def test_an_unknown_field_or_a_bad_environment_is_one_line_and_exit_2(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["no_such_field"]) == 2
    assert "no setting named 'no_such_field'" in capsys.readouterr().err
    monkeypatch.setenv("GREENR_API_PORT", "not-a-port")
    assert main(["home"]) == 2
    assert "GREENR_API_PORT" in capsys.readouterr().err


def test_the_scripts_take_the_state_folder_from_settings(tmp_path: Path) -> None:
    env = {"GREENR_HOME": str(tmp_path), "PATH": "/usr/bin:/bin", "PYTHONPATH": str(REPO_ROOT)}
    printed = subprocess.run(
        [sys.executable, "-m", "greenr.settings_cli", "home"],
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    assert printed.stdout.strip() == str(tmp_path)
    for script in ("quickstart.sh", "monitoring.sh", "airflow.sh"):
        text = (REPO_ROOT / "scripts" / script).read_text()
        assert "${GREENR_HOME:-" not in text, f"{script} re-defaults GREENR_HOME"
