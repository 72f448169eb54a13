"""The few lines a person reads after a monitoring run (the JSON decision line comes after them)."""

from __future__ import annotations

from greenr.monitoring.collect import CollectedLog
from greenr.monitoring.comparison import compared, is_skipped
from greenr.monitoring.report import DriftReport, WindowReport


def _window_line(window: WindowReport) -> str:
    head = (
        f"  window {window.index}: {window.model_name} v{window.model_version}, "
        f"{window.predictions} predictions {window.start:%Y-%m-%d %H:%M} .. {window.end:%Y-%m-%d %H:%M}: "
    )
    if is_skipped(window.tests):
        return head + f"skipped ({window.tests[0].note})"
    drifted = [test.column for test in window.tests if test.drifted]
    return head + (f"DRIFT in {', '.join(drifted)}" if drifted else f"no drift ({len(window.tests)} columns)")


def render_summary(report: DriftReport, collected: CollectedLog, report_uri: str) -> str:
    """What was read, each window's verdict, the feedback score, the decision and its reasons."""
    windowing = collected.windowing
    since = "the start of the log" if report.since is None else f"{report.since:%Y-%m-%d %H:%M:%S}"
    # A run that consumed nothing keeps the previous end (or NOTHING_YET, 1970): not a period to print.
    period = (
        f" up to {report.until:%Y-%m-%d %H:%M:%S}"
        if collected.consumed
        else ": none consumed (no complete window yet)"
    )
    lines = [
        f"Monitoring run {report.run_id}: predictions after {since}{period}",
        f"  {len(collected.consumed)} predictions read: {sum(w.predictions for w in report.windows)} in "
        f"{len(report.windows)} window(s), {collected.without_features} without features (skipped), "
        f"{windowing.leftover} left over from retired versions; "
        f"{windowing.carried} carried to the next run (an incomplete window)",
        *(_window_line(window) for window in report.windows),
    ]
    feedback = report.feedback
    if feedback is None:
        lines.append("  feedback: none on these predictions")
    else:

        def number(value: float | None) -> str:
            return "n/a" if value is None else f"{value:.3f}"

        late = f" ({feedback.late} on earlier periods' predictions, answered late)" if feedback.late else ""
        lines.append(
            f"  feedback: {feedback.labelled} labelled{late}, accuracy {number(feedback.accuracy)}, "
            f"F1 {number(feedback.f1)} (test F1 {number(feedback.test_f1)})"
        )
    verdict = "RETRAIN" if report.decision.retrain else "keep the model"
    checked = compared(report.windows)
    alone = sum(1 for window in checked if window.drifted)
    lines.append(
        f"  run verdict: {'DRIFT' if report.drifted else 'no drift'} ({alone} of {len(checked)} compared "
        f"window(s) drifted alone; the verdict corrects across windows), "
        f"{report.consecutive_drift_runs} drift run(s) in a row"
    )
    lines.append(f"  decision: {verdict}: " + "; ".join(report.decision.reasons))
    lines.append(f"  report: {report_uri}")
    return "\n".join(lines)
