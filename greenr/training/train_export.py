"""The training step's work: train (logged live to MLflow), export to ONNX checked against Keras."""

from __future__ import annotations

import dataclasses
import json
import logging
import tempfile
from pathlib import Path

import yaml

from greenr.contracts import LABELS
from greenr.export.onnx_export import export_and_check
from greenr.model.pretrained_weights import load_imagenet_weights
from greenr.registry import tracking
from greenr.settings import Settings
from greenr.training.config import TrainingConfig
from greenr.training.data import SplitArrays
from greenr.training.held_out import load_splits
from greenr.training.model import inference_model
from greenr.training.run_tracking import EXPERIMENT, training_run
from greenr.training.train import train_classifier
from greenr.training.trained_model import KERAS_ARTIFACT_PATH, KERAS_FILE, TrainedModel, TrainingSummary

log = logging.getLogger(__name__)


def train_and_export(
    settings: Settings,
    dataset_version: str,
    config: TrainingConfig,
    test: SplitArrays,
    run_id: str,
    artifact_location: str | None,
) -> TrainedModel:
    """Train on the version's train and validation splits; the ONNX export must give Keras's
    probabilities on the `test` photos (read once per run by the caller)."""
    import mlflow

    data = load_splits(settings, dataset_version, config.image_size, ("train", "validation"))
    if test.images.shape[1] != config.image_size:
        raise ValueError(f"test split is {test.images.shape[1]} px, training runs at {config.image_size} px")
    weights = load_imagenet_weights(settings.home / "weights")
    with (
        training_run(
            settings.tracking_uri, EXPERIMENT, artifact_location, config, dataset_version, run_id
        ) as (
            mlflow_run_id,
            log_epoch,
        ),
        tempfile.TemporaryDirectory() as tmp,
    ):
        result = train_classifier(data, config, weights, on_epoch=log_epoch)
        # The served graph also returns the pooled features (the embedding feature columns).
        serving_graph = inference_model(result.model, flip_averaging=config.flip_averaging, embedding=True)
        exported = export_and_check(serving_graph, Path(tmp) / "model.onnx", test.images)
        keras_path = Path(tmp) / KERAS_FILE
        result.model.save(keras_path)
        # In the run's artifacts so that any registered version leads to it (the explanations).
        tracking.log_files([keras_path], artifact_path=KERAS_ARTIFACT_PATH)
        history = [dataclasses.asdict(record) for record in result.history]
        mlflow.log_metrics(
            {
                "best_epoch": float(result.best_epoch),
                "train_wall_seconds": result.wall_seconds,
                "onnx_parity_max_abs_diff": exported.max_abs_diff,
                "onnx_embedding_parity_max_rel_diff": exported.embedding_max_rel_diff or 0.0,
            }
        )
        tracking.log_params_flat({"seeds": result.seeds})
        config_file = Path(tmp) / "config.yaml"
        config_file.write_text(yaml.safe_dump(config.model_dump(mode="json"), sort_keys=False))
        history_file = Path(tmp) / "history.json"
        history_file.write_text(json.dumps(history, indent=1))
        tracking.log_files([config_file, history_file], artifact_path="training")
        trained = TrainedModel(
            summary=TrainingSummary(
                run_id=run_id,
                mlflow_run_id=mlflow_run_id,
                dataset_version=dataset_version,
                onnx_sha256=exported.sha256,
                input_size=config.image_size,
                labels=list(LABELS),
                parity_max_abs_diff=exported.max_abs_diff,
                history=history,
                best_epoch=result.best_epoch,
                best_stage=result.best_stage,
                wall_seconds=result.wall_seconds,
                seeds=result.seeds,
                config=config.model_dump(mode="json"),
            ),
            onnx=exported.path.read_bytes(),
            keras=keras_path.read_bytes(),
        )
    log.info("exported ONNX (max |p_keras - p_onnx| = %.2e)", exported.max_abs_diff)
    return trained
