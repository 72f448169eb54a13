"""whylogs profiles of the predictions, written in batches to the object store.

Rows are accumulated in memory; every `batch_size` rows one whylogs profile is written to
`processed/profiles/predictions/<yyyy-mm-dd>/<timestamp>-<n>.bin` (n = rows in it), and the
remainder at shutdown. Profiles are merged and compared with the training reference by the
monitoring pipeline; one profile per request would be thousands of tiny objects a day.

Profiling and writing happen on one background thread: the request that fills a batch only
hands it over. whylogs and pandas are imported there too, as soon as the profiler is created
(not at import time), and the API's start waits for it: importing them takes over a second of
CPU holding the GIL, and done by the first full batch it stalled the requests in flight (a
155 ms p99 at one request at a time).
"""

from __future__ import annotations

import logging
import os
import threading
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from typing import Any

from greenr.features.definitions import feature_set
from greenr.storage.object_store import ObjectStore, StorageUnavailable

logger = logging.getLogger(__name__)

PROFILES_PREFIX = "processed/profiles/predictions"


@dataclass(frozen=True)
class ProfileRow:
    """What is profiled of one prediction."""

    confidence: float
    p_dandelion: float
    label: str
    latency_ms: float
    width: int
    height: int
    bytes: int
    features: dict[str, float | None] = field(default_factory=dict)
    """The numeric feature columns (greenr/features/feature_set.yaml), under their own names."""


def numeric_features(features: Mapping[str, object] | None) -> dict[str, float | None]:
    """The feature set's numeric columns of a prediction (every one, None where it has none)."""
    columns = feature_set()
    values = features or {}
    return {column.name: _number(values.get(column.name)) for column in columns.columns if column.numeric}


def _number(value: object) -> float | None:
    return float(value) if isinstance(value, int | float) and not isinstance(value, bool) else None


def profile_record(row: ProfileRow) -> dict[str, Any]:
    """One profiled row: the fields above, then the numeric feature columns.

    The feature columns keep the feature set's names, so profiles line up with a reference
    profiled from the same columns. A feature column named like a field (p_dandelion,
    confidence, width, height) replaces it when it has a value: the same quantity, by the
    definition monitoring uses (width/height of the upload after EXIF orientation).
    """
    record: dict[str, Any] = {name: value for name, value in asdict(row).items() if name != "features"}
    for name, value in row.features.items():
        if value is not None or name not in record:
            record[name] = value
    return record


def profile_key(moment: datetime, rows: int) -> str:
    """Object key of a profile written at `moment` (UTC) holding `rows` predictions."""
    return f"{PROFILES_PREFIX}/{moment:%Y-%m-%d}/{moment:%Y%m%dT%H%M%S%fZ}-{rows}.bin"


def _import_whylogs() -> None:
    # whylogs sends usage statistics to whylabs.com from a thread started at import unless this
    # is set (whylogs/api/usage_stats): a prediction service must not call out.
    os.environ.setdefault("WHYLOGS_NO_ANALYTICS", "True")
    import pandas  # noqa: F401
    import whylogs.core  # noqa: F401


def serialize_profile(rows: Sequence[ProfileRow], moment: datetime) -> bytes:
    """A whylogs profile of the rows, serialized (whylogs' .bin format)."""
    _import_whylogs()
    import pandas as pd
    from whylogs.core import DatasetProfile

    profile = DatasetProfile(dataset_timestamp=moment)
    profile.track(pandas=pd.DataFrame([profile_record(row) for row in rows]))
    data: bytes = profile.view().serialize()
    return data


class PredictionProfiler:
    """Thread-safe accumulator of ProfileRows that writes a profile every `batch_size` rows."""

    def __init__(
        self,
        store: ObjectStore,
        batch_size: int,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self.store = store
        self.batch_size = batch_size
        self._clock = clock
        self._rows: list[ProfileRow] = []
        self._lock = threading.Lock()
        self._writer = ThreadPoolExecutor(max_workers=1, thread_name_prefix="greenr-profiler")
        self._closed = False
        # The writer thread imports whylogs now, while the service starts, not during a request.
        self._pending: list[Future[None]] = [self._writer.submit(self._warm_up)]

    def add(self, rows: Sequence[ProfileRow]) -> None:
        """Add rows; hand every full batch to the writer thread."""
        with self._lock:
            if self._closed:
                logger.warning("profiler closed: %d prediction(s) not profiled", len(rows))
                return
            self._rows.extend(rows)
            while len(self._rows) >= self.batch_size:
                batch, self._rows = self._rows[: self.batch_size], self._rows[self.batch_size :]
                self._submit(batch)

    def pending_rows(self) -> int:
        with self._lock:
            return len(self._rows)

    def wait(self) -> None:
        """Wait until the profiles handed over so far are written (or their failure logged)."""
        with self._lock:
            futures, self._pending = self._pending, []
        for future in futures:
            future.result()

    def close(self) -> None:
        """Write what remains, wait for every write, stop the writer thread. Idempotent."""
        with self._lock:
            if not self._closed:
                self._closed = True
                if self._rows:
                    self._submit(self._rows)
                    self._rows = []
        self.wait()
        self._writer.shutdown(wait=True)

    def _submit(self, batch: list[ProfileRow]) -> None:
        # Called with the lock held: the order of submission is the order of the rows.
        self._pending = [future for future in self._pending if not future.done()]
        self._pending.append(self._writer.submit(self._write, batch))

    def _warm_up(self) -> None:
        try:
            _import_whylogs()
        except Exception:
            # Every write will fail the same way and say so; the service itself keeps running.
            logger.exception("whylogs cannot be imported: predictions will not be profiled")

    def _write(self, batch: list[ProfileRow]) -> None:
        moment = self._clock()
        key = profile_key(moment, len(batch))
        try:
            self.store.put(key, serialize_profile(batch, moment))
        except StorageUnavailable as error:
            logger.error("lost a profile of %d prediction(s): %s", len(batch), error)
            return
        except Exception:
            # A bug in profiling must not take the writer thread (and every later profile) down.
            logger.exception("lost a profile of %d prediction(s): whylogs failed", len(batch))
            return
        logger.info("wrote a whylogs profile of %d prediction(s) to %s", len(batch), key)
