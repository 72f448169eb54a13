"""The `output` columns of feature_set.yaml, from one prediction's class probabilities."""

from __future__ import annotations

from collections.abc import Sequence

PROBABILITY_PREFIX = "p_"
"""`p_<label>`: the column of one class's probability (p_dandelion in feature_set.yaml)."""


def output_columns(
    probabilities: Sequence[float], labels: Sequence[str], probability_columns: Sequence[str]
) -> dict[str, float | str]:
    """The probability columns asked for (`p_<label>`), confidence and the predicted label.

    Raises:
        ValueError: probabilities and labels differ in length, or a `p_` column names a label
            the model does not have.
    """
    if len(probabilities) != len(labels) or not labels:
        raise ValueError(f"{len(probabilities)} probabilities for labels {list(labels)}: give one per label")
    by_label = {label: float(p) for label, p in zip(labels, probabilities, strict=True)}
    columns: dict[str, float | str] = {}
    for name in probability_columns:
        label = name.removeprefix(PROBABILITY_PREFIX)
        if label not in by_label:
            raise ValueError(f"output column {name!r} names no class of the model (classes: {list(labels)})")
        columns[name] = by_label[label]
    best = max(range(len(labels)), key=lambda i: float(probabilities[i]))
    columns["confidence"] = float(probabilities[best])
    columns["label"] = str(labels[best])
    return columns
