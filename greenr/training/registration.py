"""The register step's work: the ONNX model logged to its MLflow run and registered as `challenger`."""

from __future__ import annotations

import tempfile
from pathlib import Path

from pydantic import BaseModel

from greenr.provenance import git_commit
from greenr.registry import model_registry, tracking
from greenr.settings import REPO_ROOT, Settings
from greenr.training.evaluate_export import EvaluationSummary
from greenr.training.run_tracking import EXPERIMENT
from greenr.training.trained_model import TrainedModel


class RegisteredModel(BaseModel):
    """The MLflow run and registered version of a trained model."""

    name: str
    version: str
    mlflow_run_id: str
    run_url: str
    tracking_uri: str


def register_model(
    settings: Settings, trained: TrainedModel, evaluation: EvaluationSummary, artifact_location: str | None
) -> RegisteredModel:
    """A new version of the registered model from the trained model's ONNX file, aliased `challenger`."""
    import mlflow

    summary = trained.summary
    with (
        tracking.mlflow_run(
            settings.tracking_uri, EXPERIMENT, artifact_location, summary.mlflow_run_id
        ) as run_id,
        tempfile.TemporaryDirectory() as tmp,
    ):
        uri = mlflow.get_tracking_uri()
        onnx_path = Path(tmp) / "model.onnx"
        onnx_path.write_bytes(trained.onnx)
        model_uri = tracking.log_onnx_model(onnx_path)
        experiment_id = mlflow.get_run(run_id).info.experiment_id
        version = model_registry.register_version(
            uri,
            settings.model_name,
            model_uri,
            tags={
                "dataset_version": summary.dataset_version,
                "git_commit": git_commit(REPO_ROOT) or "unknown",
                "onnx_sha256": summary.onnx_sha256,
                "zenml_run": summary.run_id,
                "test_accuracy": f"{evaluation.metrics['accuracy']:.4f}",
                "test_f1": f"{evaluation.metrics['f1']:.4f}",
            },
        )
        model_registry.set_alias(uri, settings.model_name, model_registry.CHALLENGER, version.version)
    return RegisteredModel(
        name=settings.model_name,
        version=version.version,
        mlflow_run_id=run_id,
        run_url=tracking.run_url(uri, experiment_id, run_id),
        tracking_uri=uri,
    )
