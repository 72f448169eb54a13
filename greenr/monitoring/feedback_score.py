"""How the predictions that got feedback fared: accuracy, confusion, F1.

A run scores the predictions of its period that have feedback, and the earlier predictions whose
feedback arrived after the previous run started (people answer late; without this such an answer
would never be scored). A prediction's true label is the label its feedback gave; when keys
disagree on one prediction it is disputed and left out (the API files disputes nowhere either:
greenr/api/feedback_filing.py).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Collection, Sequence
from datetime import datetime

from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from greenr.catalog import schema
from greenr.contracts import LABELS, POSITIVE_LABEL
from greenr.monitoring.report import FeedbackScore

_CHUNK = 500


def true_labels(engine: Engine, prediction_ids: Collection[str]) -> dict[str, str]:
    """prediction id -> the label its feedback agreed on (disputed predictions left out)."""
    given: dict[str, set[str]] = defaultdict(set)
    ids = list(prediction_ids)
    with Session(engine) as session:
        for start in range(0, len(ids), _CHUNK):
            query = select(schema.Feedback.prediction_id, schema.Feedback.label).where(
                schema.Feedback.prediction_id.in_(ids[start : start + _CHUNK])
            )
            for prediction_id, label in session.execute(query).tuples():
                given[prediction_id].add(label)
    return {pid: next(iter(labels)) for pid, labels in given.items() if len(labels) == 1}


def late_answered(
    engine: Engine, feedback_since: datetime | None, exclude: Collection[str]
) -> list[tuple[str, str]]:
    """(prediction id, predicted label) of predictions outside `exclude` answered after `feedback_since`."""
    if feedback_since is None:
        return []
    query = (
        select(schema.Prediction.id, schema.Prediction.label)
        .join(schema.Feedback, schema.Feedback.prediction_id == schema.Prediction.id)
        .where(schema.Feedback.created_at > feedback_since)
        .distinct()
    )
    excluded = set(exclude)
    with Session(engine) as session:
        return sorted((pid, label) for pid, label in session.execute(query).tuples() if pid not in excluded)


def labelled_pairs(
    engine: Engine, period: Sequence[tuple[str, str]], feedback_since: datetime | None
) -> tuple[list[tuple[str, str]], int]:
    """(true, predicted) pairs of the period's (prediction id, predicted label) that got feedback and
    of earlier predictions answered after `feedback_since`; and how many of the pairs are those late ones."""
    predicted = dict(period)
    late = late_answered(engine, feedback_since, predicted)
    predicted.update(late)
    truth = true_labels(engine, predicted)
    pairs = [(truth[pid], label) for pid, label in predicted.items() if pid in truth]
    return pairs, sum(1 for pid, _ in late if pid in truth)


def f1_score(pairs: Sequence[tuple[str, str]], positive: str = POSITIVE_LABEL) -> float | None:
    """F1 of `positive` over (true, predicted) pairs; None when neither side has a positive."""
    tp = sum(1 for true, predicted in pairs if true == positive and predicted == positive)
    fp = sum(1 for true, predicted in pairs if true != positive and predicted == positive)
    fn = sum(1 for true, predicted in pairs if true == positive and predicted != positive)
    denominator = 2 * tp + fp + fn
    return None if denominator == 0 else 2 * tp / denominator


def score_feedback(
    pairs: Sequence[tuple[str, str]], test_f1: float | None, late: int = 0
) -> FeedbackScore | None:
    """The score of (true label, predicted label) pairs, `late` of them on earlier periods'
    predictions; None when no prediction got feedback."""
    if not pairs:
        return None
    labels = list(dict.fromkeys([*LABELS, *(label for pair in pairs for label in pair)]))
    confusion = {true: dict.fromkeys(labels, 0) for true in labels}
    for true, predicted in pairs:
        confusion[true][predicted] += 1
    return FeedbackScore(
        labelled=len(pairs),
        late=late,
        accuracy=sum(1 for true, predicted in pairs if true == predicted) / len(pairs),
        f1=f1_score(pairs),
        confusion=confusion,
        test_f1=test_f1,
    )
