"""The dandelion/grass classifier: pretrained EfficientNet-Lite0 backbone + a softmax head.

Input: float32 RGB N×S×S×3 in 0..255, S = `config.image_size` (what `to_model_input` produces,
cast to float); the backbone scales it itself. Output: N×2 class probabilities in the order of
`greenr.contracts.LABELS` ("dandelion", "grass").

The trained network is the functional model `classifier` (backbone layer `backbone`, then
`head_dropout` and `probabilities`). `inference_model` wraps it for serving, optionally
averaging the predictions of the image and its mirror image (test-time flip averaging).
"""

from __future__ import annotations

import weakref
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

import numpy as np

from greenr.training.config import TrainingConfig

if TYPE_CHECKING:
    import keras

NUM_CLASSES = 2
BACKBONE_NAME = "backbone"
CLASSIFIER_NAME = "classifier"
HEAD_DROPOUT_NAME = "head_dropout"


def _custom_layer_classes() -> dict[str, type[Any]]:
    """The serving model's own layers, defined on first use so that importing needs no Keras."""
    if not _CUSTOM_LAYERS:
        import keras

        @keras.saving.register_keras_serializable(package="greenr")
        class HorizontalFlip(keras.layers.Layer):  # type: ignore[misc]
            """Mirror images left-right. Used by models saved before `WithMirrorImages` (they
            ran the classifier twice); kept registered so that those still load."""

            def call(self, inputs: Any) -> Any:
                return keras.ops.flip(inputs, axis=2)

        @keras.saving.register_keras_serializable(package="greenr")
        class WithMirrorImages(keras.layers.Layer):  # type: ignore[misc]
            """N images -> 2N: the images, then their left-right mirror images, in one batch."""

            def call(self, inputs: Any) -> Any:
                return keras.ops.concatenate([inputs, keras.ops.flip(inputs, axis=2)], axis=0)

            def compute_output_shape(self, input_shape: tuple[Any, ...]) -> tuple[Any, ...]:
                batch = None if input_shape[0] is None else 2 * input_shape[0]
                return (batch, *input_shape[1:])

        @keras.saving.register_keras_serializable(package="greenr")
        class MeanOfHalves(keras.layers.Layer):  # type: ignore[misc]
            """2N rows -> N: row i is the mean of rows i and N + i (an image and its mirror)."""

            def call(self, inputs: Any) -> Any:
                half = keras.ops.shape(inputs)[0] // 2
                return (inputs[:half] + inputs[half:]) / 2.0

            def compute_output_shape(self, input_shape: tuple[Any, ...]) -> tuple[Any, ...]:
                batch = None if input_shape[0] is None else input_shape[0] // 2
                return (batch, *input_shape[1:])

        _CUSTOM_LAYERS.update({cls.__name__: cls for cls in (HorizontalFlip, WithMirrorImages, MeanOfHalves)})
    return _CUSTOM_LAYERS


_CUSTOM_LAYERS: dict[str, type[Any]] = {}


def register_custom_layers() -> None:
    """Register the classifier's custom layers with Keras (call before `load_model`)."""
    _custom_layer_classes()


def build_classifier(
    config: TrainingConfig, backbone_weights: Mapping[str, np.ndarray[Any, Any]] | None
) -> keras.Model:
    """Backbone (ImageNet weights unless None) + dropout + 2-way softmax, backbone frozen.

    Pass `load_imagenet_weights(settings.home / "weights")` as `backbone_weights`; None gives a
    randomly initialised backbone (tests).
    """
    import keras

    from greenr.model.efficientnet_lite import build_efficientnet_lite0

    size = config.image_size
    backbone = build_efficientnet_lite0(
        include_top=False,
        weights=backbone_weights,
        input_shape=(size, size, 3),
        drop_connect_rate=config.drop_connect_rate,
        name=BACKBONE_NAME,
    )
    backbone.trainable = False
    inputs = keras.Input(shape=(size, size, 3), name="image")
    # No training=False here: stochastic depth inside the backbone should act while training.
    # BatchNorm still keeps its ImageNet statistics, because Keras 3 runs a BatchNormalization
    # whose `trainable` is False in inference mode (and `set_stage` leaves them frozen).
    features = backbone(inputs)
    x = keras.layers.Dropout(config.dropout, seed=config.seed, name=HEAD_DROPOUT_NAME)(features)
    outputs = keras.layers.Dense(
        NUM_CLASSES,
        activation="softmax",
        kernel_initializer=keras.initializers.GlorotUniform(seed=config.seed),
        name="probabilities",
    )(x)
    return keras.Model(inputs, outputs, name=CLASSIFIER_NAME)


def backbone_of(model: keras.Model) -> keras.Model:
    """The EfficientNet-Lite0 sub-model of a classifier built by `build_classifier`."""
    return model.get_layer(BACKBONE_NAME)


def set_stage(model: keras.Model, stage: str, config: TrainingConfig) -> list[str]:
    """Make the "head" stage (backbone frozen) or "fine_tune" stage (top blocks) trainable.

    Returns the names of the backbone layers left trainable.
    """
    from greenr.model.efficientnet_lite import unfreeze_top_blocks

    backbone = backbone_of(model)
    if stage == "head":
        backbone.trainable = False
        return []
    if stage == "fine_tune":
        return unfreeze_top_blocks(
            backbone, config.fine_tune.unfreeze_from, train_batchnorm=config.fine_tune.train_batchnorm
        )
    raise ValueError(f"unknown stage {stage!r}: use 'head' or 'fine_tune'")


def _forward_function(model: keras.Model, item_shape: tuple[int, ...]) -> Any:
    """A traced `model(x, training=False)` for batches of `item_shape`, built once per model."""
    import tensorflow as tf

    per_model = _FORWARD_FUNCTIONS.setdefault(model, {})
    if item_shape not in per_model:
        # A weak reference, or the cached function would keep its own (weak) key alive forever.
        model_ref = weakref.ref(model)
        # One signature with a free batch dimension: the short last batch reuses the trace.
        per_model[item_shape] = tf.function(
            lambda x: model_ref()(x, training=False),  # type: ignore[misc]
            input_signature=[tf.TensorSpec((None, *item_shape), tf.float32)],
        )
    return per_model[item_shape]


# Weak keys: a model that is no longer used takes its traced functions with it.
_FORWARD_FUNCTIONS: weakref.WeakKeyDictionary[Any, dict[tuple[int, ...], Any]] = weakref.WeakKeyDictionary()


def batched_outputs(
    model: keras.Model, images: np.ndarray[Any, Any], batch_size: int = 64
) -> np.ndarray[Any, Any]:
    """`model(images, training=False)` in batches through one traced graph (no `predict`).

    `model.predict` costs ~120 ms of overhead per call; eager calls re-run Python per layer.
    """
    import tensorflow as tf

    forward = _forward_function(model, tuple(images.shape[1:]))
    outputs = [
        np.asarray(forward(tf.constant(images[start : start + batch_size], dtype=tf.float32)))
        for start in range(0, len(images), batch_size)
    ]
    if not outputs:
        return np.zeros((0, *model.output_shape[1:]), dtype=np.float32)
    result: np.ndarray[Any, Any] = np.concatenate(outputs).astype(np.float32)
    return result


def inference_model(
    model: keras.Model, *, flip_averaging: bool = True, embedding: bool = False
) -> keras.Model:
    """The classifier for serving: no random layer, deterministic, N×S×S×3 (0..255) -> N×2.

    With `flip_averaging`, the output is the mean of the probabilities of the image and of its
    mirror image, so a prediction never depends on the photo's left-right orientation. The
    images and their mirrors go through the classifier as one batch of 2N rather than two
    branches of N: the same numbers, and one copy of the backbone in the exported graph, which
    onnxruntime runs faster (measured on 2 cores, one photo, trained model, 5 alternating
    runs of 100: p50 7.9 vs 9.5 ms).

    With `embedding`, a second output follows the probabilities: the backbone's pooled features
    (N×1280, the input of the head), averaged over the image and its mirror like the
    probabilities when `flip_averaging`. The exported serving model has it (the model server
    computes the embedding feature columns from it, greenr.features); the saved Keras model does
    not need it.

    The classifier is copied (same weights, no optimizer, no compile state), so the result saves
    and loads with `keras.models.load_model` after `register_custom_layers()` only.
    """
    import keras

    trained = model.get_layer(CLASSIFIER_NAME) if model.name != CLASSIFIER_NAME else model
    # from_config, not clone_model: clone_model re-applies the compile config (optimizer, loss,
    # the closure-defined F1 metric), which would then be saved with the model.
    classifier = keras.Model.from_config(trained.get_config())
    classifier.set_weights(trained.get_weights())
    if embedding:
        # The head's input is the backbone's pooled output inside the classifier's own graph.
        pooled = classifier.get_layer(HEAD_DROPOUT_NAME).input
        classifier = keras.Model(classifier.inputs, [classifier.outputs[0], pooled], name=CLASSIFIER_NAME)
    inputs = keras.Input(shape=classifier.input_shape[1:], name="image")
    if not flip_averaging:
        return keras.Model(inputs, classifier(inputs, training=False), name="greenr_classifier")
    layers = _custom_layer_classes()
    both = classifier(layers["WithMirrorImages"](name="with_mirrors")(inputs), training=False)
    if not embedding:
        return keras.Model(
            inputs, layers["MeanOfHalves"](name="flip_average")(both), name="greenr_classifier"
        )
    probabilities = layers["MeanOfHalves"](name="flip_average")(both[0])
    pooled_mean = layers["MeanOfHalves"](name="flip_average_embedding")(both[1])
    return keras.Model(inputs, [probabilities, pooled_mean], name="greenr_classifier")
