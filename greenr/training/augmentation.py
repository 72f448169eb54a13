"""Random augmentation of training batches, built from Keras preprocessing layers.

It runs in the training tf.data pipeline only: the classifier (and so the exported model)
never contains a random layer. Images stay float32 in 0..255, the model's input range.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from greenr.contracts import MODEL_INPUT_SIZE
from greenr.training.config import AugmentationConfig

if TYPE_CHECKING:
    import keras

VALUE_RANGE = (0.0, 255.0)
CROP_ASPECT_RATIOS = (3 / 4, 4 / 3)


def _saturation_factor(strength: float) -> tuple[float, float]:
    # Keras' RandomSaturation multiplies saturation by f / (1 - f); f = m / (1 + m) gives a
    # multiplier m drawn in [1 - strength, 1 + strength].
    low, high = 1.0 - strength, 1.0 + strength
    return low / (1.0 + low), high / (1.0 + high)


def build_augmentation(
    config: AugmentationConfig, seed: int, image_size: int = MODEL_INPUT_SIZE
) -> keras.Sequential:
    """A Sequential of random layers (each seeded from `seed`); identity at inference."""
    import keras

    layers: list[keras.layers.Layer] = []
    if config.crop_area > 0:
        import keras_cv

        layers.append(
            keras_cv.layers.RandomCropAndResize(
                (image_size, image_size),
                crop_area_factor=(1.0 - config.crop_area, 1.0),
                aspect_ratio_factor=CROP_ASPECT_RATIOS,
                seed=seed + 8,
            )
        )
    if config.horizontal_flip:
        # Vertical flips are left out: sky above grass and upright stems are real cues.
        layers.append(keras.layers.RandomFlip("horizontal", seed=seed))
    if config.rotation > 0:
        layers.append(keras.layers.RandomRotation(config.rotation, fill_mode="reflect", seed=seed + 1))
    if config.zoom > 0:
        layers.append(
            keras.layers.RandomZoom((-config.zoom, config.zoom), fill_mode="reflect", seed=seed + 2)
        )
    if config.translate > 0:
        layers.append(
            keras.layers.RandomTranslation(
                config.translate, config.translate, fill_mode="reflect", seed=seed + 3
            )
        )
    if config.brightness > 0:
        layers.append(
            keras.layers.RandomBrightness(config.brightness, value_range=VALUE_RANGE, seed=seed + 4)
        )
    if config.contrast > 0:
        layers.append(keras.layers.RandomContrast(config.contrast, value_range=VALUE_RANGE, seed=seed + 5))
    if config.saturation > 0:
        # value_range=(0, 1) on purpose: Keras 3.15 uses it only to clip the HSV saturation
        # channel, which lies in 0..1 whatever the image scale; (0, 255) lets saturation exceed
        # 1 and produces negative RGB values (measured down to -127 on 0..255 images).
        layers.append(
            keras.layers.RandomSaturation(
                _saturation_factor(config.saturation), value_range=(0.0, 1.0), seed=seed + 6
            )
        )
    if config.hue > 0:
        # Keras shifts hue by up to factor / 2 of the circle, in either direction.
        layers.append(keras.layers.RandomHue(2 * config.hue, value_range=VALUE_RANGE, seed=seed + 7))
    return keras.Sequential(layers, name="augmentation")


def build_mixup(config: AugmentationConfig, seed: int) -> keras.Layer | None:
    """Keras MixUp (blends pairs of images and their one-hot labels), or None when disabled."""
    if config.mixup <= 0:
        return None
    import keras

    return keras.layers.MixUp(alpha=config.mixup, seed=seed + 9)
