"""The open-set scorer of a model version: fitted on its train split, calibrated on validation.

The scorer sees what the model server sees: the exported ONNX model's embeddings and
probabilities on the photos decoded as uploads are decoded (the feature reference's loading and
running code). Its threshold is the validation split's score at `OpenSetConfig.quantile`, or
(`calibration: pooled`) that quantile of the validation scores pooled with the train photos'
out-of-fold scores (greenr/open_set/calibration.py); the test split's rejection rate is what the
promotion gate judges. A method that learns from out-of-domain pictures (outlier exposure) also
sees the development photos under `Settings.open_set_negatives_dir`, generated pictures
(greenr/training/open_set_negatives.py) and, when configured, scikit-image's far-domain pictures
(greenr/open_set/far_domain.py) and pictures made from the train photos
(greenr/open_set/derived_negatives.py); without that folder it falls back to knn on in-domain
photos only, and says so (log line, summary, MLflow tag, model card). `open_set.json`
is logged to the training's MLflow run (under `OPEN_SET_ARTIFACT_PATH`) and published next to the
serving artifact (greenr.deployment.artifact.COMPANION_FILES).
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

from greenr.open_set.calibration import matched_to, out_of_fold_scores, pooled_threshold
from greenr.open_set.derived_negatives import derived_negatives
from greenr.open_set.far_domain import far_domain_uploads
from greenr.open_set.scorer import (
    NEEDS_NEGATIVES,
    OPEN_SET_FILE,
    OpenSetError,
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
from greenr.training.open_set_negatives import NegativePictures, load_negative_pictures, with_derived
from greenr.training.registration import RegisteredModel
from greenr.training.run_tracking import EXPERIMENT
from greenr.training.trained_model import TrainedModel

log = logging.getLogger(__name__)

OPEN_SET_ARTIFACT_PATH: Final = "open_set"
"""Folder of the training run's MLflow artifacts holding OPEN_SET_FILE."""
FALLBACK_METHOD: Final = "knn"
"""What a method needing out-of-domain pictures becomes when there are none (in-domain only)."""


class OpenSetSummary(BaseModel):
    """What the gate and the model card need to know about a version's open-set scorer."""

    method: str
    options: dict[str, float]
    quantile: float
    calibration: str = "validation"
    """Whose scores the quantile is taken of (OpenSetConfig.calibration)."""
    threshold: float
    validation_rejection_rate: float
    test_rejection_rate: float
    validation_photos: int
    test_photos: int
    development_negatives: int = 0
    """Out-of-domain development photos the scorer learned from (0: in-domain photos only)."""
    synthetic_negatives: int = 0
    """Generated out-of-domain pictures it learned from."""
    derived_negatives: int = 0
    """Pictures made from train photos (grey, tile-shuffled, inverted) it learned from."""
    far_domain_negatives: int = 0
    """scikit-image's far-domain pictures it learned from (greenr/open_set/far_domain.py)."""
    fallback: str | None = None
    """Why the configured method was replaced by FALLBACK_METHOD; None when it was not."""

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
    negative_embeddings: npt.ArrayLike | None = None,
    train_probabilities: npt.ArrayLike | None = None,
) -> OpenSetScorer:
    """Fit the configured method on the train split (and the out-of-domain pictures' embeddings
    for outlier exposure); threshold at the quantile of the validation scores, pooled with the
    train photos' out-of-fold scores when `config.calibration` is "pooled" (which needs
    `train_probabilities`).

    Raises:
        OpenSetError: the scorer cannot be fitted (too few photos, k above the train size, no
            negatives for a method that needs them, pooled calibration without the train
            probabilities...).
    """
    train = np.asarray(train_embeddings, dtype=np.float64)
    labels = list(train_labels)

    def fit(rows: npt.NDArray[np.int64] | None = None) -> OpenSetScorer:
        chosen = np.arange(len(train)) if rows is None else rows
        return fit_scorer(
            config.method,
            train[chosen],
            [labels[i] for i in chosen],
            k=config.k,
            components=config.components,
            shrinkage=config.shrinkage,
            negatives=negative_embeddings,
            penalty=config.penalty,
        )

    fitted = fit()
    scores = fitted.scores(validation_embeddings, validation_probabilities)
    calibration: dict[str, float] = {"quantile": config.quantile, "validation_photos": len(scores)}
    if config.calibration == "pooled":
        if train_probabilities is None:
            raise OpenSetError("pooled calibration needs the train photos' probabilities")
        out_of_fold = out_of_fold_scores(fit, train, train_probabilities, config.calibration_folds)
        threshold = pooled_threshold(scores, out_of_fold, config.quantile)
        calibration |= {
            "train_out_of_fold_photos": len(out_of_fold),
            "folds": config.calibration_folds,
            "train_out_of_fold_rejection_rate": float((matched_to(scores, out_of_fold) > threshold).mean()),
        }
    else:
        threshold = threshold_at_quantile(scores, config.quantile)
    calibration["validation_rejection_rate"] = rejection_rate(
        fitted.with_threshold(threshold, {}), validation_embeddings, validation_probabilities
    )
    return fitted.with_threshold(threshold, calibration)


def rejection_rate(scorer: OpenSetScorer, embeddings: npt.ArrayLike, probabilities: npt.ArrayLike) -> float:
    """Share of the photos answered "neither" (0 for none)."""
    rejected = scorer.rejected(scorer.scores(embeddings, probabilities))
    return float(rejected.mean()) if rejected.size else 0.0


def method_to_fit(
    config: OpenSetConfig, negatives: NegativePictures | None, folder: Path
) -> tuple[OpenSetConfig, str | None]:
    """The config to fit and why it differs from the configured one (None: it does not): a method
    needing out-of-domain pictures falls back to FALLBACK_METHOD when there are none."""
    if config.method not in NEEDS_NEGATIVES or negatives is not None:
        return config, None
    reason = (
        f"no out-of-domain development photos under {folder} (<kind>/*.jpg; set "
        f"GREENR_OPEN_SET_NEGATIVES_DIR): {config.method} fell back to {FALLBACK_METHOD} "
        "on in-domain photos only"
    )
    return config.model_copy(update={"method": FALLBACK_METHOD, "k": max(config.k, 1)}), reason


def summarize(
    scorer: OpenSetScorer,
    config: OpenSetConfig,
    test_rate: float,
    test_photos: int,
    negatives: NegativePictures | None = None,
    fallback: str | None = None,
) -> OpenSetSummary:
    """The gate's and card's view of a calibrated scorer and its test rejection rate."""
    used = scorer.method in NEEDS_NEGATIVES and negatives is not None
    return OpenSetSummary(
        method=scorer.method,
        options=dict(scorer.options),
        quantile=config.quantile,
        calibration=config.calibration,
        threshold=scorer.threshold,
        validation_rejection_rate=scorer.calibration["validation_rejection_rate"],
        test_rejection_rate=test_rate,
        validation_photos=int(scorer.calibration["validation_photos"]),
        test_photos=test_photos,
        development_negatives=negatives.development if used and negatives else 0,
        synthetic_negatives=negatives.synthetic if used and negatives else 0,
        derived_negatives=negatives.derived if used and negatives else 0,
        far_domain_negatives=negatives.far_domain if used and negatives else 0,
        fallback=fallback,
    )


def log_open_set(scorer: OpenSetScorer, summary: OpenSetSummary) -> None:
    """Attach open_set.json and the rejection metrics to the active MLflow run."""
    import mlflow

    from greenr.registry import tracking

    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / OPEN_SET_FILE
        path.write_text(scorer_to_json(scorer), encoding="utf-8")
        tracking.log_files([path], OPEN_SET_ARTIFACT_PATH)
    mlflow.set_tags(
        {
            "open_set_method": summary.method,
            "open_set_negatives": f"{summary.development_negatives} development + "
            f"{summary.far_domain_negatives} far-domain + {summary.synthetic_negatives} generated + "
            f"{summary.derived_negatives} derived",
            "open_set_fallback": summary.fallback or "none",
        }
    )
    mlflow.log_metrics(
        {
            "open_set_threshold": summary.threshold,
            "open_set_validation_rejection_rate": summary.validation_rejection_rate,
            "open_set_test_rejection_rate": summary.test_rejection_rate,
        }
    )


def negative_pictures(
    settings: Settings, config: OpenSetConfig, train_images: Sequence[npt.NDArray[np.uint8]], size: int
) -> NegativePictures | None:
    """The out-of-domain pictures outlier exposure learns from: the development photos, when
    configured the far-domain pictures, the generated pictures and `config.derived_negatives` made
    from the train photos (model inputs); None without development photos."""
    far = [data for _, data in far_domain_uploads()] if config.far_domain_negatives else []
    negatives = load_negative_pictures(
        settings.open_set_negatives_dir,
        config.synthetic_negatives,
        config.negatives_seed,
        size,
        settings.max_image_pixels,
        settings.jpeg_draft_margin,
        config.synthetic_kinds,
        far,
    )
    if negatives is None or not config.derived_negatives:
        return negatives
    made = derived_negatives(np.stack(train_images), config.derived_negatives, config.negatives_seed)
    return with_derived(negatives, made)


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
    folder = settings.open_set_negatives_dir
    train = [i for i, photo in enumerate(photos) if photo.split == "train"]
    validation = [i for i, photo in enumerate(photos) if photo.split == "validation"]
    negatives = (
        negative_pictures(
            settings, config, [photos[i].image.pixels for i in train], trained.summary.input_size
        )
        if config.method in NEEDS_NEGATIVES
        else None
    )
    fitted_config, fallback = method_to_fit(config, negatives, folder)
    if fallback is not None:
        log.warning("open set: %s", fallback)
    with tempfile.TemporaryDirectory() as tmp:
        runner = trained.onnx_classifier(Path(tmp))
        outputs = run_exported_model(runner, photos)
        test_outputs = runner.outputs(test.images.astype(np.float32))
        negative_outputs = runner.outputs(negatives.images.astype(np.float32)) if negatives else None
    if outputs.embeddings is None or len(test_outputs) < 2:
        raise ValueError("the exported model has no embedding output: the open-set scorer needs it")
    scorer = calibrate_scorer(
        fitted_config,
        outputs.embeddings[train],
        [photos[i].label for i in train],
        outputs.embeddings[validation],
        outputs.probabilities[validation],
        negative_outputs[1] if negative_outputs else None,
        outputs.probabilities[train],
    )
    test_rate = rejection_rate(scorer, test_outputs[1], test_outputs[0])
    summary = summarize(scorer, fitted_config, test_rate, len(test), negatives, fallback)
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
