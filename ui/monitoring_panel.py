"""The Monitoring tab: production activity, the latest drift report and the retrain decisions.

It reads the API's /monitoring/... endpoints with the web app's `monitor` key (a role that reads
aggregates only); the charts' options and the tables' rows come from `ui.monitoring_charts`.
The whylogs HTML report opens through the web app's own route (`ui.report_route`), which adds the
key on the server side: the browser never holds it.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Final

from nicegui import events, ui

from ui.api_client import ApiClient, ApiFailure, ApiUnavailable
from ui.config import WebAppConfig
from ui.monitoring_charts import (
    DRIFT_COLUMNS,
    RUN_COLUMNS,
    RUN_COMMAND,
    confidence_chart,
    drift_chart,
    drift_columns,
    drift_rows,
    feedback_chart,
    headline,
    predictions_chart,
    report_headline,
    run_rows,
)
from ui.monitoring_models import DriftReport, MonitoringSummary
from ui.report_route import report_path

PERIODS: Final = {1: "Last day", 7: "Last 7 days", 30: "Last 30 days", 90: "Last 90 days"}
NO_KEY: Final = (
    "The Monitoring page has no monitoring key: an operator must set GREENR_UI_MONITORING_API_KEY "
    "(a key with the monitor role) or run python -m greenr.api.keys setup-local, then restart the web app."
)


def monitoring_client(config: WebAppConfig) -> ApiClient | None:
    """The client of the Monitoring page, with the monitoring key; None without one."""
    if config.monitoring_api_key is None:
        return None
    return ApiClient(
        config.api_url,
        api_key=config.monitoring_api_key,
        timeouts=config.timeouts,
        key_setting="GREENR_UI_MONITORING_API_KEY",
    )


class MonitoringPanel:
    """The elements of the Monitoring tab and the callbacks that fill them."""

    def __init__(self, api: ApiClient | None, on_unavailable: Callable[[str], None]) -> None:
        self.api = api
        self.on_unavailable = on_unavailable
        self.days = 7
        with ui.row().classes("w-full items-center gap-3"):
            ui.select(PERIODS, value=self.days, on_change=self._on_days).props("dense outlined").mark(
                "monitoring-days"
            )
            ui.button("Refresh", icon="refresh", on_click=self.load).mark("monitoring-refresh")
            self.headline = ui.label("").classes("text-subtitle1").mark("monitoring-headline")
        self.notice = ui.label("").classes("text-red-9").mark("monitoring-notice")
        self.charts = ui.column().classes("w-full gap-2").mark("monitoring-charts")
        ui.separator()
        ui.label("Drift").classes("text-h6")
        self.drift = ui.column().classes("w-full gap-2").mark("monitoring-drift")
        ui.separator()
        ui.label("Monitoring runs and retrain decisions").classes("text-h6")
        self.runs_table = ui.table(columns=RUN_COLUMNS, rows=[], row_key="id").classes("w-full")
        self.runs_table.mark("runs-table")

    async def _on_days(self, event: events.ValueChangeEventArguments[Any]) -> None:
        value = event.value
        if isinstance(value, int):
            self.days = value
            await self.load()

    async def load(self) -> None:
        """Ask the API for the period's activity and the latest report, and draw them."""
        self.notice.set_text("")
        if self.api is None:
            self._failed(NO_KEY)
            return
        try:
            summary = await self.api.monitoring_summary(days=self.days)
        except ApiFailure as failure:
            if isinstance(failure, ApiUnavailable):
                self.on_unavailable(failure.message)
            self._failed(failure.message)
            return
        self._show_summary(summary)
        await self._show_latest_report(summary)

    def _failed(self, message: str) -> None:
        self.notice.set_text(message)
        self.headline.set_text("Monitoring data not loaded.")
        self.charts.clear()
        self.drift.clear()
        self.runs_table.rows = []

    def _show_summary(self, summary: MonitoringSummary) -> None:
        line = headline(summary, self.days)
        self.headline.set_text(line.text)
        self.charts.clear()
        with self.charts:
            if line.empty:
                with ui.card().classes("w-full bg-grey-2").mark("monitoring-empty"):
                    ui.label(
                        f"No predictions in this period. Classify a few photos, then run `{RUN_COMMAND}`."
                    )
                    ui.label(RUN_COMMAND).classes("font-mono text-weight-bold")
            else:
                with ui.row().classes("w-full no-wrap gap-2"):
                    _chart(predictions_chart(summary), "chart-predictions", "w-1/2 h-64")
                    _chart(confidence_chart(summary), "chart-confidence", "w-1/2 h-64")
                _chart(feedback_chart(summary), "chart-feedback", "w-full h-56")
        self.runs_table.rows = run_rows(summary.runs)

    async def _show_latest_report(self, summary: MonitoringSummary) -> None:
        self.drift.clear()
        run_id = summary.latest_report_run_id
        if run_id is None or self.api is None:
            with self.drift:
                ui.label(f"No drift report yet: after a few predictions, run `{RUN_COMMAND}`.").mark(
                    "drift-empty"
                )
            return
        try:
            report = await self.api.drift_report(run_id)
        except ApiFailure as failure:
            with self.drift:
                ui.label(f"The latest drift report cannot be shown: {failure.message}").classes(
                    "text-red-9"
                ).mark("drift-error")
            return
        self._show_report(report)

    def _show_report(self, report: DriftReport) -> None:
        with self.drift:
            ui.label(report_headline(report)).mark("drift-headline")
            if report.html_key is not None:
                ui.link("Open the whylogs drift report", report_path(report.run_id), new_tab=True).mark(
                    "drift-report-link"
                )
            ui.label(
                "Each column, window by window: -log10 of the adjusted p-value (or the distance, for "
                "tests without a p-value) against its threshold (dashed): a bar above the line drifted (red)."
            ).classes("text-caption text-grey-8")
            with ui.grid(columns=3).classes("w-full gap-2"):
                for column in drift_columns(report):
                    _chart(drift_chart(report, column), "chart-drift", "w-full h-48")
            ui.table(columns=DRIFT_COLUMNS, rows=drift_rows(report), row_key="key", pagination=10).classes(
                "w-full"
            ).mark("drift-table")


def _chart(options: dict[str, object], marker: str, classes: str) -> ui.echart:
    # SVG: the charts' texts (legend, axes) are in the page, where a reader's tools can find them.
    return ui.echart(options, renderer="svg").classes(classes).mark(marker)
