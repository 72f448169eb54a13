"""Stores a split's arrays (model-input images, labels, sha256) as one compressed .npz file."""

from __future__ import annotations

import io
import os
from typing import Any, ClassVar

import numpy as np
from zenml.enums import ArtifactType
from zenml.materializers.base_materializer import BaseMaterializer

from greenr.contracts import LABELS
from greenr.training.data import SplitArrays

_FILE = "split.npz"


class SplitArraysMaterializer(BaseMaterializer):
    """The arrays exactly as decoded (uint8), so every step that reads them sees the same pixels."""

    ASSOCIATED_TYPES: ClassVar[tuple[type[Any], ...]] = (SplitArrays,)
    ASSOCIATED_ARTIFACT_TYPE: ClassVar[ArtifactType] = ArtifactType.DATA

    def load(self, data_type: type[Any]) -> SplitArrays:
        with self.artifact_store.open(os.path.join(self.uri, _FILE), "rb") as file:
            data = file.read()
        with np.load(io.BytesIO(data), allow_pickle=False) as arrays:
            return SplitArrays(
                images=arrays["images"].astype(np.uint8),
                labels=arrays["labels"].astype(np.int64),
                sha256=[str(s) for s in arrays["sha256"]],
            )

    def save(self, data: SplitArrays) -> None:
        buffer = io.BytesIO()
        np.savez_compressed(
            buffer, images=data.images, labels=data.labels, sha256=np.asarray(data.sha256, dtype=str)
        )
        with self.artifact_store.open(os.path.join(self.uri, _FILE), "wb") as file:
            file.write(buffer.getvalue())

    def extract_metadata(self, data: SplitArrays) -> dict[str, Any]:
        counts = np.bincount(data.labels, minlength=len(LABELS))
        return {
            "photos": len(data),
            "input_size": int(data.images.shape[1]),
            "per_class": {label: int(counts[i]) for i, label in enumerate(LABELS)},
        }
