"""Loading a saved Keras classifier (the `model.keras` of a trained model artifact) back into memory."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from greenr.training import model as classifier_model
from greenr.training import train


def load_classifier(path: Path) -> Any:
    """The inference model saved by training, ready to predict (not to resume training)."""
    import keras

    classifier_model.register_custom_layers()
    # Models saved before `inference_model` copied the classifier carry its compile config,
    # whose F1 metric is a closure class: handed over by name so those still load.
    f1_class = type(train._positive_f1_metric())
    return keras.models.load_model(path, compile=False, custom_objects={f1_class.__name__: f1_class})
