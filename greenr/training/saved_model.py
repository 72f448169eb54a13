"""Loading a saved Keras classifier (models/runs/<run>/model.keras) back into memory."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from greenr.training import model as classifier_model


def load_classifier(path: Path) -> Any:
    """The inference model saved by training; its custom layers are registered first."""
    import keras

    # The mirror layer is registered with Keras when its class is first created.
    classifier_model._flip_layer_class()
    return keras.models.load_model(path)
