"""A trained model as the training pipeline passes it on: the exported ONNX file, the Keras file
and what is known about them. It travels as a ZenML artifact (materializers/trained_model_materializer.py),
linked to the run's ZenML Model version, so lineage runs dataset version -> model -> deployment."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final

from pydantic import BaseModel

from greenr.export.onnx_runtime import OnnxClassifier

# The Keras model's file name, and the folder of the training run's MLflow artifacts that holds it
# (what the API's explanation fetches for a registered version: version -> run -> this file).
KERAS_FILE: Final = "model.keras"
KERAS_ARTIFACT_PATH: Final = "keras"


class TrainingSummary(BaseModel):
    """What a training produced besides the model files: provenance, curves, seeds, config."""

    run_id: str
    mlflow_run_id: str
    dataset_version: str
    onnx_sha256: str
    input_size: int
    labels: list[str]
    parity_max_abs_diff: float
    history: list[dict[str, Any]]
    best_epoch: int
    best_stage: str
    wall_seconds: float
    seeds: dict[str, int]
    config: dict[str, Any]


@dataclass(frozen=True, eq=False)
class TrainedModel:
    """The exported model (ONNX, what is served) and the Keras model it came from, with its summary."""

    summary: TrainingSummary
    onnx: bytes = field(repr=False)
    keras: bytes = field(repr=False)

    def __post_init__(self) -> None:
        actual = hashlib.sha256(self.onnx).hexdigest()
        if actual != self.summary.onnx_sha256:
            raise ValueError(
                f"model.onnx has sha256 {actual}, its summary says {self.summary.onnx_sha256}: "
                "the artifact is corrupt; train again"
            )

    def onnx_classifier(self, folder: Path) -> OnnxClassifier:
        """An onnxruntime session over the model (written to `folder`, which the caller owns)."""
        path = folder / "model.onnx"
        path.write_bytes(self.onnx)
        return OnnxClassifier(path)
