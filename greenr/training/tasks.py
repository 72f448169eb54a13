"""What each step of the training pipeline does, as plain functions over settings and artifacts.

The ZenML steps in steps/training/ only call these. Large things (images, models) never travel
between steps: a step writes them to the object store's models/ prefix and passes their keys.

One MLflow run follows the model: the training step opens it and logs parameters and every
epoch's metrics as they happen (a crash leaves a FAILED run with its curves so far), the
evaluation step adds the test metrics and plots, the register step logs the model and
registers it. With ZenML's MLflow experiment tracker on those steps the run is the tracker's;
without one, the run id travels in `TrainedModel.mlflow_run_id`.
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import logging
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import numpy as np
import yaml
from pydantic import BaseModel

from greenr.catalog.repository import get_dataset_version, load_images
from greenr.contracts import LABELS
from greenr.export.onnx_export import export_and_check
from greenr.export.onnx_runtime import OnnxClassifier
from greenr.ingestion.dataset_version import DatasetVersion
from greenr.model.pretrained_weights import load_imagenet_weights
from greenr.provenance import git_commit
from greenr.registry import model_registry, tracking
from greenr.registry.promotion import GateDecision, GateRule, decide
from greenr.registry.scoring import Scores, score_probabilities
from greenr.resources import catalog_engine, object_store
from greenr.settings import REPO_ROOT, Settings
from greenr.storage.object_store import ObjectStore
from greenr.training.config import TrainingConfig
from greenr.training.data import SplitArrays, load_split_arrays, read_manifest
from greenr.training.evaluation import (
    report_from_probabilities,
    write_confusion_matrix_png,
    write_misclassified_grid_png,
    write_reliability_png,
)
from greenr.training.layout import model_run_key
from greenr.training.train import EpochRecord, train_classifier
from greenr.validation.report import ValidationReport
from greenr.validation.split_validation import SplitMember, validate_dataset_splits

log = logging.getLogger(__name__)
EXPERIMENT = "greenr-training"


class TrainedModel(BaseModel):
    """A trained and exported model, stored under models/runs/<run id>/."""

    run_id: str
    mlflow_run_id: str
    dataset_version: str
    onnx_key: str
    onnx_sha256: str
    keras_key: str
    parity_max_abs_diff: float
    history: list[dict[str, Any]]
    best_epoch: int
    best_stage: str
    wall_seconds: float
    seeds: dict[str, int]
    config: dict[str, Any]


class EvaluationSummary(BaseModel):
    """Test-split metrics of the exported model and where its plots are."""

    metrics: dict[str, float]
    confusion_matrix: list[list[int]]
    labels: list[str]
    plot_keys: list[str]
    predictions_key: str


class RegisteredModel(BaseModel):
    """The MLflow run and registered version of a trained model."""

    name: str
    version: str
    mlflow_run_id: str
    run_url: str
    tracking_uri: str


def validate_splits(settings: Settings, version: DatasetVersion, group_distance: int) -> ValidationReport:
    """Great Expectations on the version's splits: sizes, class balance, no leaks between splits."""
    engine = catalog_engine(settings)
    row = get_dataset_version(engine, version.id)
    if row is None:
        raise LookupError(f"dataset version {version.id} vanished from the catalog")
    images = {image.sha256: image.record for image in load_images(engine)}
    members = [
        SplitMember(sha256=sha, label=images[sha].label, split=split, phash=images[sha].phash)
        for sha, split in sorted(row.members.items())
    ]
    return validate_dataset_splits(members, group_distance)


def _arrays(
    settings: Settings, store: ObjectStore, version_id: str, size: int, splits: tuple[str, ...] | None = None
) -> dict[str, SplitArrays]:
    manifest = read_manifest(store, version_id)
    if splits is not None:
        manifest = manifest.model_copy(update={"members": [m for m in manifest.members if m.split in splits]})
    return load_split_arrays(store, manifest, size, labels=LABELS, max_pixels=settings.max_image_pixels)


@contextlib.contextmanager
def training_run(
    tracking_uri: str,
    experiment: str,
    artifact_location: str | None,
    config: TrainingConfig,
    dataset_version: str,
    zenml_run: str,
) -> Iterator[tuple[str, Callable[[EpochRecord], None]]]:
    """The training's MLflow run with its tags and parameters; yields its id and an `on_epoch`
    callback that logs each epoch's metrics as it ends. An exception ends the run FAILED."""
    import mlflow

    with tracking.mlflow_run(tracking_uri, experiment, artifact_location) as run_id:
        tags = {"dataset_version": dataset_version, "git_commit": git_commit(REPO_ROOT) or "unknown"}
        mlflow.set_tags({**tags, "zenml_run": zenml_run})
        tracking.log_params_flat({**config.model_dump(mode="json"), "dataset_version": dataset_version})
        yield run_id, lambda record: tracking.log_epoch(_curve(record), step=record.epoch - 1)


def train_and_export(
    settings: Settings,
    version: DatasetVersion,
    config: TrainingConfig,
    run_id: str,
    artifact_location: str | None,
) -> TrainedModel:
    """Train (logged live to MLflow), export to ONNX (checked against Keras on the test split)
    and store both models."""
    import mlflow

    store = object_store(settings)
    data = _arrays(settings, store, version.id, config.image_size)
    weights = load_imagenet_weights(settings.home / "weights")
    with training_run(settings.tracking_uri, EXPERIMENT, artifact_location, config, version.id, run_id) as (
        mlflow_run_id,
        log_epoch,
    ):
        result = train_classifier(data, config, weights, on_epoch=log_epoch)
        with tempfile.TemporaryDirectory() as tmp:
            exported = export_and_check(result.model, Path(tmp) / "model.onnx", data["test"].images)
            keras_path = Path(tmp) / "model.keras"
            result.model.save(keras_path)
            onnx_key = model_run_key(run_id, "model.onnx")
            keras_key = model_run_key(run_id, "model.keras")
            store.put(onnx_key, exported.path.read_bytes())
            store.put(keras_key, keras_path.read_bytes())
            history = [dataclasses.asdict(record) for record in result.history]
            mlflow.log_metrics(
                {
                    "best_epoch": float(result.best_epoch),
                    "train_wall_seconds": result.wall_seconds,
                    "onnx_parity_max_abs_diff": exported.max_abs_diff,
                }
            )
            tracking.log_params_flat({"seeds": result.seeds})
            files = [
                _write(
                    Path(tmp) / "config.yaml",
                    yaml.safe_dump(config.model_dump(mode="json"), sort_keys=False).encode(),
                ),
                _write(Path(tmp) / "history.json", json.dumps(history, indent=1).encode()),
            ]
            tracking.log_files(files, artifact_path="training")
    log.info(
        "exported ONNX (max |p_keras - p_onnx| = %.2e) to %s", exported.max_abs_diff, store.uri(onnx_key)
    )
    return TrainedModel(
        run_id=run_id,
        mlflow_run_id=mlflow_run_id,
        dataset_version=version.id,
        onnx_key=onnx_key,
        onnx_sha256=exported.sha256,
        keras_key=keras_key,
        parity_max_abs_diff=exported.max_abs_diff,
        history=history,
        best_epoch=result.best_epoch,
        best_stage=result.best_stage,
        wall_seconds=result.wall_seconds,
        seeds=result.seeds,
        config=config.model_dump(mode="json"),
    )


def _onnx_runner(store: ObjectStore, key: str, folder: Path) -> OnnxClassifier:
    path = folder / Path(key).name
    path.write_bytes(store.get(key))
    return OnnxClassifier(path)


def evaluate_exported(
    settings: Settings, trained: TrainedModel, artifact_location: str | None
) -> EvaluationSummary:
    """Metrics and plots of the exported (ONNX) model on the test split: what will be served.
    They are logged to the model's MLflow run too."""
    import mlflow

    store = object_store(settings)
    test = _arrays(settings, store, trained.dataset_version, int(trained.config["image_size"]), ("test",))[
        "test"
    ]
    with (
        tracking.mlflow_run(settings.tracking_uri, EXPERIMENT, artifact_location, trained.mlflow_run_id),
        tempfile.TemporaryDirectory() as tmp,
    ):
        folder = Path(tmp)
        probabilities = _onnx_runner(store, trained.onnx_key, folder).predict(test.images.astype(np.float32))
        report = report_from_probabilities(probabilities, test.labels, LABELS, test.sha256)
        plots = [
            write_confusion_matrix_png(report, folder / "confusion_matrix.png"),
            write_reliability_png(report, folder / "reliability.png"),
            write_misclassified_grid_png(report, test.images, folder / "misclassified.png"),
        ]
        plot_keys = []
        for plot in plots:
            key = model_run_key(trained.run_id, f"plots/{plot.name}")
            store.put(key, plot.read_bytes())
            plot_keys.append(key)
        predictions_key = model_run_key(trained.run_id, "test_predictions.json")
        predictions = json.dumps(report.predictions(), indent=1).encode()
        store.put(predictions_key, predictions)
        mlflow.log_metrics({f"test_{k}": v for k, v in report.metrics().items() if np.isfinite(v)})
        tracking.log_files([*plots, _write(folder / "test_predictions.json", predictions)], "evaluation")
    return EvaluationSummary(
        metrics=report.metrics(),
        confusion_matrix=report.confusion_matrix,
        labels=list(LABELS),
        plot_keys=plot_keys,
        predictions_key=predictions_key,
    )


def register_model(
    settings: Settings, trained: TrainedModel, evaluation: EvaluationSummary, artifact_location: str | None
) -> RegisteredModel:
    """Log the ONNX model to the model's MLflow run and register it as a new version of the
    registered model, aliased `challenger`."""
    import mlflow

    store = object_store(settings)
    commit = git_commit(REPO_ROOT) or "unknown"
    with (
        tracking.mlflow_run(
            settings.tracking_uri, EXPERIMENT, artifact_location, trained.mlflow_run_id
        ) as run_id,
        tempfile.TemporaryDirectory() as tmp,
    ):
        uri = mlflow.get_tracking_uri()
        onnx_path = _write(Path(tmp) / "model.onnx", store.get(trained.onnx_key))
        model_uri = tracking.log_onnx_model(onnx_path)
        experiment_id = mlflow.get_run(run_id).info.experiment_id
        version = model_registry.register_version(
            uri,
            settings.model_name,
            model_uri,
            tags={
                "dataset_version": trained.dataset_version,
                "git_commit": commit,
                "onnx_sha256": trained.onnx_sha256,
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


def _curve(record: EpochRecord) -> dict[str, float]:
    keys = ("loss", "accuracy", "f1", "val_loss", "val_accuracy", "val_f1", "learning_rate")
    return {key: float(getattr(record, key)) for key in keys}


def _write(path: Path, data: bytes) -> Path:
    path.write_bytes(data)
    return path


def run_gate(
    settings: Settings, trained: TrainedModel, registered: RegisteredModel, rule: GateRule
) -> GateDecision:
    """Score challenger and champion on the same current test split; move `champion` if the
    challenger wins; record the decision and both scores on the challenger's version."""
    store = object_store(settings)
    test = _arrays(settings, store, trained.dataset_version, int(trained.config["image_size"]), ("test",))[
        "test"
    ]
    images = test.images.astype(np.float32)
    uri, name = registered.tracking_uri, registered.name
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        challenger = score_probabilities(
            _onnx_runner(store, trained.onnx_key, folder).predict(images), test.labels
        )
        champion_info = model_registry.get_alias(uri, name, model_registry.CHAMPION)
        champion: Scores | None = None
        if champion_info is not None and champion_info.version != registered.version:
            local = model_registry.download_version(uri, name, champion_info.version, folder / "champion")
            runner = OnnxClassifier(next(local.rglob("*.onnx")))
            # The same photos at the champion's own input size when it was trained at another one.
            size = runner.input_size or test.images.shape[1]
            same = images if size == test.images.shape[1] else _test_images(settings, store, trained, size)
            champion = score_probabilities(runner.predict(same), test.labels)
    decision = decide(challenger, champion, rule)
    tags = {
        "gate.decision": "promoted" if decision.promote else "rejected",
        "gate.reason": decision.reason,
        "gate.dataset_version": trained.dataset_version,
        "gate.challenger_f1": f"{challenger.f1:.4f}",
        "gate.challenger_log_loss": f"{challenger.log_loss:.4f}",
        "gate.champion_version": champion_info.version if champion_info else "none",
        "gate.champion_f1": f"{champion.f1:.4f}" if champion else "none",
        "gate.champion_log_loss": f"{champion.log_loss:.4f}" if champion else "none",
    }
    model_registry.tag_version(uri, name, registered.version, tags)
    if decision.promote:
        model_registry.move_champion(uri, name, registered.version, how="gate", reason=decision.reason)
    return decision


def _test_images(settings: Settings, store: ObjectStore, trained: TrainedModel, size: int) -> Any:
    test = _arrays(settings, store, trained.dataset_version, size, ("test",))["test"]
    return test.images.astype(np.float32)


def load_gate_rule(path: Path) -> GateRule:
    """The gate's rule from configs/promotion.yaml."""
    return GateRule.model_validate(yaml.safe_load(path.read_text()) or {})
