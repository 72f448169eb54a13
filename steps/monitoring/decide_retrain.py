"""Step: decide whether to retrain (new confirmed labels, persistent drift, cooldown, --force)."""

from datetime import UTC, datetime
from typing import Annotated

from zenml import step

from greenr.contracts import LABELS
from greenr.monitoring.comparison import compared
from greenr.monitoring.config import MonitoringConfig
from greenr.monitoring.decision import decide_for_run
from greenr.monitoring.feedback_labels import count_new_confirmed_labels
from greenr.monitoring.report import RetrainDecision, WindowReport
from greenr.monitoring.run_record import past_runs
from greenr.monitoring.run_verdict import run_drifted
from greenr.registry import model_registry
from greenr.resources import catalog_engine, object_store
from greenr.settings import get_settings


@step
def decide_retrain_step(
    windows: list[WindowReport], config: MonitoringConfig, force: bool = False
) -> tuple[Annotated[RetrainDecision, "decision"], Annotated[int, "consecutive_drift_runs"]]:
    """The retrain policy's decision with every reason it weighed, and the drift streak; the
    cooldown runs from the last version the retraining chain registered."""
    settings = get_settings()
    engine = catalog_engine(settings)
    checked = compared(windows)
    decision, streak = decide_for_run(
        config.retrain,
        count_new_confirmed_labels(object_store(settings), engine, LABELS),
        past_runs(engine),
        len(checked),
        run_drifted(windows, config),
        model_registry.last_retraining_at(settings.tracking_uri, settings.model_name),
        datetime.now(UTC),
        force,
    )
    # A tuple literal: ZenML reads the return statements to tell two outputs from one tuple.
    return decision, streak
