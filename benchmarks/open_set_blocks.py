"""The open-set benchmark's `blocks` features: the backbone's lower blocks pooled, plus the embedding.

Training fine-tunes the backbone from `block6a` up (configs/training.yaml
`fine_tune.unfreeze_from`), so the blocks below keep their ImageNet weights: their pooled
outputs describe a picture in general terms (textures, parts, colours), where the fine-tuned
embedding has learnt to tell dandelions from grass and little else. A tulip and a dandelion can
then lie close in the embedding and apart in the lower blocks. The model computes these tensors
for every photo anyway; pooling them costs a global average per block.

The blocks are computed with the Keras model here (up to block 6d), for measuring only: the
exported ONNX model does not output them. The embedding is the served model's own output. If the
benchmark's rule picks a `blocks` variant, serving it means exporting the pooled blocks as a third
ONNX output (greenr/training/model.py `inference_model`).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any, Final

import numpy as np
import numpy.typing as npt

BLOCK_TAPS: Final = ("block3b_add", "block4c_add", "block5c_add", "block6d_add")
"""The last layer of each backbone stage below the fine-tuned one (`block6d_add` is the top of
stage 6, the first stage training unfreezes: kept for its higher-level features)."""


def concatenate_unit_groups(groups: Sequence[npt.ArrayLike]) -> npt.NDArray[np.float32]:
    """Each group's rows scaled to unit length, then all groups side by side, divided by
    sqrt(number of groups): every group weighs the same whatever its width, and each row has unit
    length. A row of zeros stays zeros.

    Raises:
        ValueError: no group, or groups with different numbers of rows.
    """
    arrays = [np.asarray(group, dtype=np.float64) for group in groups]
    if not arrays:
        raise ValueError("no feature group to concatenate")
    if len({array.shape[0] for array in arrays}) != 1:
        raise ValueError(f"feature groups differ in rows: {[array.shape[0] for array in arrays]}")
    units = []
    for array in arrays:
        norms = np.linalg.norm(array, axis=1, keepdims=True)
        units.append(np.divide(array, norms, out=np.zeros_like(array), where=norms > 0))
    joined = np.concatenate(units, axis=1) / np.sqrt(len(arrays))
    result: npt.NDArray[np.float32] = joined.astype(np.float32)
    return result


class BlockFeatures:
    """The `blocks` features of a trained classifier (its model.keras) for uint8 model inputs."""

    def __init__(self, keras_file: Path) -> None:
        import keras

        from greenr.training.saved_model import load_classifier

        backbone = load_classifier(keras_file).get_layer("classifier").get_layer("backbone")
        pool = keras.layers.GlobalAveragePooling2D()
        self._model: Any = keras.Model(
            backbone.input, [pool(backbone.get_layer(name).output) for name in BLOCK_TAPS]
        )

    def __call__(
        self, images: npt.NDArray[np.uint8], embeddings: npt.NDArray[np.float32]
    ) -> npt.NDArray[np.float32]:
        """N x (sum of the blocks' channels + the embedding's size) features of N x S x S x 3
        images, whose served embeddings (the ONNX model's second output) are `embeddings`."""
        taps = self._model.predict(images.astype(np.float32), batch_size=32, verbose=0)
        return concatenate_unit_groups([*taps, embeddings])
