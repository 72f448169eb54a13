"""What the model server's in-process tests share: the tiny model's serving metadata and flat photos."""

from __future__ import annotations

import io

from PIL import Image

from greenr.contracts import LABELS
from serving.model_store import ArtifactMetadata

TINY_SIZE = 8
"""Input side of `trained_model_kit.tiny_onnx_model`'s default graph."""
TINY_METADATA = ArtifactMetadata(
    model_name="greenr-classifier",
    version="1",
    alias="champion",
    labels=LABELS,
    input_size=TINY_SIZE,
    metrics={},
    dataset_version="ds-test",
    exported_at="2026-11-27T00:00:00Z",
    sha256="0" * 64,
)


def flat_png(colour: tuple[int, int, int], size: tuple[int, int] = (40, 20)) -> bytes:
    """A one-colour PNG: the tiny model's "embedding" (the mean colour) is that colour."""
    buffer = io.BytesIO()
    Image.new("RGB", size, colour).save(buffer, format="PNG")
    return buffer.getvalue()
