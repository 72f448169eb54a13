"""The Monitoring page's charts as ECharts options, and its tables' rows: plain data, no NiceGUI.

ECharts ships with NiceGUI (no download at run time), so the page works offline.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, Final

from greenr.contracts import LABELS
from ui.history_table import format_time
from ui.monitoring_models import ColumnTest, DriftReport, MonitoringRun, MonitoringSummary
from ui.probability import DEFAULT_COLOR, format_percent, label_color

RUN_COMMAND: Final = "python run.py --pipeline monitoring"
# Quasar colour names (ui.probability.label_color) as the CSS colours ECharts needs.
_CSS_COLORS: Final = {"amber-8": "#ffa000", "green-7": "#388e3c", DEFAULT_COLOR: "#78909c"}
_DRIFTED: Final = "#c62828"
_WITHIN: Final = "#2e7d32"

P_SCALE: Final = "-log10 p"
DISTANCE_SCALE: Final = "distance"
P_FLOOR: Final = 1e-16
# 90 days of hours: the API's longest period at its finest bucket.
MAX_BUCKETS: Final = 90 * 24 + 1

Options = dict[str, Any]


def class_color(label: str) -> str:
    """The colour of a class in every chart, the same as its probability bar's."""
    return _CSS_COLORS.get(label_color(label), _CSS_COLORS[DEFAULT_COLOR])


def bucket_starts(summary: MonitoringSummary) -> list[datetime]:
    """Every hour or day of the period, empty ones included, so that a quiet day shows as a gap."""
    step = timedelta(hours=1) if summary.bucket == "hour" else timedelta(days=1)
    start = summary.since.astimezone(UTC).replace(minute=0, second=0, microsecond=0)
    if summary.bucket != "hour":
        start = start.replace(hour=0)
    starts: list[datetime] = []
    while start <= summary.until and len(starts) < MAX_BUCKETS:
        starts.append(start)
        start += step
    return starts


def bucket_name(moment: datetime, bucket: str) -> str:
    """An axis label: "11-28" for a day, "11-28 09:00" for an hour (UTC)."""
    moment = moment.astimezone(UTC)
    return f"{moment:%m-%d}" if bucket != "hour" else f"{moment:%m-%d %H:00}"


def _heading(title: str, labels: list[str] | None = None) -> Options:
    """Title at the top left, the class legend on a line of its own below it, the plot under both.

    On a half-width card the legend at the title's height covered the title (seen in Chromium).
    """
    heading: Options = {"title": {"text": title, "left": 0, "top": 0, "textStyle": {"fontSize": 14}}}
    if labels is not None:
        heading["legend"] = {"data": labels, "top": 24, "right": 0}
        heading["grid"] = {"top": 84}
    return heading


EVERY_LABEL_UP_TO = 14
"""Up to this many buckets, every one is named on the axis (slanted): left to itself, echarts
skipped every other day on a half-width card, today's bar included."""


def _time_axis(starts: list[datetime], bucket: str) -> Options:
    axis: Options = {"type": "category", "data": [bucket_name(start, bucket) for start in starts]}
    if len(starts) <= EVERY_LABEL_UP_TO:
        axis["axisLabel"] = {"interval": 0, "rotate": 30}
    return axis


def predictions_chart(summary: MonitoringSummary) -> Options:
    """Stacked bars: predictions per class per hour or day (UTC)."""
    starts = bucket_starts(summary)
    position = {start: index for index, start in enumerate(starts)}
    labels = sorted({item.label for item in summary.per_class}, key=_label_order)
    counts = {label: [0] * len(starts) for label in labels}
    for item in summary.per_class:
        index = position.get(item.start.astimezone(UTC))
        if index is not None:
            counts[item.label][index] += item.count
    return {
        **_heading(f"Predictions per {summary.bucket} (UTC)", labels),
        "tooltip": {"trigger": "axis"},
        "xAxis": _time_axis(starts, summary.bucket),
        "yAxis": {"type": "value", "name": "predictions", "minInterval": 1},
        "series": [
            {
                "name": label,
                "type": "bar",
                "stack": "classes",
                "itemStyle": {"color": class_color(label)},
                "data": counts[label],
            }
            for label in labels
        ],
    }


def confidence_chart(summary: MonitoringSummary) -> Options:
    """Stacked bars: how many predictions per confidence bin, per class."""
    bins = [f"{item.low:.2f}–{item.high:.2f}" for item in summary.confidence]
    labels = sorted({label for item in summary.confidence for label in item.counts}, key=_label_order)
    series = [
        {
            "name": label,
            "type": "bar",
            "stack": "classes",
            "itemStyle": {"color": class_color(label)},
            "data": [item.counts.get(label, 0) for item in summary.confidence],
        }
        for label in labels
    ]
    return {
        **_heading("Confidence", labels),
        "tooltip": {"trigger": "axis"},
        "xAxis": {"type": "category", "data": bins, "axisLabel": {"rotate": 30}},
        "yAxis": {"type": "value", "name": "predictions", "minInterval": 1},
        "series": series,
    }


def feedback_chart(summary: MonitoringSummary) -> Options:
    """Accuracy of the predictions that got feedback, per hour or day (none: no point)."""
    starts = bucket_starts(summary)
    position = {start: index for index, start in enumerate(starts)}
    accuracy: list[float | None] = [None] * len(starts)
    for point in summary.feedback:
        index = position.get(point.start.astimezone(UTC))
        if index is not None:
            accuracy[index] = round(point.accuracy, 4)
    return {
        **_heading("Feedback accuracy"),
        "tooltip": {"trigger": "axis"},
        "xAxis": _time_axis(starts, summary.bucket),
        "yAxis": {"type": "value", "min": 0, "max": 1, "name": "accuracy"},
        "series": [
            {
                "name": "accuracy",
                "type": "line",
                "connectNulls": True,
                "itemStyle": {"color": _WITHIN},
                "data": accuracy,
            }
        ],
    }


@dataclass(frozen=True)
class DriftPoint:
    """A test drawn so that "above the threshold line" always means drifted.

    A p-value is drawn as -log10(p) against -log10(threshold) (a small p is a tall bar); a
    distance (a test without a p-value) as it is, against its threshold.
    """

    value: float | None
    threshold: float | None
    scale: str


def drift_point(test: ColumnTest) -> DriftPoint:
    """Where one column's test of one window is drawn."""
    p_value = test.adjusted_p_value if test.adjusted_p_value is not None else test.p_value
    if p_value is not None:
        return DriftPoint(_minus_log10(p_value), _minus_log10(test.threshold), P_SCALE)
    return DriftPoint(
        None if test.statistic is None else round(test.statistic, 4), test.threshold, DISTANCE_SCALE
    )


def drift_columns(report: DriftReport) -> list[str]:
    """The report's columns, in the order of its first window."""
    seen: dict[str, None] = {}
    for window in report.windows:
        for test in window.tests:
            seen.setdefault(test.column, None)
    return list(seen)


def window_name(index: int, model_version: str) -> str:
    return f"#{index} v{model_version}"


def drift_chart(report: DriftReport, column: str) -> Options:
    """One column, window by window: bars (red when drifted) against the dashed threshold."""
    names: list[str] = []
    values: list[Options] = []
    thresholds: list[float | None] = []
    kinds: set[str] = set()
    scales: set[str] = set()
    for window in report.windows:
        names.append(window_name(window.index, window.model_version))
        test = next((item for item in window.tests if item.column == column), None)
        if test is None:
            values.append({"value": None})
            thresholds.append(None)
            continue
        point = drift_point(test)
        kinds.add(test.test)
        scales.add(point.scale)
        values.append({"value": point.value, "itemStyle": {"color": _DRIFTED if test.drifted else _WITHIN}})
        thresholds.append(point.threshold)
    return {
        "title": {
            "text": column,
            "subtext": ", ".join(sorted(kinds)),
            "textStyle": {"fontSize": 13},
            "subtextStyle": {"fontSize": 11},
        },
        "tooltip": {"trigger": "axis"},
        "grid": {"top": 50, "bottom": 30, "left": 50, "right": 10},
        "xAxis": {"type": "category", "data": names},
        "yAxis": {"type": "value", "min": 0, "name": " / ".join(sorted(scales))},
        "series": [
            {"name": "value", "type": "bar", "data": values},
            {
                "name": "threshold",
                "type": "line",
                "step": "middle",
                "symbol": "none",
                "lineStyle": {"type": "dashed", "color": _DRIFTED},
                "data": thresholds,
            },
        ],
    }


DRIFT_COLUMNS: list[Options] = [
    {"name": "window", "label": "Window", "field": "window", "align": "left"},
    {"name": "column", "label": "Column", "field": "column", "align": "left"},
    {"name": "test", "label": "Test", "field": "test", "align": "left"},
    {"name": "statistic", "label": "Statistic", "field": "statistic", "align": "right"},
    {"name": "p_value", "label": "p-value", "field": "p_value", "align": "right"},
    {"name": "adjusted", "label": "Adjusted p", "field": "adjusted", "align": "right"},
    {"name": "threshold", "label": "Threshold", "field": "threshold", "align": "right"},
    {"name": "verdict", "label": "Verdict", "field": "verdict", "align": "left"},
    {"name": "note", "label": "Note", "field": "note", "align": "left"},
]


def drift_rows(report: DriftReport) -> list[Options]:
    """Every column of every window, drifted ones first."""
    rows = [
        {
            "key": f"{window.index}/{test.column}",
            "window": window_name(window.index, window.model_version),
            "column": test.column,
            "test": test.test,
            "statistic": _number(test.statistic),
            "p_value": _number(test.p_value),
            "adjusted": _number(test.adjusted_p_value),
            "threshold": _number(test.threshold),
            "verdict": "drifted" if test.drifted else "ok",
            "note": test.note or "",
        }
        for window in report.windows
        for test in window.tests
    ]
    return sorted(rows, key=lambda row: row["verdict"] != "drifted")


RUN_COLUMNS: list[Options] = [
    {"name": "started_at", "label": "Run", "field": "started_at", "align": "left"},
    {"name": "predictions", "label": "Predictions", "field": "predictions", "align": "right"},
    {"name": "verdict", "label": "Drift", "field": "verdict", "align": "left"},
    {"name": "decision", "label": "Retrain", "field": "decision", "align": "left"},
    {"name": "reasons", "label": "Reasons", "field": "reasons", "align": "left"},
]


def run_rows(runs: Sequence[MonitoringRun]) -> list[Options]:
    """The monitoring runs, newest first: verdict, retrain decision and its reasons."""
    return [
        {
            "id": run.id,
            "started_at": format_time(run.started_at),
            "predictions": run.predictions,
            "verdict": "drifted" if run.drifted else "no drift",
            "decision": ("retrain (forced)" if run.forced else "retrain") if run.retrain else "no",
            "reasons": "; ".join(run.reasons) or "—",
        }
        for run in runs
    ]


@dataclass(frozen=True)
class Headline:
    """The line above the charts: what the period holds, or what to do when it holds nothing."""

    text: str
    empty: bool


def headline(summary: MonitoringSummary, days: int) -> Headline:
    """ "N predictions in the last D days …", or the empty state that says what to run."""
    period = "the last day" if days == 1 else f"the last {days} days"
    if summary.predictions == 0 and not summary.runs:
        return Headline(
            f"No predictions in {period} and no monitoring run yet: classify a few photos, "
            f"then run `{RUN_COMMAND}`.",
            empty=True,
        )
    labelled = sum(point.labelled for point in summary.feedback)
    right = sum(point.correct for point in summary.feedback)
    feedback = (
        f"{labelled} feedback answers, {format_percent(right / labelled)} right"
        if labelled
        else "no feedback yet"
    )
    return Headline(
        f"{summary.predictions} predictions in {period}; {feedback}.", empty=summary.predictions == 0
    )


def report_headline(report: DriftReport) -> str:
    """One line on the latest report: drifted windows, consecutive drift runs, the decision."""
    drifted = sum(window.drifted for window in report.windows)
    decision = "retrain" if report.decision.retrain else "no retraining"
    text = (
        f"Run {report.run_id} ({format_time(report.created_at)}): {drifted} of {len(report.windows)} windows "
        f"drifted ({report.correction}, α = {report.alpha:g}); run verdict: "
        f"{'drift' if report.drifted else 'no drift'}; {report.consecutive_drift_runs} consecutive "
        f"drift runs; decision: {decision}."
    )
    if report.feedback is not None and report.feedback.accuracy is not None:
        test_f1 = "" if report.feedback.test_f1 is None else f" (test F1 {report.feedback.test_f1:.2f})"
        f1 = "" if report.feedback.f1 is None else f", F1 {report.feedback.f1:.2f}{test_f1}"
        text += (
            f" Feedback: {report.feedback.labelled} labelled, accuracy "
            f"{format_percent(report.feedback.accuracy)}{f1}."
        )
    return text


def drifted_by_column(report: DriftReport) -> dict[str, int]:
    """How many windows each column drifted in."""
    counts: dict[str, int] = defaultdict(int)
    for window in report.windows:
        for test in window.tests:
            counts[test.column] += int(test.drifted)
    return dict(counts)


def _minus_log10(p_value: float) -> float:
    # A p-value of 0 (underflow) is drawn at the floor's height rather than at infinity.
    return round(-math.log10(max(p_value, P_FLOOR)), 3)


def _number(value: float | None) -> str:
    return "—" if value is None else f"{value:.3g}"


def _label_order(label: str) -> tuple[int, str]:
    return (LABELS.index(label) if label in LABELS else len(LABELS), label)
