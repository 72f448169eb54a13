"""How the API explains a "neither" answer (open-set rejection, greenr.open_set) in one sentence."""

from __future__ import annotations

from typing import Final

from greenr.contracts import LABELS
from greenr.open_set.scorer import NEITHER

NOT_A_CLASS: Final = f"This doesn't look like a {' or '.join(LABELS)}"
"""The start of every reason: what a "neither" answer means to a person."""


def neither_reason(label: str, score: float | None, threshold: float | None) -> str | None:
    """The sentence saying why the photo was answered "neither"; None for a class answer."""
    if label != NEITHER:
        return None
    if score is None or threshold is None:
        return f"{NOT_A_CLASS}."
    return f"{NOT_A_CLASS}: its open-set score {score:.4g} is above the model's threshold {threshold:.4g}."
