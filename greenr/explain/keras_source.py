"""The Keras model of a registered version: registry version -> its training run -> `keras/model.keras`."""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any

from greenr.registry import model_registry
from greenr.registry.tracking_server import check_tracking_server
from greenr.training.trained_model import KERAS_ARTIFACT_PATH, KERAS_FILE


class NoKerasModel(LookupError):
    """The version has no Keras model in its run (trained before it was kept, or registered by hand)."""


def keras_file_of(tracking_uri: str, name: str, version: str) -> bytes:
    """The bytes of the version's `model.keras`.

    Raises:
        NoKerasModel: the version's run holds none (the message says what to do).
        RegistryError: the registry cannot be read, or has no such version.
    """
    # In seconds: the API answers this request while MLflow's client would retry for minutes.
    check_tracking_server(tracking_uri)
    info = model_registry.get_version(tracking_uri, name, version)
    missing = NoKerasModel(
        f"{name} version {version} has no Keras model in its training run (it was trained before "
        "training kept one): explanations need a version trained since; train and deploy a new one "
        "(run.py --pipeline training)"
    )
    if info.run_id is None:
        raise missing
    data = model_registry.download_run_file(tracking_uri, info.run_id, f"{KERAS_ARTIFACT_PATH}/{KERAS_FILE}")
    if data is None:
        raise missing
    return data


def load_keras_model(data: bytes) -> Any:
    """A Keras model from the bytes of a `model.keras` (imports TensorFlow)."""
    from greenr.training.saved_model import load_classifier

    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / KERAS_FILE
        path.write_bytes(data)
        return load_classifier(path)
