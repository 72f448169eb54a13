"""The open-set scorer of a model version: fitted on its train split, calibrated on validation.

The scorer sees what the model server sees: the exported ONNX model's embeddings and
probabilities on the photos decoded as uploads are decoded (the feature reference's loading and
running code). Its threshold is the validation split's score at `OpenSetConfig.quantile`; the
test split's rejection rate is what the promotion gate judges. `open_set.json` is logged to the
training's MLflow run (under `OPEN_SET_ARTIFACT_PATH`) and published next to the serving
artifact (greenr.deployment.artifact.COMPANION_FILES).
"""

from __future__ import annotations

import logging
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import Final

import numpy as np
import numpy.typing as npt
from pydantic import BaseModel

from greenr.open_set.scorer import (
    OPEN_SET_FILE,
    OpenSetScorer,
    fit_scorer,
    scorer_to_json,
    threshold_at_quantile,
)
from greenr.registry.promotion import OpenSetRefusals
from greenr.resources import object_store
from greenr.settings import Settings
from greenr.training.config import OpenSetConfig
from greenr.training.data import SplitArrays, read_manifest
from greenr.training.feature_reference import load_reference_photos, run_exported_model
from greenr.training.registration import RegisteredModel
from greenr.training.run_tracking import EXPERIMENT
from greenr.training.trained_model import TrainedModel

log = logging.getLogger(__name__)

OPEN_SET_ARTIFACT_PATH: Final = "open_set"
"""Folder of the training run's MLflow artifacts holding OPEN_SET_FILE."""


class OpenSetSummary(BaseModel):
    """What the gate and the model card need to know about a version's open-set scorer."""

    method: str
    options: dict[str, float]
    quantile: float
    threshold: float
    validation_rejection_rate: float
    test_rejection_rate: float
    validation_photos: int
    test_photos: int

    def test_refusals(self) -> OpenSetRefusals:
        """The test photos answered "neither", as the promotion gate judges them (the rate is a
        count over `test_photos`, so rounding gives the count back exactly)."""
        refused = round(self.test_rejection_rate * self.test_photos)
        return OpenSetRefusals(refused=refused, photos=self.test_photos)


def calibrate_scorer(
    config: OpenSetConfig,
    train_embeddings: npt.ArrayLike,
    train_labels: Sequence[str],
    validation_embeddings: npt.ArrayLike,
    validation_probabilities: npt.ArrayLike,
) -> OpenSetScorer:
    """Fit the configured method on the train split; threshold at the validation quantile.

    Raises:
        OpenSetError: the scorer cannot be fitted (too few photos, k above the train size...).
    """
    fitted = fit_scorer(
        config.method,
        train_embeddings,
        train_labels,
        k=config.k,
        components=config.components,
        shrinkage=config.shrinkage,
    )
    scores = fitted.scores(validation_embeddings, validation_probabilities)
    threshold = threshold_at_quantile(scores, config.quantile)
    rate = rejection_rate(
        fitted.with_threshold(threshold, {}), validation_embeddings, validation_probabilities
    )
    calibration = {
        "quantile": config.quantile,
        "validation_rejection_rate": rate,
        "validation_photos": len(scores),
    }
    return fitted.with_threshold(threshold, calibration)


def rejection_rate(scorer: OpenSetScorer, embeddings: npt.ArrayLike, probabilities: npt.ArrayLike) -> float:
    """Share of the photos answered "neither" (0 for none)."""
    rejected = scorer.rejected(scorer.scores(embeddings, probabilities))
    return float(rejected.mean()) if rejected.size else 0.0


def summarize(
    scorer: OpenSetScorer, config: OpenSetConfig, test_rate: float, test_photos: int
) -> OpenSetSummary:
    """The gate's and card's view of a calibrated scorer and its test rejection rate."""
    return OpenSetSummary(
        method=scorer.method,
        options=dict(scorer.options),
        quantile=config.quantile,
        threshold=scorer.threshold,
        validation_rejection_rate=scorer.calibration["validation_rejection_rate"],
        test_rejection_rate=test_rate,
        validation_photos=int(scorer.calibration["validation_photos"]),
        test_photos=test_photos,
    )


def log_open_set(scorer: OpenSetScorer, summary: OpenSetSummary) -> None:
    """Attach open_set.json and the rejection metrics to the active MLflow run."""
    import mlflow

    from greenr.registry import tracking

    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / OPEN_SET_FILE
        path.write_text(scorer_to_json(scorer), encoding="utf-8")
        tracking.log_files([path], OPEN_SET_ARTIFACT_PATH)
    mlflow.log_metrics(
        {
            "open_set_threshold": summary.threshold,
            "open_set_validation_rejection_rate": summary.validation_rejection_rate,
            "open_set_test_rejection_rate": summary.test_rejection_rate,
        }
    )


def compute_open_set(
    settings: Settings,
    trained: TrainedModel,
    registered: RegisteredModel,
    test: SplitArrays,
    config: OpenSetConfig,
    artifact_location: str | None,
) -> OpenSetSummary:
    """The step's work: fit, calibrate, measure on test, log to the version's training run."""
    from greenr.registry import tracking

    store = object_store(settings)
    manifest = read_manifest(store, trained.summary.dataset_version)
    photos = load_reference_photos(
        store, manifest, trained.summary.input_size, settings.max_image_pixels, settings.jpeg_draft_margin
    )
    with tempfile.TemporaryDirectory() as tmp:
        runner = trained.onnx_classifier(Path(tmp))
        outputs = run_exported_model(runner, photos)
        test_outputs = runner.outputs(test.images.astype(np.float32))
    if outputs.embeddings is None or len(test_outputs) < 2:
        raise ValueError("the exported model has no embedding output: the open-set scorer needs it")
    train = [i for i, photo in enumerate(photos) if photo.split == "train"]
    validation = [i for i, photo in enumerate(photos) if photo.split == "validation"]
    scorer = calibrate_scorer(
        config,
        outputs.embeddings[train],
        [photos[i].label for i in train],
        outputs.embeddings[validation],
        outputs.probabilities[validation],
    )
    test_rate = rejection_rate(scorer, test_outputs[1], test_outputs[0])
    summary = summarize(scorer, config, test_rate, len(test))
    with tracking.mlflow_run(
        settings.tracking_uri, EXPERIMENT, artifact_location, trained.summary.mlflow_run_id
    ):
        log_open_set(scorer, summary)
    log.info(
        "open set of %s version %s: %s, threshold %.4f, rejects %.1f %% of validation, %.1f %% of test",
        registered.name,
        registered.version,
        summary.method,
        summary.threshold,
        100 * summary.validation_rejection_rate,
        100 * summary.test_rejection_rate,
    )
    return summary
