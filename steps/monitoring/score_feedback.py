"""Step: score the predictions that got feedback (the period's, and earlier ones answered since
the last run) against the serving version's test F1."""

from zenml import step

from greenr.monitoring.collect import CollectedLog
from greenr.monitoring.feedback_score import labelled_pairs, score_feedback
from greenr.monitoring.published import published_metadata, version_test_f1
from greenr.monitoring.report import FeedbackScore
from greenr.resources import catalog_engine, object_store
from greenr.settings import get_settings


@step
def score_feedback_step(collected: CollectedLog) -> FeedbackScore | None:
    """Accuracy, confusion and F1 of the labelled predictions; None when none got feedback."""
    settings = get_settings()
    period = [(p.id, p.label) for p in collected.consumed]
    pairs, late = labelled_pairs(catalog_engine(settings), period, collected.feedback_since)
    if not pairs:
        return None
    test_f1 = None  # a period without predictions names no serving version to compare with
    if collected.consumed:
        serving = collected.consumed[-1]
        metadata = published_metadata(object_store(settings), serving.model_name, serving.model_version)
        test_f1 = version_test_f1(metadata)
    return score_feedback(pairs, test_f1, late)
