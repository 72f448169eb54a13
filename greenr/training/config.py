"""Run parameters of the training core: YAML defaults (configs/training.yaml), overrides on top.

Overrides use dotted keys for nested fields (`{"fine_tune.epochs": 10}`), so a command line
can change any field with `--set fine_tune.epochs=10` (see `parse_overrides`) or with
dedicated flags that map to the same keys. `None` values are ignored, which lets a CLI pass
every optional flag through unchanged.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from greenr.config_files import ConfigFileError, read_mapping, validated
from greenr.contracts import MODEL_INPUT_SIZE
from greenr.open_set.synthetic_negatives import FIRST_KINDS, checked_kinds
from greenr.settings import REPO_ROOT

DEFAULT_CONFIG = REPO_ROOT / "configs" / "training.yaml"

_SHA256 = re.compile(r"[0-9a-f]{64}")  # a photo's id in the dataset manifest
# Mirrors greenr.model.efficientnet_lite.BLOCK_NAMES; duplicated so that reading a config never
# imports Keras (the model module imports it at the top).
_BLOCK_NAMES = (
    "block1a",
    "block2a",
    "block2b",
    "block3a",
    "block3b",
    "block4a",
    "block4b",
    "block4c",
    "block5a",
    "block5b",
    "block5c",
    "block6a",
    "block6b",
    "block6c",
    "block6d",
    "block7a",
)


class _Strict(BaseModel):
    # A misspelt key in the YAML or an override must fail, not be silently ignored.
    model_config = ConfigDict(extra="forbid", frozen=True)


class StageConfig(_Strict):
    """One training stage: how long and how fast."""

    epochs: int = Field(ge=0)
    learning_rate: float = Field(gt=0)


class HeadConfig(StageConfig):
    """The frozen-backbone stage."""

    # Train the head on backbone features computed once (each image and its mirror image)
    # instead of pushing augmented images through the frozen backbone every epoch: the stage
    # then costs one forward pass instead of one per epoch (~5 s instead of ~5 s per epoch).
    cached_features: bool = True


class FineTuneConfig(StageConfig):
    """The fine-tuning stage: which backbone blocks are unfrozen, and whether BatchNorm learns."""

    unfreeze_from: str = "block6a"
    train_batchnorm: bool = False
    # The stage ends with the element-wise mean of the weights of its `average_best` epochs with
    # the lowest validation loss (greenr/training/weight_averaging.py); 1: the best epoch's weights.
    average_best: int = Field(1, ge=1)

    @field_validator("unfreeze_from")
    @classmethod
    def _known_block(cls, value: str) -> str:
        if value not in _BLOCK_NAMES:
            raise ValueError(f"unknown block {value!r}; blocks are {', '.join(_BLOCK_NAMES)}")
        return value

    @model_validator(mode="after")
    def _averaging_needs_frozen_batchnorm(self) -> FineTuneConfig:
        # Averaged weights with BatchNorm statistics that moved during the stage would need the
        # statistics recomputed for the averaged weights (a pass over the train split), which
        # training does not do; with BatchNorm frozen the statistics are the same in every epoch.
        if self.average_best > 1 and self.train_batchnorm:
            raise ValueError(
                "fine_tune.average_best > 1 needs fine_tune.train_batchnorm: false (averaged "
                "weights would run with BatchNorm statistics that were never computed for them)"
            )
        return self


class AugmentationConfig(_Strict):
    """Strength of each random augmentation applied to training images (0 disables it)."""

    horizontal_flip: bool = True
    # Random crop of (1 - crop_area)..100 % of the area, aspect 3:4..4:3, resized back (one
    # resampling for zoom + shift + aspect: keras-cv RandomCropAndResize).
    crop_area: float = Field(0.0, ge=0, lt=1)
    zoom: float = Field(0.2, ge=0, lt=1)  # fraction of the side zoomed in or out
    translate: float = Field(0.1, ge=0, lt=1)  # fraction of the side shifted
    rotation: float = Field(0.05, ge=0, le=0.5)  # fraction of a full turn
    brightness: float = Field(0.2, ge=0, le=1)  # fraction of the 0..255 range
    contrast: float = Field(0.2, ge=0, lt=1)
    saturation: float = Field(0.2, ge=0, lt=1)  # 0.2: saturation factor in [0.8, 1.2]
    hue: float = Field(0.02, ge=0, le=0.5)  # fraction of the hue circle
    mixup: float = Field(0.0, ge=0, le=1)  # MixUp alpha (blend strength); 0 disables it


class OpenSetConfig(_Strict):
    """How the open-set score is fitted and where its threshold sits (greenr/open_set/scorer.py;
    chosen with benchmarks/open_set_benchmark.py)."""

    method: Literal["mahalanobis", "knn", "max_probability", "outlier_exposure"] = "knn"
    # The threshold is this quantile of the in-domain scores named by `calibration` (below):
    # about 1 - quantile of in-domain photos are refused.
    quantile: float = Field(0.975, gt=0, le=1)
    k: int = Field(1, ge=0)  # knn: distance to the k-th nearest train photo (outlier_exposure: 0 = none)
    components: int = Field(64, ge=1)  # mahalanobis: principal components kept
    shrinkage: float = Field(0.1, ge=0, le=1)  # mahalanobis: covariance shrinkage
    # outlier_exposure: L2 penalty of the logistic regression (k = 0: no knn feature); its
    # negatives are the development pictures under Settings.open_set_negatives_dir plus
    # `synthetic_negatives` pictures generated with `negatives_seed`
    # (greenr/open_set/synthetic_negatives.py). Without that folder training falls back to knn.
    penalty: float = Field(0.01, gt=0)
    synthetic_negatives: int = Field(24, ge=0)
    negatives_seed: int = 2026
    # Which kinds the generated pictures cycle through (greenr/open_set/synthetic_negatives.py KINDS).
    synthetic_kinds: tuple[str, ...] = FIRST_KINDS
    # Pictures made from distinct train photos (grey, tile-shuffled, colour-inverted in turn;
    # greenr/open_set/derived_negatives.py), seeded with negatives_seed; 0: none.
    derived_negatives: int = Field(0, ge=0)
    # Also learn from scikit-image's sample pictures (a cat, an astronaut, a page of text...:
    # greenr/open_set/far_domain.py), so "neither" is not only flowers and generated pictures.
    far_domain_negatives: bool = False
    # Whose scores the quantile is taken of (greenr/open_set/calibration.py): `validation` alone,
    # or `pooled` with the train photos' out-of-fold scores (the method refitted
    # `calibration_folds` times without each fold), matched to the validation scores' median and
    # spread because the backbone was fine-tuned on the train photos.
    calibration: Literal["validation", "pooled"] = "validation"
    calibration_folds: int = Field(5, ge=2)

    @field_validator("synthetic_kinds")
    @classmethod
    def _known_kinds(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        return checked_kinds(value)


class TrainingConfig(_Strict):
    """Everything that shapes a trained classifier; logged with the model for reproducibility."""

    seed: int = 1234
    # Same data, config and seed on the same machine -> the same model: TensorFlow's op
    # determinism on, random augmentation run serially in tf.data (parallel calls would draw from
    # the layers' random state in whatever order threads finish). Costs training time: see the
    # README's training benchmark section for the measured price.
    deterministic: bool = True
    image_size: int = Field(MODEL_INPUT_SIZE, ge=32)
    batch_size: int = Field(32, ge=1)
    head: HeadConfig = HeadConfig(epochs=8, learning_rate=3e-3)
    fine_tune: FineTuneConfig = FineTuneConfig(epochs=15, learning_rate=2e-4)
    early_stopping_patience: int = Field(5, ge=1)
    label_smoothing: float = Field(0.1, ge=0, lt=1)
    # Focal loss (Lin et al. 2017): each photo's cross-entropy is scaled by (1 - p)^gamma, p the
    # probability given to its label, so photos already classified with confidence weigh less and
    # hard ones (grass that is not a lawn) more. 0: plain cross-entropy.
    focal_gamma: float = Field(0.0, ge=0)
    dropout: float = Field(0.3, ge=0, lt=1)
    drop_connect_rate: float = Field(0.0, ge=0, lt=1)
    weight_decay: float = Field(1e-4, ge=0)
    flip_averaging: bool = True
    augmentation: AugmentationConfig = AugmentationConfig()
    # Photos (sha256 of the file, as in the dataset manifest) left out of the train split only:
    # validation and test keep them, so every choice is still judged on every photo.
    exclude_from_training: tuple[str, ...] = ()
    # Fitted after training on the exported model's embeddings; does not change the model.
    open_set: OpenSetConfig = OpenSetConfig()

    @field_validator("exclude_from_training")
    @classmethod
    def _sha256_digests(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        for digest in value:
            if not _SHA256.fullmatch(digest):
                raise ValueError(f"{digest!r} is not a sha256 digest (64 lowercase hex characters)")
        return value


def _set_dotted(data: dict[str, Any], dotted: str, value: Any) -> None:
    keys = dotted.split(".")
    node = data
    for key in keys[:-1]:
        child = node.setdefault(key, {})
        if not isinstance(child, dict):
            raise ConfigFileError(f"cannot set {dotted!r}: {key!r} is not a section")
        node = child
    node[keys[-1]] = value


def _merge(base: dict[str, Any], update: Mapping[str, Any]) -> dict[str, Any]:
    merged = dict(base)
    for key, value in update.items():
        if isinstance(value, Mapping) and isinstance(merged.get(key), dict):
            merged[key] = _merge(merged[key], value)
        else:
            merged[key] = value
    return merged


def load_training_config(
    path: Path = DEFAULT_CONFIG, overrides: Mapping[str, Any] | None = None
) -> TrainingConfig:
    """Read the YAML config and apply non-None overrides (dotted keys for nested fields).

    Fields missing from the YAML keep the model's defaults, section by section.

    Raises:
        ConfigFileError: a missing or malformed file, or a wrong parameter (one line).
    """
    data = _merge(TrainingConfig().model_dump(), read_mapping(path))
    given = {key: value for key, value in (overrides or {}).items() if value is not None}
    for key, value in given.items():
        _set_dotted(data, key, value)
    flags = " and the command-line flags" if given else ""
    return validated(TrainingConfig, data, f"training parameters ({path}{flags})")


def parse_overrides(items: Iterable[str]) -> dict[str, Any]:
    """`["fine_tune.epochs=10", "flip_averaging=false"]` -> overrides; values are read as YAML."""
    overrides: dict[str, Any] = {}
    for item in items:
        key, sep, raw = item.partition("=")
        if not sep or not key.strip():
            raise ConfigFileError(f"--set {item!r} must look like key=value, e.g. fine_tune.epochs=10")
        try:
            overrides[key.strip()] = yaml.safe_load(raw)
        except yaml.YAMLError:
            raise ConfigFileError(f"--set {item!r}: the value is not valid YAML") from None
    return overrides
