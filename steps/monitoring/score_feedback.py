"""Step: score the period's predictions that got feedback against the serving version's test F1."""

from zenml import step

from greenr.monitoring.collect import CollectedLog
from greenr.monitoring.feedback_score import score_feedback, true_labels
from greenr.monitoring.published import published_metadata, version_test_f1
from greenr.monitoring.report import FeedbackScore
from greenr.resources import catalog_engine, object_store
from greenr.settings import get_settings


@step
def score_feedback_step(collected: CollectedLog) -> FeedbackScore | None:
    """Accuracy, confusion and F1 of the labelled predictions; None when none got feedback."""
    settings = get_settings()
    truth = true_labels(catalog_engine(settings), [p.id for p in collected.consumed])
    pairs = [(truth[p.id], p.label) for p in collected.consumed if p.id in truth]
    if not pairs:
        return None
    serving = collected.consumed[-1]
    metadata = published_metadata(object_store(settings), serving.model_name, serving.model_version)
    return score_feedback(pairs, version_test_f1(metadata))
