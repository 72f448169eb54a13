"""The switch under a prediction's photo that shows what the model looked at (its Grad-CAM heatmap).

The overlay is asked of the API (GET /predictions/{id}/explanation) the first time the switch is
turned on, then kept for this page: turning the switch off and on again only swaps the picture.
"""

from __future__ import annotations

from nicegui import events, ui

from ui.api_client import ApiClient, ApiFailure
from ui.preview import preview_data_url

TOGGLE_TEXT = "Show what the model looked at"
LEGEND = "Red: where the model saw the class it answered; blue: where it saw nothing for it."


class ExplanationToggle:
    """A switch that swaps `image` between the photo and the photo with the model's heatmap."""

    def __init__(self, api: ApiClient, image: ui.image, prediction_id: str, photo_source: str) -> None:
        self.api = api
        self.image = image
        self.prediction_id = prediction_id
        self.photo_source = photo_source
        self._overlay: str | None = None
        self.switch = ui.switch(TOGGLE_TEXT, on_change=self._on_change).mark("explanation-toggle")
        self.note = ui.label("").classes("text-caption text-grey-8").mark("explanation-note")

    async def _on_change(self, event: events.ValueChangeEventArguments[bool | None]) -> None:
        if not event.value:
            self.image.set_source(self.photo_source)
            return
        self.note.set_text("")
        if self._overlay is None:
            self.note.set_text("Drawing the heatmap…")
            try:
                data = await self.api.explanation(self.prediction_id)
            except ApiFailure as failure:
                self.switch.set_value(False)
                self.note.set_text(failure.message)
                return
            self._overlay = preview_data_url(data)
            if self._overlay is None:
                self.switch.set_value(False)
                self.note.set_text("The prediction API sent a heatmap this page cannot show.")
                return
        if self.switch.value:  # still wanted: it may have been turned off while the API drew it
            self.image.set_source(self._overlay)
            self.note.set_text(LEGEND)
