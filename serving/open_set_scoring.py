"""Open-set rejection in the model server: read the artifact's `open_set.json`, score each batch.

The scorer itself is `greenr.open_set.scorer` (numpy only, the same code training fitted and
calibrated it with). A photo whose score is above the scorer's threshold is answered "neither";
its probabilities are still given. An artifact without the file (a model trained before issue 17)
rejects nothing and its predictions carry no `open_set` block.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from greenr.open_set.scorer import NEITHER, OPEN_SET_FILE, OpenSetError, OpenSetScorer, scorer_from_json
from serving.model_store import ArtifactError, read_companion


@dataclass(frozen=True)
class OpenSetVerdict:
    """One photo's open-set score, the threshold it was compared with, and the outcome."""

    score: float
    threshold: float
    method: str
    rejected: bool

    def as_json(self) -> dict[str, Any]:
        """The prediction's `open_set` block (serving/README.md); an uncalibrated threshold is null."""
        return {
            "score": self.score,
            "threshold": self.threshold if np.isfinite(self.threshold) else None,
            "method": self.method,
            "rejected": self.rejected,
        }


def read_open_set(directory: Path) -> OpenSetScorer | None:
    """The artifact's open-set scorer; None when it was published without one.

    Raises:
        ArtifactError: the file is there but unreadable.
    """
    text = read_companion(directory, OPEN_SET_FILE)
    if text is None:
        return None
    try:
        return scorer_from_json(text)
    except OpenSetError as error:
        raise ArtifactError(
            f"{OPEN_SET_FILE} is unusable: {error}; publish it again with the model"
        ) from None


def check_open_set(scorer: OpenSetScorer, embedding_size: int | None) -> None:
    """Refuse a scorer the model's outputs cannot feed (no embedding output, another size).

    Raises:
        ArtifactError: naming both sizes.
    """
    needed = scorer.dimensions
    if needed is None:
        return
    if embedding_size is None:
        raise ArtifactError(
            f"{OPEN_SET_FILE} ({scorer.method}) needs the model's embedding output, which model.onnx "
            "lacks: publish the model and its open-set file from the same training run"
        )
    if embedding_size != needed:
        raise ArtifactError(
            f"{OPEN_SET_FILE} was fitted on {needed} features but model.onnx's embedding has "
            f"{embedding_size}: publish the model and its open-set file from the same training run"
        )


def open_set_verdicts(
    scorer: OpenSetScorer,
    embeddings: npt.NDArray[np.float32] | None,
    probabilities: npt.NDArray[np.float32],
) -> list[OpenSetVerdict]:
    """One verdict per photo of the batch, in order.

    Raises:
        OpenSetError: the embeddings do not fit the scorer (`check_open_set` refuses such a
            model at load, so this is a bug, not a request error).
    """
    scores = scorer.scores(embeddings, probabilities)
    rejected = scorer.rejected(scores)
    return [
        OpenSetVerdict(
            score=float(score), threshold=scorer.threshold, method=scorer.method, rejected=bool(out)
        )
        for score, out in zip(scores, rejected, strict=True)
    ]


def answered_label(label: str, verdict: OpenSetVerdict | None) -> str:
    """The label a prediction answers: the model's class, or "neither" when the photo is rejected."""
    return NEITHER if verdict is not None and verdict.rejected else label
