"""Probability bars and percentages."""

from __future__ import annotations

from ui.probability import DEFAULT_COLOR, format_percent, label_color, probability_bars


def test_bars_are_ordered_most_likely_first_and_clamped() -> None:
    bars = probability_bars({"grass": 0.25, "dandelion": 1.0000001, "clover": 0.25})

    assert [bar.label for bar in bars] == ["dandelion", "clover", "grass"]
    assert bars[0].value == 1.0
    assert [bar.text for bar in bars] == ["100.0 %", "25.0 %", "25.0 %"]
    assert [bar.color for bar in bars] == [label_color("dandelion"), DEFAULT_COLOR, label_color("grass")]


def test_format_percent() -> None:
    assert format_percent(0.8749) == "87.5 %"
    assert format_percent(None) == "—"
