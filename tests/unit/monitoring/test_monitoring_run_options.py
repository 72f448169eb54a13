"""The monitoring run's options, and facts monitoring keeps a copy of (checked against their home)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from greenr.monitoring.config import DEFAULT_CONFIG, load_monitoring_config
from greenr.monitoring.drift_html import standalone_page
from greenr.monitoring.run_options import MonitoringOptionError, parse_since, resolve_config
from run import parse_args


def test_since_takes_iso_times_and_reads_a_naive_one_as_utc() -> None:
    assert parse_since("2026-11-29") == datetime(2026, 11, 29, tzinfo=UTC)
    assert parse_since("2026-11-29T10:00:00+02:00") == datetime(2026, 11, 29, 8, tzinfo=UTC)


def test_a_bad_since_says_what_to_give() -> None:
    with pytest.raises(MonitoringOptionError, match="--since 'yesterday' is not an ISO 8601 time"):
        parse_since("yesterday")


def test_window_overrides_the_config_within_its_bounds() -> None:
    assert resolve_config(DEFAULT_CONFIG, None) == load_monitoring_config()
    assert resolve_config(DEFAULT_CONFIG, 50).window == 50
    with pytest.raises(MonitoringOptionError, match=r"--window 3 is not a usable window size .*10"):
        resolve_config(DEFAULT_CONFIG, 3)


def test_the_monitoring_flags_parse_and_others_are_refused(capsys: pytest.CaptureFixture[str]) -> None:
    args = parse_args(["--pipeline", "monitoring", "--window", "50", "--since", "2026-11-29", "--force"])
    assert (args.window, args.since, args.force) == (50, "2026-11-29", True)
    with pytest.raises(SystemExit):
        parse_args(["--pipeline", "training", "--force"])
    assert "--force does not apply to the training pipeline" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        parse_args(["--pipeline", "monitoring", "--seed", "1"])
    assert "it takes --config, --window, --since, --force" in capsys.readouterr().err


def test_the_whylogs_page_is_taken_out_of_its_notebook_iframe() -> None:
    assert (
        standalone_page('<div></div><iframe srcdoc="&lt;html&gt;&quot;x&quot;&lt;/html&gt;" width=100%>')
        == '<html>"x"</html>'
    )
    assert standalone_page("<html></html>") == "<html></html>"
