"""The training's MLflow run: opened by the training step, resumed by evaluation and registration."""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator

from greenr.provenance import git_commit
from greenr.registry import tracking
from greenr.settings import REPO_ROOT
from greenr.training.config import TrainingConfig
from greenr.training.train import EpochRecord

EXPERIMENT = "greenr-training"
CURVE_KEYS = ("loss", "accuracy", "f1", "val_loss", "val_accuracy", "val_f1", "learning_rate")


def curve(record: EpochRecord) -> dict[str, float]:
    """The metrics of one epoch that MLflow plots as curves."""
    return {key: float(getattr(record, key)) for key in CURVE_KEYS}


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
        yield run_id, lambda record: tracking.log_epoch(curve(record), step=record.epoch - 1)
