"""Registered versions with (or without) a Keras model in their run, as training leaves them, for
the explanation tests: a small real classifier, no training."""

from __future__ import annotations

import tempfile
from pathlib import Path

from greenr.training.config import TrainingConfig
from greenr.training.trained_model import KERAS_ARTIFACT_PATH, KERAS_FILE


def tiny_keras_bytes(size: int = 64, seed: int = 1) -> bytes:
    """The bytes of a `model.keras` as training saves it (flip-averaged inference model), untrained."""
    return tiny_model_files(size, seed, onnx=False)[0]


def tiny_model_files(size: int = 64, seed: int = 1, onnx: bool = True) -> tuple[bytes, bytes | None]:
    """`model.keras` and (with `onnx`) the `model.onnx` served for it, both as training writes
    them, from one small untrained classifier."""
    import numpy as np

    from greenr.export.onnx_export import export_and_check
    from greenr.training.model import build_classifier, inference_model

    classifier = build_classifier(TrainingConfig(image_size=size, seed=seed), backbone_weights=None)
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / KERAS_FILE
        inference_model(classifier, flip_averaging=True).save(path)
        if not onnx:
            return path.read_bytes(), None
        check = np.random.default_rng(seed).integers(0, 256, size=(2, size, size, 3), dtype=np.uint8)
        served = inference_model(classifier, flip_averaging=True, embedding=True)
        exported = export_and_check(served, Path(tmp) / "model.onnx", check)
        return path.read_bytes(), exported.path.read_bytes()


def register_run_version(
    tracking_uri: str, name: str, keras: bytes | None, artifact_location: str | None = None
) -> str:
    """A new version of `name` from a new run, whose artifacts hold `keras/model.keras` when given
    (None: a version trained before training kept it). Returns the version number."""
    from mlflow import MlflowClient
    from mlflow.exceptions import MlflowException

    client = MlflowClient(tracking_uri=tracking_uri, registry_uri=tracking_uri)
    experiment = client.get_experiment_by_name(f"{name}-runs")
    experiment_id = (
        experiment.experiment_id
        if experiment is not None
        else client.create_experiment(f"{name}-runs", artifact_location=artifact_location)
    )
    run = client.create_run(experiment_id)
    if keras is not None:
        with tempfile.TemporaryDirectory() as tmp:
            path = Path(tmp) / KERAS_FILE
            path.write_bytes(keras)
            client.log_artifact(run.info.run_id, str(path), artifact_path=KERAS_ARTIFACT_PATH)
    client.set_terminated(run.info.run_id)
    try:
        client.get_registered_model(name)
    except MlflowException:
        client.create_registered_model(name)
    version = client.create_model_version(
        name, source=f"runs:/{run.info.run_id}/{KERAS_ARTIFACT_PATH}", run_id=run.info.run_id
    )
    return str(version.version)
