"""Stores a TrainedModel as its files (model.onnx, model.keras, training.json) and shows a model card."""

from __future__ import annotations

import html
import os
from typing import Any, ClassVar

from zenml.enums import ArtifactType, VisualizationType
from zenml.materializers.base_materializer import BaseMaterializer

from greenr.training.trained_model import KERAS_FILE, TrainedModel, TrainingSummary

ONNX_FILE = "model.onnx"
SUMMARY_FILE = "training.json"
_CARD_FILE = "model_card.md"


class TrainedModelMaterializer(BaseMaterializer):
    """The model's files on the active artifact store (local folder or S3), as the model server and
    Keras read them; loading checks model.onnx against the sha256 in training.json."""

    ASSOCIATED_TYPES: ClassVar[tuple[type[Any], ...]] = (TrainedModel,)
    ASSOCIATED_ARTIFACT_TYPE: ClassVar[ArtifactType] = ArtifactType.MODEL

    def _read(self, name: str) -> bytes:
        with self.artifact_store.open(os.path.join(self.uri, name), "rb") as file:
            data: bytes = file.read()
        return data

    def _write(self, name: str, data: bytes) -> None:
        with self.artifact_store.open(os.path.join(self.uri, name), "wb") as file:
            file.write(data)

    def load(self, data_type: type[Any]) -> TrainedModel:
        summary = TrainingSummary.model_validate_json(self._read(SUMMARY_FILE))
        return TrainedModel(summary=summary, onnx=self._read(ONNX_FILE), keras=self._read(KERAS_FILE))

    def save(self, data: TrainedModel) -> None:
        # The summary last: a reader that finds it finds the model files it describes.
        self._write(ONNX_FILE, data.onnx)
        self._write(KERAS_FILE, data.keras)
        self._write(SUMMARY_FILE, data.summary.model_dump_json(indent=1).encode())

    def save_visualizations(self, data: TrainedModel) -> dict[str, VisualizationType]:
        uri = os.path.join(self.uri, _CARD_FILE)
        with self.artifact_store.open(uri, "w") as file:
            file.write(model_card(data.summary))
        return {uri.replace("\\", "/"): VisualizationType.MARKDOWN}

    def extract_metadata(self, data: TrainedModel) -> dict[str, Any]:
        summary = data.summary
        best = best_record(summary)
        return {
            "dataset_version": summary.dataset_version,
            "mlflow_run_id": summary.mlflow_run_id,
            "onnx_sha256": summary.onnx_sha256,
            "input_size": summary.input_size,
            "labels": list(summary.labels),
            "best_epoch": summary.best_epoch,
            "best_val_accuracy": float(best.get("val_accuracy", float("nan"))),
            "onnx_parity_max_abs_diff": summary.parity_max_abs_diff,
            "train_wall_seconds": summary.wall_seconds,
        }


def best_record(summary: TrainingSummary) -> dict[str, Any]:
    """The history entry of the epoch the model was kept from (empty when not recorded)."""
    return next((r for r in summary.history if r.get("epoch") == summary.best_epoch), {})


def model_card(summary: TrainingSummary) -> str:
    """A short markdown card: what the model takes, what it says, how it was trained."""
    best = best_record(summary)

    def metric(key: str) -> str:
        value = best.get(key)
        return f"{float(value):.4f}" if isinstance(value, int | float) else "n/a"

    escape = html.escape
    return "\n".join(
        [
            "# Trained model",
            "",
            "| | |",
            "|---|---|",
            f"| input | {summary.input_size}x{summary.input_size} RGB, 0-255 |",
            f"| labels | {escape(', '.join(summary.labels))} |",
            f"| dataset version | {escape(summary.dataset_version)} |",
            f"| best epoch | {summary.best_epoch} ({escape(summary.best_stage)}) |",
            f"| validation accuracy / F1 | {metric('val_accuracy')} / {metric('val_f1')} |",
            f"| ONNX vs Keras, max abs difference | {summary.parity_max_abs_diff:.2e} |",
            f"| training time | {summary.wall_seconds:.0f} s |",
            f"| seeds | {escape(', '.join(f'{k}={v}' for k, v in sorted(summary.seeds.items())))} |",
            f"| MLflow run | {escape(summary.mlflow_run_id)} |",
            f"| model.onnx sha256 | `{summary.onnx_sha256}` |",
            "",
        ]
    )
