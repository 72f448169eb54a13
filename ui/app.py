"""The web app's page: classify one photo or many, browse the history, give feedback, monitor.

`create_root(config)` returns the page function that `ui.run` (and the tests'
`nicegui.testing.user_simulation`) serves at "/"; `run(config, host=..., port=...)` serves it.
Callbacks here only move data between the page and `ui.api_client`; formatting, limits and
feedback rules live in their own modules. Nothing happens on import.

Failures never reach the user as a traceback: an unreachable or unready API (connection
refused, timeout, 503) shows a banner in plain words with a Retry button, and an error the API
returns for a request ("file too large", ...) is shown as the API words it.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable
from datetime import datetime
from typing import Any

from nicegui import events, ui

from greenr.contracts import LABELS
from ui.api_client import (
    ApiClient,
    ApiError,
    ApiFailure,
    ApiUnavailable,
    FeedbackResult,
    HistoryItem,
    Prediction,
    UploadedFile,
)
from ui.batch_table import COLUMNS as BATCH_COLUMNS
from ui.batch_table import batch_csv, batch_rows, batch_summary, csv_filename
from ui.config import WebAppConfig
from ui.explanation_toggle import ExplanationToggle
from ui.feedback import NEITHER, answer_choices, feedback_message, neither_title, reason_detail
from ui.history_table import COLUMNS as HISTORY_COLUMNS
from ui.history_table import Pager, history_rows
from ui.monitoring_panel import MonitoringPanel, monitoring_client
from ui.preview import preview_data_url
from ui.probability import format_percent, label_color, probability_bars
from ui.report_route import install_report_route
from ui.upload_limits import human_size, refusals, rejection_message

TITLE = "greenr — dandelion or grass"
# Quasar's "rejected" event carries File objects, which serialise to {}: keep what the message needs.
REJECTED_JS_HANDLER = (
    "(entries) => emit(entries.map((entry) => "
    "({name: entry.file.name, size: entry.file.size, reason: entry.failedPropValidation})))"
)
# Used for "wrong" when a prediction carries no probabilities and /model/info has not answered.
DEFAULT_LABELS: tuple[str, ...] = LABELS

Action = Callable[[], Awaitable[None]]


def create_root(config: WebAppConfig) -> Callable[[], None]:
    """The page function for "/": each browser tab gets its own page and state."""

    def root() -> None:
        WebPage(config, ApiClient(config.api_url, api_key=config.api_key, timeouts=config.timeouts))

    return root


def run(config: WebAppConfig, *, host: str, port: int) -> None:
    """Serve the web app until interrupted (no auto-reload, no browser opened)."""
    install_report_route(monitoring_client(config))
    ui.run(
        create_root(config),
        host=host,
        port=port,
        title=TITLE,
        favicon="🌼",
        reload=False,
        show=False,
        # Bounds how long a stop waits for open browser connections and running callbacks.
        timeout_graceful_shutdown=5,
        # ui/__main__.py logs the address as a JSON line; NiceGUI's welcome is a plain print.
        show_welcome_message=False,
        # uvicorn installs no plain-text handlers: its records reach the JSON ones (greenr/json_logging.py).
        log_config=None,
    )


def _uploaded(name: str, data: bytes, content_type: str) -> UploadedFile:
    # Browsers send an empty type for files they do not recognise; the API then sniffs the bytes.
    return UploadedFile(name, data, content_type or "application/octet-stream")


class WebPage:
    """The elements of one browser tab's page and the callbacks that drive them."""

    def __init__(self, config: WebAppConfig, api: ApiClient) -> None:
        self.config = config
        self.api = api
        self.labels: tuple[str, ...] = DEFAULT_LABELS
        self._retry_action: Action | None = None
        self._batch: list[Prediction] = []
        self._history: dict[str, HistoryItem] = {}
        self._pager = Pager(offset=0, limit=config.history_page_size, total=0)

        ui.page_title(TITLE)
        ui.colors(primary="#2e7d32")  # the header's green, for buttons and uploaders alike
        # Quasar's uploader header shows "0.0B / 0.00%" between uploads: noise next to our own labels.
        ui.add_css(".q-uploader__subtitle { display: none; }")
        self._build_header()
        with ui.column().classes("w-full max-w-5xl mx-auto p-4 gap-4"):
            self._build_banner()
            with ui.tabs().classes("w-full") as tabs:
                single_tab = ui.tab("One photo", icon="image")
                ui.tab("Many photos", icon="collections")
                self._history_tab = ui.tab("History", icon="history")
                self._monitoring_tab = ui.tab("Monitoring", icon="insights")
            tabs.on_value_change(self._on_tab_change)
            with ui.tab_panels(tabs, value=single_tab).classes("w-full"):
                with ui.tab_panel(single_tab):
                    self._build_single_panel()
                with ui.tab_panel("Many photos"):
                    self._build_batch_panel()
                with ui.tab_panel(self._history_tab):
                    self._build_history_panel()
                with ui.tab_panel(self._monitoring_tab).mark("monitoring-panel"):
                    self.monitoring = MonitoringPanel(monitoring_client(config), self._show_unavailable)
        # Once the browser is connected, not while building: a slow API must not delay the page.
        ui.timer(0, self.refresh_status, once=True)

    # ------------------------------------------------------------------ header and API status

    def _build_header(self) -> None:
        with ui.header().classes("items-center justify-between bg-green-9 px-4 py-2"):
            with ui.row().classes("items-baseline gap-3"):
                ui.label("greenr").classes("text-h5 text-weight-bold")
                ui.label("dandelion or grass?").classes("text-subtitle1 opacity-80")
            with ui.row().classes("items-center gap-3"):
                self.model_label = ui.label("Model: …").mark("model-version")
                ui.button("Model card", icon="description", on_click=self.show_model_card).props(
                    "flat dense color=white no-caps"
                ).mark("model-card-button")
                self.status_chip = ui.chip("API: checking…", icon="hourglass_empty", color="grey-5")
                self.status_chip.mark("api-status")

    def _build_banner(self) -> None:
        self.banner = ui.card().classes("w-full bg-red-1 border-l-4 border-red-700").mark("api-banner")
        with self.banner, ui.row().classes("w-full items-center no-wrap gap-4"):
            ui.icon("cloud_off", color="red-8", size="md")
            with ui.column().classes("grow gap-0"):
                self.banner_title = ui.label("The prediction service is unavailable.")
                self.banner_title.classes("text-subtitle1 text-weight-bold text-red-10")
                self.banner_text = ui.label("").mark("api-banner-message")
            ui.button("Retry", icon="refresh", on_click=self.retry, color="red-8").mark("retry")
        self.banner.set_visibility(False)

    async def refresh_status(self) -> bool:
        """Ask the API for its health and model; show the banner unless it is ready."""
        try:
            health = await self.api.health()
        except ApiFailure as failure:
            self._show_unavailable(failure.message)
            self.model_label.set_text("Model: unknown")
            return False
        if not health.ready:
            self._set_status("API not ready", "warning", "orange-8")
            self._show_banner(
                "The prediction API runs but cannot classify photos yet "
                f"(status: {health.status}); its model server may still be starting.",
                title="The prediction service is not ready.",
            )
        else:
            self._set_status("API ready", "check_circle", "green-6")
            self.banner.set_visibility(False)
        try:
            info = await self.api.model_info()
        except ApiFailure:
            self.model_label.set_text("Model: unknown")
        else:
            alias = f" ({info.alias})" if info.alias else ""
            self.model_label.set_text(f"Model: {info.name} v{info.version}{alias}")
            if len(info.labels) == 2:
                self.labels = tuple(info.labels)
        return health.ready

    async def show_model_card(self) -> None:
        """Open the served version's model card (what it was trained on, how well it does, its limits)."""
        try:
            text = await self.api.model_card()
        except ApiFailure as failure:
            text = f"**The model card cannot be shown.** {failure.message}"
        with ui.dialog() as dialog, ui.card().classes("w-full max-w-4xl"):
            ui.markdown(text).classes("w-full").mark("model-card")
            ui.button("Close", on_click=dialog.close).props("flat")
        dialog.open()

    async def retry(self) -> None:
        """Check the API again; when it is back, redo what failed (if anything did)."""
        if not await self.refresh_status():
            return
        action, self._retry_action = self._retry_action, None
        if action is not None:
            await action()

    def _show_unavailable(self, message: str, retry: Action | None = None) -> None:
        self._set_status("API down", "error", "red-7")
        self._show_banner(message, title="The prediction service is unavailable.")
        if retry is not None:
            self._retry_action = retry

    def _predictions_work(self) -> None:
        # A prediction just succeeded: whatever the banner said has passed, even without Retry.
        if self.banner.visible:
            self.banner.set_visibility(False)
            self._set_status("API ready", "check_circle", "green-6")
            self._retry_action = None

    def _show_banner(self, message: str, *, title: str) -> None:
        self.banner_title.set_text(title)
        self.banner_text.set_text(message)
        self.banner.set_visibility(True)

    def _set_status(self, text: str, icon: str, color: str) -> None:
        self.status_chip.set_text(text)
        self.status_chip.props(f'icon="{icon}" color="{color}"')

    # ------------------------------------------------------------------ one photo

    def _build_single_panel(self) -> None:
        limit = human_size(self.config.max_upload_bytes)
        with ui.row().classes("w-full gap-6 items-start no-wrap"):
            with ui.column().classes("gap-1"):
                upload = ui.upload(
                    label="Drop a photo here, or press +",
                    auto_upload=True,
                    max_file_size=self.config.max_upload_bytes,
                    on_upload=self._on_single_upload,
                )
                upload.props('accept="image/*" flat bordered').classes("w-72").mark("single-upload")
                upload.on("rejected", self._on_rejected, js_handler=REJECTED_JS_HANDLER)
                ui.label(f"One photo, up to {limit}.").classes("text-caption text-grey-7")
            self.single_result = ui.column().classes("grow gap-3").mark("single-result")
        self.single_notice = ui.label("").classes("text-orange-10").mark("single-notice")

    async def _on_single_upload(self, event: events.UploadEventArguments) -> None:
        data = await event.file.read()
        event.sender.run_method("reset")  # so that the next photo can be dropped at once
        self.single_notice.set_text("")
        problems = refusals(
            [(event.file.name, len(data))], max_bytes=self.config.max_upload_bytes, max_files=1
        )
        if problems:
            self.single_notice.set_text(" ".join(problems))
            return
        await self._classify_single(_uploaded(event.file.name, data, event.file.content_type))

    async def _classify_single(self, upload: UploadedFile) -> None:
        self.single_result.clear()
        with self.single_result, ui.row().classes("items-center gap-2"):
            ui.spinner(size="md")
            ui.label(f"Classifying {upload.name}…")
        try:
            response = await self.api.predict([upload])
        except ApiUnavailable as failure:
            self._show_unavailable(failure.message, retry=lambda: self._classify_single(upload))
            self._single_message(f"{upload.name} was not classified: the prediction service is unavailable.")
            return
        except ApiError as failure:
            self._single_message(failure.message)
            return
        if not response.predictions:
            self._single_message(f"The prediction API returned no result for {upload.name}.")
            return
        self._predictions_work()
        self._show_single(upload, response.predictions[0])

    def _single_message(self, text: str) -> None:
        self.single_result.clear()
        with self.single_result:
            ui.label(text).classes("text-red-9").mark("single-error")

    def _show_single(self, upload: UploadedFile, prediction: Prediction) -> None:
        self.single_result.clear()
        with self.single_result, ui.row().classes("w-full gap-6 items-start no-wrap"):
            preview = preview_data_url(upload.content)
            if preview is None:
                ui.icon("broken_image", size="xl", color="grey-6")
            else:
                with ui.column().classes("gap-1"):
                    image = ui.image(preview).classes("w-64 rounded-borders shadow-2").props("fit=contain")
                    if prediction.id is not None and prediction.error is None:
                        ExplanationToggle(self.api, image, str(prediction.id), preview)
            with ui.column().classes("grow gap-2"):
                ui.label(prediction.filename).classes("text-caption text-grey-8")
                if prediction.error is not None:
                    ui.label(prediction.error.message).classes("text-red-9").mark("single-error")
                    return
                label = prediction.label or "—"
                ui.label(label).classes(
                    f"text-h4 text-weight-bold text-{label_color(prediction.label)}"
                ).mark("predicted-label")
                if prediction.label == NEITHER:
                    # Open-set rejection: the photo looks unlike the classes; the bars still show
                    # what the model would have said.
                    title = neither_title(self.labels)
                    ui.label(title).classes("text-h6").mark("neither-title")
                    detail = reason_detail(prediction.reason, title)
                    if detail:
                        ui.label(detail).classes("text-body2 text-grey-8").mark("neither-reason")
                ui.label(f"Confidence {format_percent(prediction.confidence)}").classes("text-subtitle1")
                self._probability_bars(prediction.probabilities)
                details = [f"model v{prediction.model_version}" if prediction.model_version else ""]
                if prediction.latency_ms is not None:
                    details.append(f"{prediction.latency_ms:.0f} ms")
                ui.label(" · ".join(part for part in details if part)).classes("text-caption text-grey-7")
                self._feedback_row(prediction)

    def _probability_bars(self, probabilities: dict[str, float]) -> None:
        with ui.column().classes("w-full gap-1").mark("probabilities"):
            for bar in probability_bars(probabilities):
                with ui.row().classes("w-full items-center no-wrap gap-2"):
                    ui.label(bar.label).classes("w-24")
                    ui.linear_progress(bar.value, show_value=False, size="14px", color=bar.color).classes(
                        "grow rounded-borders"
                    )
                    ui.label(bar.text).classes("w-16 text-right")

    def _answer_buttons(self, labels: Iterable[str], marker: str) -> dict[str, ui.button]:
        """A button per answer a person may give (each class, then "neither"), marked `<marker>-<answer>`."""
        return {
            answer: ui.button(answer.capitalize(), color=label_color(answer)).mark(f"{marker}-{answer}")
            for answer in answer_choices(labels)
        }

    def _feedback_row(self, prediction: Prediction) -> None:
        with ui.row().classes("items-center gap-2"):
            ui.label("What does it show?")
            choices = self._answer_buttons(self._labels_of(prediction.probabilities), "feedback")
        note = ui.label("").mark("feedback-note")
        buttons = tuple(choices.values())

        async def send(answer: str) -> None:
            await self._send_feedback(prediction.id, prediction.label, answer, buttons, note)

        for answer, button in choices.items():
            button.on_click(lambda answer=answer: send(answer))

    async def _send_feedback(
        self,
        prediction_id: int | str | None,
        predicted: str | None,
        label: str,
        buttons: tuple[ui.button, ...],
        note: ui.label,
    ) -> None:
        if prediction_id is None:
            note.set_text("This prediction was not stored, so feedback cannot be recorded.")
            return
        for button in buttons:
            button.disable()
        try:
            result = await self.api.feedback(prediction_id, label)
        except ApiUnavailable as failure:
            self._show_unavailable(failure.message)
            note.set_text("Feedback not recorded: the prediction service is unavailable. Try again later.")
            for button in buttons:
                button.enable()
            return
        except ApiError as failure:
            note.set_text(failure.message)
            for button in buttons:
                button.enable()
            return
        note.set_text(feedback_message(result, predicted=predicted))
        self._remember_feedback(result)

    def _remember_feedback(self, result: FeedbackResult) -> None:
        # Show new feedback in the loaded history page at once, without asking the API again.
        key = str(result.prediction_id)
        item = self._history.get(key)
        if item is None:
            return
        self._history[key] = item.model_copy(update={"feedback_label": result.label})
        selected = {str(row["id"]) for row in self.history_table.selected}
        rows = history_rows(list(self._history.values()))
        self.history_table.rows = rows
        self.history_table.selected = [row for row in rows if str(row["id"]) in selected]

    def _labels_of(self, probabilities: dict[str, float]) -> tuple[str, ...]:
        return tuple(probabilities) if len(probabilities) == 2 else self.labels

    # ------------------------------------------------------------------ many photos

    def _build_batch_panel(self) -> None:
        limit = human_size(self.config.max_upload_bytes)
        count = self.config.max_batch_files
        with ui.row().classes("w-full gap-6 items-start no-wrap"):
            with ui.column().classes("gap-1"):
                upload = ui.upload(
                    label="Drop photos here, or press +",
                    multiple=True,
                    auto_upload=True,
                    max_files=count,
                    max_file_size=self.config.max_upload_bytes,
                    on_multi_upload=self._on_batch_upload,
                )
                upload.props('accept="image/*" flat bordered').classes("w-72").mark("batch-upload")
                upload.on("rejected", self._on_rejected, js_handler=REJECTED_JS_HANDLER)
                ui.label(f"Up to {count} photos at once, {limit} each.").classes("text-caption text-grey-7")
            # min-w-0 lets this column shrink below its content, so the table scrolls, not the page.
            with ui.column().classes("grow min-w-0 gap-2"):
                with ui.row().classes("w-full items-center justify-between"):
                    self.batch_summary = ui.label("No photos classified yet.").mark("batch-summary")
                    self.csv_button = ui.button(
                        "Download CSV", icon="download", on_click=self._download_csv
                    ).mark("download-csv")
                    self.csv_button.disable()
                self.batch_table = ui.table(columns=BATCH_COLUMNS, rows=[], row_key="key").classes("w-full")
                self.batch_table.mark("batch-table")
        self.batch_notice = ui.label("").classes("text-orange-10").mark("batch-notice")

    async def _on_batch_upload(self, event: events.MultiUploadEventArguments) -> None:
        event.sender.run_method("reset")
        uploads = [_uploaded(file.name, await file.read(), file.content_type) for file in event.files]
        self.batch_notice.set_text("")
        problems = refusals(
            [(upload.name, len(upload.content)) for upload in uploads],
            max_bytes=self.config.max_upload_bytes,
            max_files=self.config.max_batch_files,
        )
        if problems:
            self.batch_notice.set_text(" ".join(problems))
            uploads = [upload for upload in uploads if len(upload.content) <= self.config.max_upload_bytes]
            if not uploads or len(uploads) > self.config.max_batch_files:
                return
        await self._classify_batch(uploads)

    async def _classify_batch(self, uploads: list[UploadedFile]) -> None:
        self.batch_summary.set_text(f"Classifying {len(uploads)} photos…")
        try:
            response = await self.api.predict(uploads)
        except ApiUnavailable as failure:
            self._show_unavailable(failure.message, retry=lambda: self._classify_batch(uploads))
            self.batch_summary.set_text("Not classified: the prediction service is unavailable.")
            return
        except ApiError as failure:
            self.batch_summary.set_text(failure.message)
            return
        self._predictions_work()
        self._batch = response.predictions
        self.batch_table.rows = batch_rows(self._batch)
        self.batch_summary.set_text(batch_summary(self._batch, self.labels))
        self.csv_button.enable()

    def _download_csv(self) -> None:
        ui.download.content(batch_csv(self._batch).encode("utf-8"), csv_filename(datetime.now()), "text/csv")

    def _on_rejected(self, event: events.GenericEventArguments) -> None:
        entries: list[Any] = event.args if isinstance(event.args, list) else []
        message = rejection_message(
            [entry for entry in entries if isinstance(entry, dict)],
            max_bytes=self.config.max_upload_bytes,
            max_files=self.config.max_batch_files,
        )
        notice = self.batch_notice if event.sender.props.get("multiple") else self.single_notice
        notice.set_text(message)

    # ------------------------------------------------------------------ history

    def _build_history_panel(self) -> None:
        with ui.row().classes("w-full items-center gap-2"):
            ui.button("Refresh", icon="refresh", on_click=lambda: self.load_history(self._pager.offset)).mark(
                "history-refresh"
            )
            self.history_previous = ui.button(
                "Newer", icon="chevron_left", on_click=lambda: self.load_history(self._pager.previous_offset)
            ).mark("history-previous")
            self.history_next = ui.button(
                "Older", icon="chevron_right", on_click=lambda: self.load_history(self._pager.next_offset)
            )
            self.history_next.mark("history-next")
            self.history_summary = ui.label("").mark("history-summary")
        self.history_previous.disable()
        self.history_next.disable()
        self.history_table = ui.table(
            columns=HISTORY_COLUMNS,
            rows=[],
            row_key="id",
            selection="single",
            on_select=self._on_history_select,
        ).classes("w-full")
        self.history_table.mark("history-table")
        with ui.row().classes("items-center gap-2"):
            self.history_selected = ui.label("Select a row to give feedback on it.")
            choices = self._answer_buttons(self.labels, "history")
        self.history_note = ui.label("").mark("history-note")
        self._history_buttons = tuple(choices.values())
        for answer, button in choices.items():
            button.on_click(lambda answer=answer: self._history_feedback(answer))
        for button in self._history_buttons:
            button.disable()

    async def _on_tab_change(self, event: events.ValueChangeEventArguments[Any]) -> None:
        if event.value in (self._history_tab, "History"):
            await self.load_history(self._pager.offset)
        elif event.value in (self._monitoring_tab, "Monitoring"):
            await self.monitoring.load()

    async def load_history(self, offset: int = 0) -> None:
        """Show one page of stored predictions."""
        try:
            page = await self.api.predictions(limit=self.config.history_page_size, offset=offset)
        except ApiUnavailable as failure:
            self._show_unavailable(failure.message, retry=lambda: self.load_history(offset))
            self.history_summary.set_text("History not loaded: the prediction service is unavailable.")
            return
        except ApiError as failure:
            self.history_summary.set_text(failure.message)
            return
        self._pager = Pager.of(page)
        self._history = {str(item.id): item for item in page.items}
        self.history_table.rows = history_rows(page.items)
        self.history_table.selected = []
        self._on_history_select()
        self.history_summary.set_text(self._pager.summary(len(page.items)))
        self.history_previous.set_enabled(self._pager.has_previous)
        self.history_next.set_enabled(self._pager.has_next)

    def _on_history_select(self, _event: events.TableSelectionEventArguments | None = None) -> None:
        item = self._selected_history_item()
        for button in self._history_buttons:
            button.set_enabled(item is not None)
        if item is None:
            self.history_selected.set_text("Select a row to give feedback on it.")
        else:
            self.history_selected.set_text(
                f"{item.filename}: predicted {item.label or '—'}. What does it show?"
            )
        self.history_note.set_text("")

    def _selected_history_item(self) -> HistoryItem | None:
        selected = self.history_table.selected
        return self._history.get(str(selected[0]["id"])) if selected else None

    async def _history_feedback(self, answer: str) -> None:
        item = self._selected_history_item()
        if item is None:
            return
        await self._send_feedback(item.id, item.label, answer, self._history_buttons, self.history_note)
