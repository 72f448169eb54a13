"""The open-set step's logic on a real (tiny) ONNX model's outputs: fitted on train, threshold
from validation, far photos rejected, the summary the gate and the card read."""

from __future__ import annotations

import io
from dataclasses import dataclass
from pathlib import Path
from typing import get_args

import numpy as np
import numpy.typing as npt
import pytest
from photo_factory import jpeg_bytes
from PIL import Image
from trained_model_kit import tiny_onnx_model

from greenr.export.onnx_runtime import OnnxClassifier
from greenr.images.preprocess import decode_sized_model_input
from greenr.open_set import far_domain
from greenr.open_set.calibration import CALIBRATIONS, fold_assignment, matched_to
from greenr.open_set.scorer import OpenSetError, fit_scorer, scorer_from_json, scorer_to_json
from greenr.settings import Settings
from greenr.training.config import OpenSetConfig, TrainingConfig, load_training_config
from greenr.training.feature_reference import ModelRun, ReferencePhoto, run_exported_model
from greenr.training.open_set import (
    calibrate_scorer,
    method_to_fit,
    negative_pictures,
    rejection_rate,
    summarize,
)
from greenr.training.open_set_negatives import NegativePictures, load_negative_pictures, with_derived

SIZE = 8


def _photo(split: str, label: str, colour: tuple[int, int, int]) -> ReferencePhoto:
    image = decode_sized_model_input(jpeg_bytes(Image.new("RGB", (40, 30), colour)), 10_000_000, SIZE)
    return ReferencePhoto(split="train" if split == "train" else "validation", label=label, image=image)


def _photos(split: str, count: int, offset: int) -> list[ReferencePhoto]:
    """Reddish dandelions and greenish grass, a little different each."""
    return [_photo(split, "dandelion", (200, 60 + offset + 3 * i, 30)) for i in range(count)] + [
        _photo(split, "grass", (40, 160 + offset + 3 * i, 50)) for i in range(count)
    ]


def _run(tmp_path: Path, photos: list[ReferencePhoto]) -> ModelRun:
    (tmp_path / "model.onnx").write_bytes(tiny_onnx_model(SIZE, embedding=True))
    return run_exported_model(OnnxClassifier(tmp_path / "model.onnx"), photos, batch_size=4)


@dataclass(frozen=True)
class Outputs:
    """The tiny model's outputs on 20 train and 20 validation photos."""

    train: npt.NDArray[np.float32]
    labels: list[str]
    validation: npt.NDArray[np.float32]
    probabilities: npt.NDArray[np.float32]


@pytest.fixture
def outputs(tmp_path: Path) -> Outputs:
    photos = _photos("train", 10, 0)
    train, validation = _run(tmp_path, photos), _run(tmp_path, _photos("validation", 10, 1))
    assert train.embeddings is not None
    assert validation.embeddings is not None
    return Outputs(
        train.embeddings, [p.label for p in photos], validation.embeddings, validation.probabilities
    )


KNN = OpenSetConfig(method="knn", k=1, quantile=0.9)


def test_the_threshold_is_the_validation_quantile_and_far_photos_are_rejected(
    tmp_path: Path, outputs: Outputs
) -> None:
    config = KNN
    scorer = calibrate_scorer(
        config, outputs.train, outputs.labels, outputs.validation, outputs.probabilities
    )
    scores = scorer.scores(outputs.validation, outputs.probabilities)
    assert scorer.threshold == pytest.approx(float(np.quantile(scores, 0.9, method="higher")))
    rate = rejection_rate(scorer, outputs.validation, outputs.probabilities)
    assert rate == scorer.calibration["validation_rejection_rate"] <= 0.1
    assert scorer.calibration["validation_photos"] == 20
    far = _run(
        tmp_path, [_photo("validation", "dandelion", colour) for colour in ((30, 40, 220), (250, 250, 250))]
    )
    assert far.embeddings is not None
    assert rejection_rate(scorer, far.embeddings, far.probabilities) == 1.0
    # What the model server reads back scores the same.
    again = scorer_from_json(scorer_to_json(scorer))
    assert again.threshold == pytest.approx(scorer.threshold, rel=1e-6)
    assert again.calibration["quantile"] == 0.9


def test_the_summary_holds_what_the_gate_and_card_read(outputs: Outputs) -> None:
    config = KNN
    scorer = calibrate_scorer(
        config, outputs.train, outputs.labels, outputs.validation, outputs.probabilities
    )
    summary = summarize(scorer, config, test_rate=0.05, test_photos=60)
    assert (summary.method, summary.options, summary.quantile) == ("knn", {"k": 1.0}, 0.9)
    assert summary.threshold == scorer.threshold
    assert summary.validation_rejection_rate == scorer.calibration["validation_rejection_rate"]
    assert (summary.test_rejection_rate, summary.test_photos, summary.validation_photos) == (0.05, 60, 20)


def test_mahalanobis_uses_the_configured_components(
    outputs: Outputs,
) -> None:
    config = OpenSetConfig(method="mahalanobis", components=2, shrinkage=0.2, quantile=1.0)
    scorer = calibrate_scorer(
        config, outputs.train, outputs.labels, outputs.validation, outputs.probabilities
    )
    assert scorer.options == {"components": 2.0, "shrinkage": 0.2}
    assert rejection_rate(scorer, outputs.validation, outputs.probabilities) == 0.0


def test_k_above_the_train_photos_is_a_clear_error(
    outputs: Outputs,
) -> None:
    with pytest.raises(OpenSetError, match=r"k = 50 needs 1\.\.20 train photos"):
        calibrate_scorer(
            OpenSetConfig(k=50), outputs.train, outputs.labels, outputs.validation, outputs.probabilities
        )


def test_the_training_config_holds_a_valid_open_set_section() -> None:
    config = load_training_config()
    assert config.open_set.method in ("mahalanobis", "knn", "max_probability", "outlier_exposure")
    assert 0 < config.open_set.quantile <= 1
    assert TrainingConfig().open_set == OpenSetConfig()
    with pytest.raises(ValueError, match="method"):
        OpenSetConfig.model_validate({"method": "energy"})


def test_outlier_exposure_learns_from_negatives_and_rejects_pictures_like_them(
    tmp_path: Path, outputs: Outputs
) -> None:
    # Bluish pictures are the out-of-domain development set; other bluish ones must be rejected.
    negatives = _run(tmp_path, [_photo("validation", "neither", (40, 60, 180 + 4 * i)) for i in range(8)])
    config = OpenSetConfig(method="outlier_exposure", k=3, quantile=0.9)
    scorer = calibrate_scorer(
        config, outputs.train, outputs.labels, outputs.validation, outputs.probabilities, negatives.embeddings
    )
    assert scorer.method == "outlier_exposure"
    assert rejection_rate(scorer, outputs.validation, outputs.probabilities) <= 0.1
    unseen = _run(
        tmp_path, [_photo("validation", "neither", (30, 50, 240)), _photo("validation", "x", (60, 40, 200))]
    )
    assert unseen.embeddings is not None
    assert rejection_rate(scorer, unseen.embeddings, unseen.probabilities) == 1.0


def test_without_development_photos_outlier_exposure_falls_back_to_knn_and_says_so(
    tmp_path: Path, outputs: Outputs
) -> None:
    folder = tmp_path / "no-neither-here"
    negatives = load_negative_pictures(folder, synthetic=4, seed=1, size=SIZE, max_pixels=10_000_000)
    assert negatives is None
    config = OpenSetConfig(method="outlier_exposure", k=3, quantile=0.9)
    fitted, reason = method_to_fit(config, negatives, folder)
    assert (fitted.method, fitted.k) == ("knn", 3)
    assert reason is not None
    assert str(folder) in reason
    assert "GREENR_OPEN_SET_NEGATIVES_DIR" in reason
    scorer = calibrate_scorer(
        fitted, outputs.train, outputs.labels, outputs.validation, outputs.probabilities
    )
    summary = summarize(scorer, fitted, 0.0, 60, negatives, reason)
    assert (summary.method, summary.fallback, summary.development_negatives) == ("knn", reason, 0)


def test_an_in_domain_method_never_falls_back(tmp_path: Path) -> None:
    assert method_to_fit(KNN, None, tmp_path) == (KNN, None)


def test_the_development_photos_and_generated_pictures_become_model_inputs(tmp_path: Path) -> None:
    for kind, colour in (("tulip", (200, 40, 120)), ("rose", (180, 20, 30))):
        (tmp_path / kind).mkdir()
        for index in range(2):
            Image.new("RGB", (50, 40), colour).save(tmp_path / kind / f"{index:03}.jpg")
    (tmp_path / "notes.txt").write_text("not a photo")
    negatives = load_negative_pictures(tmp_path, synthetic=3, seed=1, size=SIZE, max_pixels=10_000_000)
    assert negatives is not None
    assert (negatives.development, negatives.synthetic) == (4, 3)
    assert negatives.images.shape == (7, SIZE, SIZE, 3)
    assert negatives.images.dtype == np.uint8
    # Ordered by kind then name: rose first.
    assert tuple(negatives.images[0, 0, 0]) == pytest.approx((180, 20, 30), abs=12)


def test_far_domain_pictures_come_after_the_development_photos_and_before_the_generated(
    tmp_path: Path,
) -> None:
    (tmp_path / "tulip").mkdir()
    Image.new("RGB", (50, 40), (200, 40, 120)).save(tmp_path / "tulip" / "000.jpg")
    far = io.BytesIO()
    Image.new("RGB", (64, 48), (10, 200, 250)).save(far, format="PNG")
    negatives = load_negative_pictures(
        tmp_path, synthetic=2, seed=1, size=SIZE, max_pixels=10_000_000, far_domain=[far.getvalue()]
    )
    assert negatives is not None
    assert (negatives.development, negatives.far_domain, negatives.synthetic) == (1, 1, 2)
    assert negatives.images.shape == (4, SIZE, SIZE, 3)
    assert tuple(negatives.images[1, 0, 0]) == pytest.approx((10, 200, 250), abs=12)
    joined = with_derived(negatives, negatives.images[:1])
    assert (joined.far_domain, joined.derived) == (1, 1)


def test_the_summary_counts_the_negatives_an_outlier_exposure_scorer_learned_from(
    tmp_path: Path, outputs: Outputs
) -> None:
    negatives = NegativePictures(
        images=np.zeros((5, SIZE, SIZE, 3), dtype=np.uint8), development=3, synthetic=2
    )
    embeddings = _run(
        tmp_path, [_photo("validation", "neither", (40, 60, 200 + i)) for i in range(5)]
    ).embeddings
    config = OpenSetConfig(method="outlier_exposure", k=0, quantile=0.9)
    scorer = calibrate_scorer(
        config, outputs.train, outputs.labels, outputs.validation, outputs.probabilities, embeddings
    )
    summary = summarize(scorer, config, 0.0, 60, negatives)
    assert (summary.development_negatives, summary.synthetic_negatives, summary.fallback) == (3, 2, None)


def test_a_pooled_threshold_also_stands_on_the_train_photos_out_of_fold_scores(outputs: Outputs) -> None:
    config = KNN.model_copy(update={"calibration": "pooled", "calibration_folds": 4, "quantile": 0.8})
    train_probabilities = np.full((len(outputs.train), 2), 0.5, dtype=np.float32)
    scorer = calibrate_scorer(
        config,
        outputs.train,
        outputs.labels,
        outputs.validation,
        outputs.probabilities,
        train_probabilities=train_probabilities,
    )
    # The same threshold by hand: each train photo scored by knn fitted on the other folds.
    folds = fold_assignment(len(outputs.train), 4)
    out_of_fold = np.empty(len(outputs.train))
    for fold in range(4):
        rest = np.flatnonzero(folds != fold)
        knn = fit_scorer("knn", outputs.train[rest], [outputs.labels[i] for i in rest], k=1)
        out_of_fold[folds == fold] = knn.scores(
            outputs.train[folds == fold], train_probabilities[folds == fold]
        )
    validation = scorer.scores(outputs.validation, outputs.probabilities)
    pool = np.concatenate([validation, matched_to(validation, out_of_fold)])
    validation_alone = float(np.quantile(validation, config.quantile, method="higher"))
    assert scorer.threshold != pytest.approx(validation_alone)  # the pool changed it
    assert scorer.threshold == pytest.approx(float(np.quantile(pool, 0.8, method="higher")))
    assert (scorer.calibration["train_out_of_fold_photos"], scorer.calibration["folds"]) == (20, 4)
    rate = rejection_rate(scorer, outputs.validation, outputs.probabilities)
    assert scorer.calibration["validation_rejection_rate"] == rate
    assert scorer_from_json(scorer_to_json(scorer)).calibration["folds"] == 4
    with pytest.raises(OpenSetError, match="train photos' probabilities"):
        calibrate_scorer(config, outputs.train, outputs.labels, outputs.validation, outputs.probabilities)


def test_the_calibrations_the_config_accepts_are_the_ones_the_calibration_module_knows() -> None:
    assert get_args(OpenSetConfig.model_fields["calibration"].annotation) == CALIBRATIONS
    with pytest.raises(ValueError, match="calibration"):
        OpenSetConfig.model_validate({"calibration": "test"})


def test_pictures_made_from_train_photos_join_the_negatives_and_are_counted(tmp_path: Path) -> None:
    negatives = NegativePictures(
        images=np.zeros((3, SIZE, SIZE, 3), dtype=np.uint8), development=2, synthetic=1
    )
    joined = with_derived(negatives, np.full((2, SIZE, SIZE, 3), 7, dtype=np.uint8))
    assert (joined.development, joined.synthetic, joined.derived) == (2, 1, 2)
    assert joined.images.shape == (5, SIZE, SIZE, 3)
    assert joined.images[3:].min() == 7
    with pytest.raises(ValueError, match="derived pictures of shape"):
        with_derived(negatives, np.zeros((1, SIZE + 1, SIZE, 3), dtype=np.uint8))
    with pytest.raises(ValueError, match="unknown generated picture kinds"):
        OpenSetConfig.model_validate({"synthetic_kinds": ["noise", "clouds"]})


def test_the_step_learns_from_development_far_generated_and_derived_pictures_only_as_configured(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "tulip").mkdir()
    for index in range(2):
        Image.new("RGB", (50, 40), (200, 40, 120 + index)).save(tmp_path / "tulip" / f"{index:03}.jpg")
    monkeypatch.setenv("GREENR_OPEN_SET_NEGATIVES_DIR", str(tmp_path))
    settings = Settings()
    train = [np.full((SIZE, SIZE, 3), 10 * i, dtype=np.uint8) for i in range(5)]
    config = OpenSetConfig(method="outlier_exposure", synthetic_negatives=3)
    plain = negative_pictures(settings, config, train, SIZE)
    assert plain is not None
    assert (plain.development, plain.synthetic, plain.derived) == (2, 3, 0)
    derived = negative_pictures(settings, config.model_copy(update={"derived_negatives": 4}), train, SIZE)
    assert derived is not None
    assert (derived.development, derived.synthetic, derived.derived) == (2, 3, 4)
    assert np.array_equal(derived.images[:5], plain.images)
    far = negative_pictures(settings, config.model_copy(update={"far_domain_negatives": True}), train, SIZE)
    assert far is not None
    assert (far.development, far.far_domain, far.synthetic) == (2, len(far_domain.PICTURES), 3)
    assert np.array_equal(far.images[:2], plain.images[:2])
    # Without development photos there is nothing to learn "neither" from, derived or not.
    monkeypatch.setenv("GREENR_OPEN_SET_NEGATIVES_DIR", str(tmp_path / "none"))
    empty = Settings()
    assert negative_pictures(empty, config.model_copy(update={"derived_negatives": 4}), train, SIZE) is None
