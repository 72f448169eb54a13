"""The feedback score: accuracy, confusion, F1 of the positive class, disputes left out."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy.orm import Session

from greenr.catalog import schema
from greenr.catalog.database import open_catalog
from greenr.contracts import LABELS, POSITIVE_LABEL
from greenr.monitoring.feedback_score import (
    f1_score,
    labelled_pairs,
    late_answered,
    score_feedback,
    true_labels,
)

NEGATIVE = next(label for label in LABELS if label != POSITIVE_LABEL)


def _prediction(pid: str, at: datetime) -> schema.Prediction:
    return schema.Prediction(
        id=pid,
        created_at=at,
        filename="a.jpg",
        sha256="0" * 64,
        label=POSITIVE_LABEL,
        probabilities={POSITIVE_LABEL: 0.9, NEGATIVE: 0.1},
        confidence=0.9,
        model_name="m",
        model_version="1",
        latency_ms=5.0,
    )


def _feedback(row_id: str, pid: str, label: str, at: datetime, key: str) -> schema.Feedback:
    return schema.Feedback(
        id=row_id,
        prediction_id=pid,
        label=label,
        correct=label == POSITIVE_LABEL,
        created_at=at,
        api_key_id=key,
    )


def test_accuracy_confusion_and_f1_of_the_positive_class() -> None:
    pairs = [(POSITIVE_LABEL, POSITIVE_LABEL)] * 6 + [(POSITIVE_LABEL, NEGATIVE)] * 2
    pairs += [(NEGATIVE, NEGATIVE)] * 3 + [(NEGATIVE, POSITIVE_LABEL)] * 1
    score = score_feedback(pairs, test_f1=0.95)
    assert score is not None
    assert score.labelled == 12
    assert score.accuracy == pytest.approx(9 / 12)
    # tp 6, fn 2, fp 1: F1 = 12 / (12 + 2 + 1)
    assert score.f1 == pytest.approx(12 / 15)
    assert score.confusion[POSITIVE_LABEL] == {POSITIVE_LABEL: 6, NEGATIVE: 2}
    assert score.confusion[NEGATIVE] == {POSITIVE_LABEL: 1, NEGATIVE: 3}
    assert score.test_f1 == 0.95


def test_no_feedback_is_no_score_and_no_positive_is_no_f1() -> None:
    assert score_feedback([], test_f1=0.9) is None
    assert f1_score([(NEGATIVE, NEGATIVE)]) is None
    assert f1_score([(POSITIVE_LABEL, NEGATIVE)]) == 0.0


def test_true_labels_leave_disputed_predictions_out(tmp_path: Path) -> None:
    engine = open_catalog(f"sqlite:///{tmp_path / 'catalog.db'}")
    now = datetime(2026, 11, 1, tzinfo=UTC)
    with Session(engine) as session, session.begin():
        for pid in ("agreed", "disputed", "silent"):
            session.add(_prediction(pid, now))
        session.flush()
        feedback = [("agreed", NEGATIVE, "k1"), ("agreed", NEGATIVE, "k2"), ("disputed", NEGATIVE, "k1")]
        feedback.append(("disputed", POSITIVE_LABEL, "k2"))
        for n, (pid, label, key) in enumerate(feedback):
            session.add(_feedback(f"f{n}", pid, label, now, key))
    assert true_labels(engine, ["agreed", "disputed", "silent"]) == {"agreed": NEGATIVE}


def test_an_answer_given_after_its_period_was_monitored_is_scored_by_the_next_run(tmp_path: Path) -> None:
    engine = open_catalog(f"sqlite:///{tmp_path / 'catalog.db'}")
    day = datetime(2026, 11, 1, tzinfo=UTC)
    with Session(engine) as session, session.begin():
        for pid, made in (("old-late", day), ("old-early", day), ("new", day + timedelta(days=2))):
            session.add(_prediction(pid, made))
        session.flush()
        # old-early was answered before the previous run started (that run scored it);
        # old-late after it; new belongs to this run's period.
        answers = [("old-early", NEGATIVE, 0.5), ("old-late", NEGATIVE, 3), ("new", POSITIVE_LABEL, 3)]
        for n, (pid, label, days) in enumerate(answers):
            session.add(_feedback(f"f{n}", pid, label, day + timedelta(days=days), "k"))
    previous_run_started = day + timedelta(days=1)
    period = [("new", POSITIVE_LABEL)]
    pairs, late = labelled_pairs(engine, period, previous_run_started)
    assert sorted(pairs) == sorted([(POSITIVE_LABEL, POSITIVE_LABEL), (NEGATIVE, POSITIVE_LABEL)])
    assert late == 1
    assert late_answered(engine, previous_run_started, exclude={"new"}) == [("old-late", POSITIVE_LABEL)]
    # A first run consumes the whole log: nothing is late.
    assert labelled_pairs(engine, period, None) == ([(POSITIVE_LABEL, POSITIVE_LABEL)], 0)
    score = score_feedback(pairs, test_f1=None, late=late)
    assert score is not None
    assert (score.labelled, score.late) == (2, 1)
