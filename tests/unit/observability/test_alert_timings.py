"""The alert integration test's shortened copies (tests/alert_timings.py) change only the waits
they name: every other line of the committed rules and routing is the same, and promtool and
amtool accept the copies."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from alert_timings import shorten_alert_waits, shorten_route_timers
from monitoring_tools import run_tool

from greenr.observability.monitoring_config import ALERTMANAGER_CONFIG, RULES_DIR, load_yaml


def test_only_the_named_alerts_wait_less(tmp_path: Path) -> None:
    written = shorten_alert_waits(RULES_DIR, {"GreenrModelServerDown": "10s"}, tmp_path)
    assert [path.name for path in written] == sorted(path.name for path in RULES_DIR.glob("*.yml"))
    for path in written:
        copy, committed = load_yaml(path), load_yaml(RULES_DIR / path.name)
        for copied_group, group in zip(copy["groups"], committed["groups"], strict=True):
            for copied, rule in zip(copied_group["rules"], group["rules"], strict=True):
                if rule.get("alert") == "GreenrModelServerDown":
                    assert (rule["for"], copied["for"]) == ("1m", "10s")
                    copied["for"] = rule["for"]
                assert copied == rule
    result = run_tool("promtool", "check", "rules", *written)
    assert result.returncode == 0, result.stdout + result.stderr


def test_an_unknown_alert_or_one_without_a_wait_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="GreenrNoSuchAlert"):
        shorten_alert_waits(RULES_DIR, {"GreenrNoSuchAlert": "1s"}, tmp_path / "unknown")
    # GreenrDataDrift fires at once (no `for:`): a copy must not add a wait the real rule lacks.
    with pytest.raises(ValueError, match="GreenrDataDrift has no `for:`"):
        shorten_alert_waits(RULES_DIR, {"GreenrDataDrift": "1s"}, tmp_path / "no-wait")


def test_only_the_pager_routes_timers_change(tmp_path: Path) -> None:
    committed = load_yaml(ALERTMANAGER_CONFIG)
    timers = {"group_wait": "1s", "group_interval": "2s"}
    copy = shorten_route_timers(committed, "pager", timers)
    (pager,) = [route for route in copy["route"]["routes"] if route["receiver"] == "pager"]
    assert {key: pager[key] for key in timers} == timers
    (original,) = [route for route in committed["route"]["routes"] if route["receiver"] == "pager"]
    assert (original["group_wait"], original["group_interval"]) == ("10s", "1m")  # untouched
    pager.update({key: original[key] for key in timers})
    assert copy == committed
    path = tmp_path / "alertmanager.yml"
    path.write_text(yaml.safe_dump(shorten_route_timers(committed, "pager", timers)))
    result = run_tool("amtool", "check-config", path)
    assert result.returncode == 0, result.stdout + result.stderr
    with pytest.raises(ValueError, match="no route sends to the receiver 'nobody'"):
        shorten_route_timers(committed, "nobody", timers)
    with pytest.raises(ValueError, match="sets no mute_time_intervals"):
        shorten_route_timers(committed, "pager", {"mute_time_intervals": "1s"})
