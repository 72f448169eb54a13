"""The promotion gate: does the challenger beat the champion on the same test split?"""

from __future__ import annotations

from typing import TypeGuard

from pydantic import BaseModel, Field

from greenr.registry.scoring import Scores, wilson_interval


class GateRule(BaseModel):
    """Promote when F1 improves by more than `min_f1_gain`; on an F1 tie, when log loss drops
    by more than `min_log_loss_drop` (60 test photos make F1 ties common, and the better
    calibrated model is then the better one)."""

    min_f1_gain: float = Field(0.0, ge=0)
    min_log_loss_drop: float = Field(0.01, ge=0)
    max_open_set_test_rejection: float | None = Field(0.02, ge=0, le=1)
    """A challenger shown to refuse more of the test split's (in-domain) photos than this is never
    promoted: the lower end of the 95 % Wilson interval of its refusal rate is above it. With 60
    test photos one photo is 1.7 %, so the point estimate alone would refuse or pass a model on
    the noise of one photo (2 of 60 refused: 3.3 %, interval 0.9-11.4 %, not shown to exceed 2 %;
    4 of 60: interval 2.6-15.9 %, refused). None: no limit. Versions without an open-set scorer
    are not judged on it."""
    min_open_set_test_photos: int = Field(50, ge=1)
    """Below this many test photos the open-set rule is not applied (recorded as such): one photo
    is then over 2 % by itself, so the limit can be neither met with room nor judged."""


class OpenSetRefusals(BaseModel):
    """How many of the test split's photos the challenger's open-set score answered "neither"."""

    refused: int = Field(ge=0)
    photos: int = Field(ge=0)

    @property
    def rate(self) -> float:
        return self.refused / self.photos if self.photos else 0.0

    def interval(self) -> tuple[float, float]:
        """The 95 % Wilson interval of the refusal rate."""
        return wilson_interval(self.refused, self.photos)


class GateDecision(BaseModel):
    """The gate's verdict and the scores it was based on."""

    promote: bool
    reason: str
    challenger: Scores
    champion: Scores | None


def judged_on_open_set(open_set: OpenSetRefusals | None, rule: GateRule) -> TypeGuard[OpenSetRefusals]:
    """Whether the open-set rule applies: a scorer, a limit, and enough test photos to judge it."""
    return (
        open_set is not None
        and rule.max_open_set_test_rejection is not None
        and open_set.photos >= rule.min_open_set_test_photos
    )


def decide(
    challenger: Scores, champion: Scores | None, rule: GateRule, open_set: OpenSetRefusals | None = None
) -> GateDecision:
    """Compare two models scored on the same split; no champion means the challenger wins.

    `open_set`: how many test photos the challenger answers "neither" (None when it has no
    open-set scorer); shown to be above the rule's maximum, it is refused whatever its scores.
    """
    limit = rule.max_open_set_test_rejection
    if limit is not None and judged_on_open_set(open_set, rule) and open_set.interval()[0] > limit:
        low, high = open_set.interval()
        reason = (
            f"open-set rejection refuses {open_set.refused} of {open_set.photos} test photos "
            f"({open_set.rate:.1%}, 95 % interval {low:.1%}-{high:.1%}), above the {limit:.1%} allowed: "
            "raise open_set.quantile or open_set.k in configs/training.yaml"
        )
        return GateDecision(promote=False, reason=reason, challenger=challenger, champion=champion)
    if champion is None:
        return GateDecision(promote=True, reason="no champion yet", challenger=challenger, champion=None)
    gain = challenger.f1 - champion.f1
    if gain > rule.min_f1_gain:
        reason = f"F1 {challenger.f1:.4f} beats champion {champion.f1:.4f} by {gain:.4f} > {rule.min_f1_gain}"
        return GateDecision(promote=True, reason=reason, challenger=challenger, champion=champion)
    if gain >= -rule.min_f1_gain:  # within the F1 tolerance: a tie
        drop = champion.log_loss - challenger.log_loss
        if drop > rule.min_log_loss_drop:
            reason = (
                f"F1 tie ({challenger.f1:.4f}); log loss {challenger.log_loss:.4f} improves on "
                f"{champion.log_loss:.4f} by {drop:.4f} > {rule.min_log_loss_drop}"
            )
            return GateDecision(promote=True, reason=reason, challenger=challenger, champion=champion)
        reason = f"F1 tie ({challenger.f1:.4f}) and log loss not better by more than {rule.min_log_loss_drop}"
        return GateDecision(promote=False, reason=reason, challenger=challenger, champion=champion)
    reason = f"F1 {challenger.f1:.4f} is below champion {champion.f1:.4f}"
    return GateDecision(promote=False, reason=reason, challenger=challenger, champion=champion)
