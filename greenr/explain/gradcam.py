"""Grad-CAM (Selvaraju et al., 2017, https://arxiv.org/abs/1610.02391) on the classifier's backbone.

The map is taken at the backbone's last convolutional feature map (`top_activation`, 7x7x1280 at
224 px), the class score is the class's log-odds (log p / (1 - p)): the gradient of the
probability itself vanishes when the model is sure (p(1 - p) -> 0 in float32), the log-odds'
does not. The head is global average pooling and one dense layer, so this Grad-CAM equals the
original CAM of that class; the gradient keeps it right if the head ever changes.

A model that averages an image and its mirror image (`inference_model(flip_averaging=True)`)
is explained the same way: the heatmap is the mean of the image's map and of the mirror's map
flipped back, and the probabilities are the mean of both, as served.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Final

import numpy as np
import numpy.typing as npt
from PIL import Image

from greenr.training.model import BACKBONE_NAME, CLASSIFIER_NAME

# The backbone's last convolutional feature map (after its activation), before pooling.
LAST_CONV_LAYER: Final = "top_activation"
HEAD_LAYER: Final = "probabilities"
# The inference model's layers that add mirror images (training/model.py `inference_model`;
# HorizontalFlip in models saved before WithMirrorImages).
_MIRROR_LAYER_CLASSES: Final = frozenset({"WithMirrorImages", "HorizontalFlip"})

Heatmap = npt.NDArray[np.float32]


@dataclass(frozen=True)
class CamModel:
    """A classifier ready for Grad-CAM: a traced function images -> (maps, probabilities)."""

    input_size: int
    flip_averaging: bool
    labels_count: int
    # float32 N x S x S x 3 (0..255) -> (N x h x w Grad-CAM maps for every class, N x C probabilities)
    forward: Callable[[Any], tuple[Any, Any]]


@dataclass(frozen=True)
class Explanation:
    """A heatmap at the feature map's resolution (values 0..1, 1 = where the class is seen most)."""

    heatmap: Heatmap
    class_index: int
    probabilities: npt.NDArray[np.float32]


def cam_model(model: Any) -> CamModel:
    """Prepare a classifier saved by training (the inference model, or the bare classifier)."""
    import keras
    import tensorflow as tf

    classifier = model if model.name == CLASSIFIER_NAME else model.get_layer(CLASSIFIER_NAME)
    backbone = classifier.get_layer(BACKBONE_NAME)
    maps_and_pooled = keras.Model(
        backbone.inputs, [backbone.get_layer(LAST_CONV_LAYER).output, backbone.outputs[0]]
    )
    head = classifier.get_layer(HEAD_LAYER)
    kernel, bias = (tf.constant(weight, dtype=tf.float32) for weight in head.get_weights())
    classes = int(kernel.shape[-1])
    size = int(classifier.input_shape[1])

    def forward(images: Any) -> tuple[Any, Any]:
        with tf.GradientTape(persistent=True) as tape:
            maps, pooled = maps_and_pooled(images, training=False)
            logits = tf.matmul(pooled, kernel) + bias
            # Log-odds of class c, log p_c - log(1 - p_c), from the logits: the logit minus the
            # log-sum-exp of the others (through the probabilities, 1 - p_c is 0 in float32 once
            # the model is sure, and the gradient infinite).
            scores = [
                logits[:, c]
                - tf.reduce_logsumexp(tf.concat([logits[:, :c], logits[:, c + 1 :]], axis=1), axis=1)
                for c in range(classes)
            ]
        cams = []
        for score in scores:
            gradients = tape.gradient(score, maps)
            weights = tf.reduce_mean(gradients, axis=(1, 2), keepdims=True)
            cams.append(tf.nn.relu(tf.reduce_sum(weights * maps, axis=-1)))
        del tape
        return tf.stack(cams, axis=1), tf.nn.softmax(logits)

    traced = tf.function(forward, input_signature=[tf.TensorSpec((None, size, size, 3), tf.float32)])
    mirrors = any(type(layer).__name__ in _MIRROR_LAYER_CLASSES for layer in model.layers)
    return CamModel(input_size=size, flip_averaging=mirrors, labels_count=classes, forward=traced)


def explain(model: CamModel, pixels: npt.NDArray[np.uint8], class_index: int | None = None) -> Explanation:
    """Grad-CAM of one model input (S x S x 3 uint8, as `greenr.images.preprocess.to_model_input`
    makes it) for `class_index`, or for the predicted class when None.

    Raises:
        ValueError: the input is not S x S x 3, or the class index is out of range.
    """
    expected = (model.input_size, model.input_size, 3)
    if pixels.shape != expected:
        raise ValueError(f"the model input has shape {pixels.shape}, expected {expected}")
    if class_index is not None and not 0 <= class_index < model.labels_count:
        raise ValueError(f"class index {class_index} is not in 0..{model.labels_count - 1}")
    batch = pixels[np.newaxis].astype(np.float32)
    if model.flip_averaging:
        batch = np.concatenate([batch, batch[:, :, ::-1]])
    maps, probabilities = (np.asarray(value, dtype=np.float32) for value in model.forward(batch))
    if model.flip_averaging:
        maps = np.stack([maps[0], maps[1][:, :, ::-1]])
    mean_probabilities = probabilities.mean(axis=0)
    chosen = int(np.argmax(mean_probabilities)) if class_index is None else class_index
    return Explanation(
        heatmap=normalized(maps[:, chosen].mean(axis=0)),
        class_index=chosen,
        probabilities=mean_probabilities.astype(np.float32),
    )


def normalized(heatmap: npt.NDArray[Any]) -> Heatmap:
    """Scaled to 0..1 by its maximum; all zeros when nothing speaks for the class."""
    peak = float(np.max(heatmap)) if heatmap.size else 0.0
    if not np.isfinite(peak) or peak <= 0.0:
        return np.zeros(heatmap.shape, dtype=np.float32)
    return np.clip(heatmap / peak, 0.0, 1.0).astype(np.float32)


def resized(heatmap: Heatmap, width: int, height: int) -> Heatmap:
    """The heatmap stretched to width x height (the photo's upright size), bilinear, still 0..1.

    The model sees the whole photo squashed to a square (`to_model_input`), so stretching the
    square map back puts each cell over the part of the photo it saw.
    """
    image = Image.fromarray(heatmap.astype(np.float32))  # float32 -> mode "F"
    stretched = image.resize((width, height), Image.Resampling.BILINEAR)
    return np.clip(np.asarray(stretched, dtype=np.float32), 0.0, 1.0)
