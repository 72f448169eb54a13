"""What the model server's in-process tests share: the tiny model's serving metadata and flat photos."""

from __future__ import annotations

import io
from pathlib import Path

from PIL import Image

from greenr.containers.stand_in_model import mean_colour_onnx
from greenr.contracts import LABELS, MODEL_INPUT_SIZE
from serving.model_store import ArtifactMetadata

TINY_SIZE = 8
"""Input side of `trained_model_kit.tiny_onnx_model`'s default graph."""


def tiny_metadata(input_size: int = TINY_SIZE) -> ArtifactMetadata:
    """Serving metadata of a test model with this input side."""
    return ArtifactMetadata(
        model_name="greenr-classifier",
        version="1",
        alias="champion",
        labels=LABELS,
        input_size=input_size,
        metrics={},
        dataset_version="ds-test",
        exported_at="2026-11-27T00:00:00Z",
        sha256="0" * 64,
    )


TINY_METADATA = tiny_metadata()


def mean_colour_model(path: Path, size: int = MODEL_INPUT_SIZE) -> Path:
    """model.onnx with the served contract at `size` px: more green, more "grass"."""
    path.write_bytes(mean_colour_onnx(size))
    return path


def flat_png(colour: tuple[int, int, int], size: tuple[int, int] = (40, 20)) -> bytes:
    """A one-colour PNG: the tiny model's "embedding" (the mean colour) is that colour."""
    buffer = io.BytesIO()
    Image.new("RGB", size, colour).save(buffer, format="PNG")
    return buffer.getvalue()
