"""The Monitoring page's charts and rows (ui/monitoring_charts.py): plain data, no NiceGUI."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from greenr.contracts import LABELS
from ui.monitoring_charts import (
    DISTANCE_SCALE,
    P_SCALE,
    DriftPoint,
    bucket_starts,
    class_color,
    drift_chart,
    drift_point,
    drift_rows,
    feedback_chart,
    headline,
    predictions_chart,
    run_rows,
)
from ui.monitoring_models import ColumnTest, DriftReport, MonitoringRun, MonitoringSummary
from ui.probability import LABEL_COLORS

T0 = datetime(2026, 11, 29, 9, 30, tzinfo=UTC)


def summary(**changes: object) -> MonitoringSummary:
    body: dict[str, object] = {
        "since": T0 - timedelta(days=2),
        "until": T0,
        "bucket": "hour",
        "predictions": 0,
        "per_class": [],
        "confidence": [],
        "feedback": [],
        "runs": [],
    }
    return MonitoringSummary.model_validate(body | changes)


def test_every_class_has_a_chart_colour_of_its_own() -> None:
    assert set(LABEL_COLORS) == set(LABELS)
    colours = [class_color(label) for label in LABELS]
    assert len(set(colours)) == len(LABELS)
    assert all(colour.startswith("#") for colour in colours)
    assert class_color("a class the model gains later") not in colours


def test_buckets_cover_the_period_hour_by_hour_or_day_by_day() -> None:
    hours = bucket_starts(summary())
    assert hours[0] == datetime(2026, 11, 27, 9, tzinfo=UTC)
    assert hours[-1] == datetime(2026, 11, 29, 9, tzinfo=UTC)
    assert len(hours) == 49
    days = bucket_starts(summary(bucket="day"))
    assert days == [datetime(2026, 11, day, tzinfo=UTC) for day in (27, 28, 29)]


def test_a_week_names_every_day_and_the_legend_sits_under_the_title() -> None:
    week = summary(bucket="day", since=T0 - timedelta(days=7))
    for chart in (predictions_chart(week), feedback_chart(week)):
        assert chart["xAxis"]["data"][-1] == "11-29"  # today's bar has its name
        assert chart["xAxis"]["axisLabel"]["interval"] == 0
    options = predictions_chart(week)
    assert options["legend"]["top"] > 0 == options["title"]["top"]
    # 49 hours are too many names for the card: echarts picks which to show.
    assert "axisLabel" not in predictions_chart(summary())["xAxis"]


def test_a_p_value_is_drawn_so_that_drift_stands_above_the_line() -> None:
    drifted = ColumnTest(
        column="brightness",
        test="ks",
        statistic=0.4,
        p_value=1e-4,
        adjusted_p_value=1e-3,
        threshold=0.05,
        drifted=True,
    )
    point = drift_point(drifted)
    assert (point.value, point.threshold, point.scale) == (3.0, 1.301, P_SCALE)
    assert point.value is not None
    assert point.threshold is not None
    assert point.value > point.threshold
    underflow = drift_point(drifted.model_copy(update={"adjusted_p_value": 0.0}))
    assert underflow.value == 16.0  # drawn at the floor, not at infinity
    raw = drift_point(drifted.model_copy(update={"adjusted_p_value": None}))
    assert raw.value == 4.0  # no adjusted p-value: the p-value itself


def test_a_distance_is_drawn_as_it_is() -> None:
    test = ColumnTest(
        column="embedding",
        test="mmd",
        statistic=0.12,
        p_value=None,
        adjusted_p_value=None,
        threshold=0.08,
        drifted=True,
    )
    assert drift_point(test) == DriftPoint(0.12, 0.08, DISTANCE_SCALE)
    nothing = drift_point(test.model_copy(update={"statistic": None}))
    assert nothing.value is None


def report(*windows: list[ColumnTest]) -> DriftReport:
    return DriftReport.model_validate(
        {
            "run_id": "r",
            "created_at": T0,
            "correction": "fdr_bh",
            "alpha": 0.05,
            "windows": [
                {
                    "index": index,
                    "start": T0,
                    "end": T0,
                    "predictions": 100,
                    "model_version": "3",
                    "tests": [test.model_dump() for test in tests],
                    "drifted": any(test.drifted for test in tests),
                }
                for index, tests in enumerate(windows)
            ],
            "drifted": True,
            "decision": {"retrain": False, "reasons": ["cooldown: 3 of 7 days"]},
        }
    )


def test_a_column_missing_from_a_window_leaves_a_gap() -> None:
    ks = ColumnTest(
        column="hue",
        test="ks",
        statistic=0.1,
        p_value=0.5,
        adjusted_p_value=0.5,
        threshold=0.05,
        drifted=False,
    )
    chart = drift_chart(report([ks], []), "hue")
    bars, line = (series["data"] for series in chart["series"])
    assert [bar["value"] for bar in bars] == [0.301, None]
    assert line == [1.301, None]
    assert chart["xAxis"]["data"] == ["#0 v3", "#1 v3"]


def test_drift_rows_put_drifted_columns_first_with_their_note() -> None:
    ok = ColumnTest(
        column="hue",
        test="ks",
        statistic=0.1,
        p_value=0.5,
        adjusted_p_value=0.5,
        threshold=0.05,
        drifted=False,
    )
    bad = ColumnTest(
        column="label",
        test="binomial",
        statistic=None,
        p_value=1e-5,
        adjusted_p_value=2e-5,
        threshold=0.05,
        drifted=True,
        note="expected count < 5: exact binomial test",
    )
    rows = drift_rows(report([ok, bad]))
    assert [(row["column"], row["verdict"]) for row in rows] == [("label", "drifted"), ("hue", "ok")]
    assert rows[0]["statistic"] == "—"
    assert rows[0]["note"] == "expected count < 5: exact binomial test"


def test_run_rows_say_the_decision_and_its_reasons() -> None:
    runs = [
        MonitoringRun(id="a", started_at=T0, drifted=True, retrain=True, forced=True, reasons=["--force"]),
        MonitoringRun(id="b", started_at=T0, drifted=False, retrain=False, reasons=[]),
    ]
    rows = run_rows(runs)
    assert [(row["verdict"], row["decision"], row["reasons"]) for row in rows] == [
        ("drifted", "retrain (forced)", "--force"),
        ("no drift", "no", "—"),
    ]
    assert rows[0]["started_at"] == "2026-11-29 09:30:00 UTC"


@pytest.mark.parametrize(
    ("changes", "days", "text", "empty"),
    [
        (
            {},
            7,
            "No predictions in the last 7 days and no monitoring run yet: classify a few photos, "
            "then run `python run.py --pipeline monitoring`.",
            True,
        ),
        (
            {"runs": [{"id": "a", "started_at": T0, "drifted": False, "retrain": False}]},
            1,
            "0 predictions in the last day; no feedback yet.",
            True,
        ),
        (
            {"predictions": 12, "feedback": [{"start": T0, "labelled": 4, "correct": 3, "accuracy": 0.75}]},
            30,
            "12 predictions in the last 30 days; 4 feedback answers, 75.0 % right.",
            False,
        ),
    ],
)
def test_headline(changes: dict[str, object], days: int, text: str, empty: bool) -> None:
    line = headline(summary(**changes), days)
    assert (line.text, line.empty) == (text, empty)
