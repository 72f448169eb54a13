"""Step: read the predictions logged since the last monitoring run and cut them into windows."""

import uuid
from datetime import UTC, datetime

from zenml import step

from greenr.monitoring.collect import CollectedLog, collect_log
from greenr.monitoring.run_record import past_runs
from greenr.resources import catalog_engine
from greenr.settings import get_settings


@step
def collect_predictions_step(window: int, since: datetime | None = None) -> CollectedLog:
    """The period after `since` (default: the last run's end; the whole log on the first run)."""
    engine = catalog_engine(get_settings())
    past = past_runs(engine)
    start = since if since is not None else past.last_until
    return collect_log(engine, start, window, str(uuid.uuid4()), datetime.now(UTC), past.last_started_at)
