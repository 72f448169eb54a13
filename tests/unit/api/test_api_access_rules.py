"""Role decisions (greenr/api/access.py) and where the feedback store files a photo (feedback_filing.py)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from greenr.api.access import ROLE_PERMISSIONS, Permission, Principal, Role, history_owner, may_give_feedback
from greenr.api.feedback_filing import filed_label
from greenr.api.predictions_store import FeedbackVote

USER = Principal("aaaaaaaaaaaa", "web-app", Role.PREDICT)
OTHER = Principal("bbbbbbbbbbbb", "phone", Role.PREDICT)
ADMIN = Principal("cccccccccccc", "ops", Role.ADMIN)
T0 = datetime(2026, 11, 29, 9, 0, tzinfo=UTC)


def test_the_predict_role() -> None:
    assert ROLE_PERMISSIONS[Role.PREDICT] == {
        Permission.PREDICT,
        Permission.READ_OWN_HISTORY,
        Permission.FEEDBACK_OWN,
        Permission.READ_MODEL,
    }
    assert ROLE_PERMISSIONS[Role.ADMIN] == set(Permission)


def test_the_monitor_role_reads_monitoring_data_only() -> None:
    assert ROLE_PERMISSIONS[Role.MONITOR] == {Permission.READ_MONITORING}
    assert [role for role in Role if ROLE_PERMISSIONS[role] >= {Permission.READ_MONITORING}] == [
        Role.MONITOR,
        Role.ADMIN,
    ]


def test_history_owner() -> None:
    assert history_owner(USER) == USER.key_id
    assert history_owner(ADMIN) is None


@pytest.mark.parametrize(
    ("principal", "owner", "allowed"),
    [
        (USER, USER.key_id, True),
        (USER, OTHER.key_id, False),
        (USER, None, False),  # a row from before keys existed
        (ADMIN, USER.key_id, True),
        (ADMIN, None, True),
    ],
)
def test_who_may_give_feedback(principal: Principal, owner: str | None, allowed: bool) -> None:
    assert may_give_feedback(principal, owner) is allowed


def vote(label: str, minutes: int, role: str | None = "predict") -> FeedbackVote:
    return FeedbackVote(label, T0 + timedelta(minutes=minutes), role)


def test_a_photo_is_filed_under_one_label_at_most() -> None:
    assert filed_label([]) is None
    assert filed_label([vote("grass", 1)]) == "grass"
    assert filed_label([vote("grass", 1), vote("grass", 2, None)]) == "grass"
    # Two keys disagree: under neither label until an admin relabels it.
    assert filed_label([vote("grass", 1), vote("dandelion", 2)]) is None
    assert filed_label([vote("grass", 1), vote("dandelion", 2), vote("grass", 3, "admin")]) == "grass"
    # The latest admin answer decides, whatever the others say.
    assert filed_label([vote("dandelion", 9), vote("grass", 1, "admin"), vote("dandelion", 5, "admin")]) == (
        "dandelion"
    )
