"""Under which label the feedback store files a photo, from all the answers given on it.

The feedback store (`feedback/<label>/<sha256>.<ext>`) is a training set: a photo under both
labels would teach the model both, so each photo is under one label or none:

- an admin's answer is a relabelling and decides (the latest admin answer, when there are several);
- otherwise the photo is filed only when every answer agrees (keys answer once per prediction,
  and one photo may have been predicted for several keys);
- answers that disagree, with no admin answer, file it nowhere until an admin relabels it. The
  catalog keeps every answer, so nothing is lost.

The same rule holds for "neither" (the photo shows no class): such a photo is filed under
`open-set/neither/` instead of `feedback/` (greenr/api/image_archive.py), never as training data.
"""

from __future__ import annotations

from collections.abc import Sequence

from greenr.api.access import Role
from greenr.api.predictions_store import FeedbackVote


def filed_label(votes: Sequence[FeedbackVote]) -> str | None:
    """The label the photo belongs under, or None (no answers, or a dispute without an admin)."""
    admin = [vote for vote in votes if vote.role == Role.ADMIN.value]
    if admin:
        return max(admin, key=lambda vote: vote.created_at).label
    labels = {vote.label for vote in votes}
    return labels.pop() if len(labels) == 1 else None
