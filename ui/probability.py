"""Probability bars: what the page draws for each class of a prediction."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

# Quasar colour names of the contract's classes (greenr.contracts.LABELS; a test checks that each
# has one); a class a model gains later still gets a bar, in the default colour.
LABEL_COLORS: Mapping[str, str] = {"dandelion": "amber-8", "grass": "green-7"}
DEFAULT_COLOR = "blue-grey-6"


@dataclass(frozen=True)
class ProbabilityBar:
    """One class's bar: `value` is the fill (0 to 1) and `text` the percentage shown next to it."""

    label: str
    value: float
    text: str
    color: str


def format_percent(probability: float | None) -> str:
    """A probability as a percentage with one decimal ("87.5 %"), or a dash when unknown."""
    if probability is None:
        return "—"
    return f"{100 * probability:.1f} %"


def probability_bars(probabilities: Mapping[str, float]) -> list[ProbabilityBar]:
    """One bar per class, most likely first (ties by name, so the order never flickers)."""
    ordered = sorted(probabilities.items(), key=lambda item: (-item[1], item[0]))
    return [
        ProbabilityBar(
            label=label,
            # Clamped: a rounding error such as 1.0000001 must not overflow the bar.
            value=min(max(probability, 0.0), 1.0),
            text=format_percent(probability),
            color=label_color(label),
        )
        for label, probability in ordered
    ]


def label_color(label: str | None) -> str:
    """The colour of a class, for its name in headings and tables."""
    return LABEL_COLORS.get(label or "", DEFAULT_COLOR)
