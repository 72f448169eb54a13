"""The drift benchmark's model: trained once with the project's training code and config on the
train and validation photos of `drift_photos`, then cached in the benchmark's work folder.

Training takes minutes on the 2-core development machines, so the Keras model is kept under
`<GREENR_HOME>/benchmarks/drift/<key>/`, where the key hashes the training photos and the
resolved training config: a changed split or config trains a new model.

    .venv/bin/python -m benchmarks.drift_model        # train (or find) the cached model, export it
"""

from __future__ import annotations

import hashlib
import json
import logging
from pathlib import Path
from typing import Any

import numpy as np

from greenr.contracts import LABELS, MODEL_INPUT_SIZE
from greenr.images.preprocess import decode_model_input
from greenr.settings import get_settings
from greenr.training.config import load_training_config
from greenr.training.data import SplitArrays

from .drift_photos import MAX_PIXELS, Photo, dataset_photos

log = logging.getLogger(__name__)
KERAS_FILE = "model.keras"
ONNX_FILE = "model.onnx"
SUMMARY_FILE = "model.json"


def model_inputs(photos: list[Photo], size: int = MODEL_INPUT_SIZE) -> np.ndarray[Any, Any]:
    """The photos as the model's uint8 inputs (N x S x S x 3), decoded like training and serving do."""
    images = np.empty((len(photos), size, size, 3), dtype=np.uint8)
    for index, photo in enumerate(photos):
        images[index] = decode_model_input(photo.data, MAX_PIXELS, size)
    return images


def split_arrays(photos: list[Photo], size: int = MODEL_INPUT_SIZE) -> SplitArrays:
    """Training arrays of labelled photos."""
    return SplitArrays(
        images=model_inputs(photos, size),
        labels=np.asarray([LABELS.index(p.label) for p in photos if p.label is not None], dtype=np.int64),
        sha256=[hashlib.sha256(p.data).hexdigest() for p in photos],
    )


def cache_key(photos: list[Photo], config_dump: dict[str, Any]) -> str:
    """Hash of the training and validation photos (with their splits) and the training config."""
    digest = hashlib.sha256(json.dumps(config_dump, sort_keys=True, default=str).encode())
    for photo in sorted(photos, key=lambda p: p.name):
        if photo.split in ("train", "validation"):
            digest.update(f"{photo.split}:{hashlib.sha256(photo.data).hexdigest()}\n".encode())
    return digest.hexdigest()[:16]


def work_dir() -> Path:
    """The benchmark's own cache folder (under GREENR_HOME, never in the repository)."""
    return get_settings().home / "benchmarks" / "drift"


def cached_keras_model(photos: list[Photo], weights_dir: Path | None = None) -> Path:
    """The folder holding the trained Keras model for these photos, training it if needed."""
    config = load_training_config()
    # The open-set settings are fitted after training and leave the Keras model unchanged.
    folder = work_dir() / cache_key(photos, config.model_dump(mode="json", exclude={"open_set"}))
    if (folder / KERAS_FILE).exists() and (folder / SUMMARY_FILE).exists():
        log.info("using the cached model in %s", folder)
        return folder
    from greenr.model.pretrained_weights import load_imagenet_weights
    from greenr.training.evaluation import evaluate
    from greenr.training.train import train_classifier

    data = {
        split: split_arrays([p for p in photos if p.split == split], config.image_size)
        for split in ("train", "validation", "test")
    }
    weights = load_imagenet_weights(weights_dir or get_settings().home / "weights")
    log.info(
        "training the benchmark's model (%d train, %d validation photos)",
        len(data["train"]),
        len(data["validation"]),
    )
    result = train_classifier({s: data[s] for s in ("train", "validation")}, config, weights)
    test = evaluate(result.model, data["test"], LABELS)
    folder.mkdir(parents=True, exist_ok=True)
    tmp = folder / f"tmp-{KERAS_FILE}"
    result.model.save(tmp)
    tmp.replace(folder / KERAS_FILE)
    summary = {
        "config": config.model_dump(mode="json"),
        "best_epoch": result.best_epoch,
        "best_stage": result.best_stage,
        "train_seconds": result.wall_seconds,
        "test_accuracy": test.accuracy,
        "test_f1": test.f1,
        "photos": {s: len(data[s]) for s in data},
    }
    (folder / SUMMARY_FILE).write_text(json.dumps(summary, indent=2) + "\n")
    return folder


def cached_onnx_model(folder: Path, photos: list[Photo]) -> Path:
    """The cached model exported to ONNX with its embedding output (as the training pipeline
    exports the serving model), exported on first use and checked against Keras."""
    path = folder / ONNX_FILE
    if path.exists():
        return path
    import keras

    from greenr.export.onnx_export import export_and_check
    from greenr.training.model import inference_model, register_custom_layers

    config = load_training_config()
    register_custom_layers()
    trained = keras.models.load_model(folder / KERAS_FILE)
    serving = inference_model(trained, flip_averaging=config.flip_averaging, embedding=True)
    check = model_inputs([p for p in photos if p.split == "validation"][:16], config.image_size)
    tmp = folder / f"tmp-{ONNX_FILE}"
    export_and_check(serving, tmp, check)
    tmp.replace(path)
    return path


def main() -> int:
    import argparse

    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--weights-dir", type=Path, help="ImageNet weights cache (default GREENR_HOME/weights)"
    )
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    photos = dataset_photos()
    folder = cached_keras_model(photos, args.weights_dir)
    print(f"ONNX model with its embedding output: {cached_onnx_model(folder, photos)}")
    print((folder / SUMMARY_FILE).read_text())
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
