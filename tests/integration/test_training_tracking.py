"""MLflow sees training live: epochs are logged as they end, and a crash leaves a FAILED run
with its curves so far (real Keras training, real MLflow server)."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pytest
from conftest import MlflowTarget

from greenr.training.config import TrainingConfig
from greenr.training.data import SplitArrays
from greenr.training.run_tracking import training_run
from greenr.training.train import EpochRecord, train_classifier

pytestmark = [pytest.mark.integration, pytest.mark.slow]


class InducedFailure(RuntimeError):
    """Stands for whatever can kill a training half-way (out of memory, a bad batch, a bug)."""


def tiny_data() -> dict[str, SplitArrays]:
    rng = np.random.default_rng(0)
    return {
        split: SplitArrays(
            rng.integers(0, 256, size=(n, 32, 32, 3), dtype=np.uint8),
            np.arange(n) % 2,
            [f"{split}{i}" for i in range(n)],
        )
        for split, n in (("train", 8), ("validation", 4))
    }


def tiny_config() -> TrainingConfig:
    base = TrainingConfig()
    return base.model_copy(
        update={
            "image_size": 32,
            "batch_size": 4,
            "head": base.head.model_copy(update={"epochs": 3}),
            "fine_tune": base.fine_tune.model_copy(update={"epochs": 3}),
        }
    )


def fail_at(epoch: int, log_epoch: Callable[[EpochRecord], None]) -> Callable[[EpochRecord], None]:
    def on_epoch(record: EpochRecord) -> None:
        log_epoch(record)
        if record.epoch == epoch:
            raise InducedFailure(f"induced failure after epoch {epoch}")

    return on_epoch


def test_a_crashed_training_leaves_a_failed_run_with_its_curves(mlflow_tracking: MlflowTarget) -> None:
    import mlflow
    from mlflow import MlflowClient

    client = MlflowClient(tracking_uri=mlflow_tracking.uri)
    try:
        with (
            pytest.raises(InducedFailure),
            training_run(
                mlflow_tracking.uri,
                mlflow_tracking.experiment_name,
                None,
                tiny_config(),
                "ds-test",
                "zenml-run",
            ) as (run_id, log_epoch),
        ):
            # Epoch 4 is the first fine-tuning epoch: both stages have logged by then.
            train_classifier(tiny_data(), tiny_config(), None, on_epoch=fail_at(4, log_epoch))
    finally:
        mlflow.set_tracking_uri("")

    run = client.get_run(run_id)
    assert run.info.status == "FAILED"
    assert run.data.params["head.epochs"] == "3"
    assert run.data.params["dataset_version"] == "ds-test"
    assert run.data.tags["zenml_run"] == "zenml-run"
    curve = client.get_metric_history(run_id, "val_loss")
    assert [m.step for m in curve] == [0, 1, 2, 3]
    assert len(client.get_metric_history(run_id, "learning_rate")) == 4


def test_a_finished_training_run_has_every_epoch(mlflow_tracking: MlflowTarget) -> None:
    import mlflow
    from mlflow import MlflowClient

    try:
        with training_run(
            mlflow_tracking.uri, mlflow_tracking.experiment_name, None, tiny_config(), "ds-test", "zenml-run"
        ) as (run_id, log_epoch):
            result = train_classifier(tiny_data(), tiny_config(), None, on_epoch=log_epoch)
    finally:
        mlflow.set_tracking_uri("")

    client = MlflowClient(tracking_uri=mlflow_tracking.uri)
    assert client.get_run(run_id).info.status == "FINISHED"
    curve = client.get_metric_history(run_id, "val_loss")
    assert [m.value for m in sorted(curve, key=lambda m: m.step)] == pytest.approx(
        [r.val_loss for r in result.history]
    )
