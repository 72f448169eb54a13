"""The evaluation step's work: metrics and plots of the exported (ONNX) model on the test split."""

from __future__ import annotations

import json
import tempfile
from pathlib import Path

import numpy as np
from pydantic import BaseModel

from greenr.contracts import LABELS
from greenr.registry import tracking
from greenr.settings import Settings
from greenr.training.data import SplitArrays
from greenr.training.evaluation import (
    report_from_probabilities,
    write_confusion_matrix_png,
    write_misclassified_grid_png,
    write_reliability_png,
)
from greenr.training.run_tracking import EXPERIMENT
from greenr.training.trained_model import TrainedModel


class EvaluationSummary(BaseModel):
    """Test-split metrics of the exported model (plots and per-photo predictions: its MLflow run)."""

    metrics: dict[str, float]
    confusion_matrix: list[list[int]]
    labels: list[str]
    photos: int


def evaluate_exported(
    settings: Settings, trained: TrainedModel, test: SplitArrays, artifact_location: str | None
) -> EvaluationSummary:
    """What will be served, measured on the test split; logged to the model's MLflow run."""
    import mlflow

    with (
        tracking.mlflow_run(
            settings.tracking_uri, EXPERIMENT, artifact_location, trained.summary.mlflow_run_id
        ),
        tempfile.TemporaryDirectory() as tmp,
    ):
        folder = Path(tmp)
        probabilities = trained.onnx_classifier(folder).predict(test.images.astype(np.float32))
        report = report_from_probabilities(probabilities, test.labels, LABELS, test.sha256)
        predictions = folder / "test_predictions.json"
        predictions.write_text(json.dumps(report.predictions(), indent=1))
        files = [
            write_confusion_matrix_png(report, folder / "confusion_matrix.png"),
            write_reliability_png(report, folder / "reliability.png"),
            write_misclassified_grid_png(report, test.images, folder / "misclassified.png"),
            predictions,
        ]
        mlflow.log_metrics({f"test_{k}": v for k, v in report.metrics().items() if np.isfinite(v)})
        tracking.log_files(files, "evaluation")
    return EvaluationSummary(
        metrics=report.metrics(),
        confusion_matrix=report.confusion_matrix,
        labels=list(LABELS),
        photos=len(test),
    )
