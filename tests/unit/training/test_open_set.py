"""The open-set step's logic on a real (tiny) ONNX model's outputs: fitted on train, threshold
from validation, far photos rejected, the summary the gate and the card read."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import numpy.typing as npt
import pytest
from photo_factory import jpeg_bytes
from PIL import Image
from trained_model_kit import tiny_onnx_model

from greenr.export.onnx_runtime import OnnxClassifier
from greenr.images.preprocess import decode_sized_model_input
from greenr.open_set.scorer import OpenSetError, scorer_from_json, scorer_to_json
from greenr.training.config import OpenSetConfig, TrainingConfig, load_training_config
from greenr.training.feature_reference import ModelRun, ReferencePhoto, run_exported_model
from greenr.training.open_set import calibrate_scorer, rejection_rate, summarize

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


def test_the_training_config_carries_the_benchmarks_choice() -> None:
    config = load_training_config()
    assert config.open_set.method in ("mahalanobis", "knn", "max_probability")
    assert 0 < config.open_set.quantile <= 1
    assert TrainingConfig().open_set == OpenSetConfig()
    with pytest.raises(ValueError, match="method"):
        OpenSetConfig.model_validate({"method": "energy"})
