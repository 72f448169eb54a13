"""Who may do what: the roles of API keys, their permissions, and the decisions built on them.

Pure functions, no framework: `access_control.py` (middleware) and the routes call them.

- `predict`: classify photos, see its own history, give feedback on its own predictions, see
  which model answers (name, version, labels).
- `monitor`: read the monitoring data only (`/monitoring/...`: counts per class and hour or day,
  the confidence histogram, feedback accuracy, monitoring runs and drift reports): aggregates,
  no photo, no single prediction, no classifying. The web app's Monitoring page holds such a key,
  so that whoever reaches the web app sees the model's health without holding an admin key.
- `admin`: everything: all history (including rows from before keys existed), feedback on any
  prediction (relabelling: an admin's answer decides where the photo is filed), model details
  (test metrics, dataset version), and /metrics when GREENR_API_PROTECT_METRICS is on.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class Role(StrEnum):
    PREDICT = "predict"
    MONITOR = "monitor"
    ADMIN = "admin"


class Permission(StrEnum):
    PREDICT = "predict"
    READ_OWN_HISTORY = "read own history"
    READ_ALL_HISTORY = "read all history"
    FEEDBACK_OWN = "give feedback on own predictions"
    FEEDBACK_ANY = "give feedback on any prediction"
    READ_MODEL = "read the served model"
    READ_MODEL_DETAILS = "read model details"
    READ_METRICS = "read metrics"
    READ_MONITORING = "read monitoring data"


ROLE_PERMISSIONS: dict[Role, frozenset[Permission]] = {
    Role.PREDICT: frozenset(
        {Permission.PREDICT, Permission.READ_OWN_HISTORY, Permission.FEEDBACK_OWN, Permission.READ_MODEL}
    ),
    Role.MONITOR: frozenset({Permission.READ_MONITORING}),
    Role.ADMIN: frozenset(Permission),
}


@dataclass(frozen=True)
class Principal:
    """The key a request was made with."""

    key_id: str
    name: str
    role: Role

    def can(self, permission: Permission) -> bool:
        return permission in ROLE_PERMISSIONS[self.role]


def history_owner(principal: Principal) -> str | None:
    """Whose predictions the history lists: the key's own, or None (all) for an admin."""
    return None if principal.can(Permission.READ_ALL_HISTORY) else principal.key_id


def may_give_feedback(principal: Principal, prediction_key_id: str | None) -> bool:
    """Whether the key may label this prediction (its own, or any for an admin).

    A refusal is answered as "not found" (404), not 403, so prediction ids of other keys do not
    leak; rows from before keys existed (no key) belong to no one but admins.
    """
    if principal.can(Permission.FEEDBACK_ANY):
        return True
    return principal.can(Permission.FEEDBACK_OWN) and prediction_key_id == principal.key_id
