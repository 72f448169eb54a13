"""Cutting the prediction log into windows of `size` consecutive predictions of one model version.

A window only ever holds predictions of one stream (model name, model version, feature set
version), because each is compared with the reference of the version that answered it.

No prediction is lost or counted twice across runs, which read the log in (since, until]:
- the serving stream (the one that answered the newest prediction) keeps its incomplete last
  window for the next run: `until` stops before its first prediction, so everything after is
  read again next time (a tie on that time is carried too, which is why the cut is repeated
  until the serving stream's part before it fills whole windows);
- other streams (versions that no longer answer) may never fill their last window: their rest
  is consumed and reported as `leftover`, so a retired version cannot hold the log back forever.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from datetime import datetime

from pydantic import BaseModel, ConfigDict

from greenr.monitoring.prediction_log import LoggedPrediction


class Window(BaseModel):
    """`size` consecutive predictions of one stream."""

    model_config = ConfigDict(frozen=True, extra="forbid", protected_namespaces=())

    index: int
    model_name: str
    model_version: str
    feature_set_version: int | None
    predictions: list[LoggedPrediction]

    @property
    def start(self) -> datetime:
        return self.predictions[0].created_at

    @property
    def end(self) -> datetime:
        return self.predictions[-1].created_at


class Windowing(BaseModel):
    """What one run takes from the log: whole windows, and what it leaves or carries."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    windows: list[Window]
    leftover: int  # consumed, not compared: the incomplete rest of streams that no longer answer
    carried: int  # not consumed: the serving stream's incomplete window, read again next run
    until: datetime | None  # the newest consumed prediction's time; None when nothing was consumed


def _by_stream(
    predictions: Sequence[LoggedPrediction],
) -> dict[tuple[str, str, int | None], list[LoggedPrediction]]:
    streams: dict[tuple[str, str, int | None], list[LoggedPrediction]] = defaultdict(list)
    for prediction in predictions:
        streams[prediction.stream].append(prediction)
    return streams


def consumed_part(predictions: Sequence[LoggedPrediction], size: int) -> list[LoggedPrediction]:
    """The predictions this run consumes: all but the serving stream's incomplete last window
    and whatever was created at or after its first prediction. `predictions` sorted oldest first."""
    if not predictions:
        return []
    serving = predictions[-1].stream
    taken = list(predictions)
    while True:
        own = [p for p in taken if p.stream == serving]
        rest = len(own) % size
        if rest == 0:
            return taken
        cut = own[-rest].created_at
        taken = [p for p in taken if p.created_at < cut]


def cut_windows(predictions: Sequence[LoggedPrediction], size: int) -> Windowing:
    """Whole windows of `size` predictions per stream, in time order of their first prediction.

    `predictions` are the log rows with features, sorted oldest first.
    """
    if size < 1:
        raise ValueError(f"a window holds at least one prediction, got {size}")
    taken = consumed_part(predictions, size)
    windows: list[Window] = []
    leftover = 0
    for (name, version, feature_version), rows in _by_stream(taken).items():
        whole = len(rows) - len(rows) % size
        leftover += len(rows) - whole
        windows.extend(
            Window(
                index=0,
                model_name=name,
                model_version=version,
                feature_set_version=feature_version,
                predictions=rows[start : start + size],
            )
            for start in range(0, whole, size)
        )
    windows.sort(key=lambda window: (window.start, window.predictions[0].id))
    numbered = [window.model_copy(update={"index": i}) for i, window in enumerate(windows)]
    return Windowing(
        windows=numbered,
        leftover=leftover,
        carried=len(predictions) - len(taken),
        until=max((p.created_at for p in taken), default=None),
    )
