"""Validate the period's prediction log with Great Expectations (suite `prediction_log`).

The suite (greenr/dataset/suites/prediction_log.json) checks the log's schema, that every
probability is in [0, 1] and each row's sum to 1, that labels are known classes, and that every
answering model version was published (the run passes those as the suite's parameter).
GE and pandas are imported inside the functions only (see greenr.validation.runner).
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from typing import TYPE_CHECKING, Final

from greenr.monitoring.prediction_log import LoggedPrediction
from greenr.validation.report import ValidationReport
from greenr.validation.runner import SuiteRun, run_suites

if TYPE_CHECKING:
    import pandas as pd

PREDICTION_LOG: Final = "prediction_log"
COLUMNS: Final = (
    "id",
    "created_at",
    "model",
    "label",
    "probability_labels",
    "probability_min",
    "probability_max",
    "probability_sum",
)


def model_key(name: str, version: str) -> str:
    """How the log frame names a model version: name/version."""
    return f"{name}/{version}"


def log_frame(predictions: Sequence[LoggedPrediction]) -> pd.DataFrame:
    """One row per prediction (columns exist even with no predictions)."""
    import pandas as pd

    rows = [
        {
            "id": p.id,
            "created_at": p.created_at,
            "model": model_key(p.model_name, p.model_version),
            "label": p.label,
            # Sorted, so that the suite's one allowed value does not depend on the JSON's order.
            "probability_labels": ",".join(sorted(p.probabilities)),
            "probability_min": min(p.probabilities.values(), default=None),
            "probability_max": max(p.probabilities.values(), default=None),
            "probability_sum": sum(p.probabilities.values()),
        }
        for p in predictions
    ]
    return pd.DataFrame(rows, columns=list(COLUMNS))


def validate_log(predictions: Sequence[LoggedPrediction], published: Collection[str]) -> ValidationReport:
    """Run `prediction_log` on the predictions; `published` are the model keys that may answer."""
    return run_suites(
        [
            SuiteRun(
                PREDICTION_LOG,
                log_frame(predictions),
                ("id",),
                parameters={"published_models": sorted(published)},
            )
        ]
    )
