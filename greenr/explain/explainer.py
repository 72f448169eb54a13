"""The component that holds Keras models and draws explanations: one at a time, models cached by version.

Built to stay off the prediction path of the process it lives in (the API): TensorFlow is imported
and a model loaded only when the first explanation is asked for; one explanation runs at a time
(a second caller is refused at once, not queued, so explanations never pile up threads or
memory); and TensorFlow is held to `threads` threads so the cores stay free for predictions.
"""

from __future__ import annotations

import logging
import threading
from collections import OrderedDict
from collections.abc import Callable

from greenr.explain.gradcam import CamModel, cam_model, explain, resized
from greenr.explain.keras_source import load_keras_model
from greenr.explain.overlay import overlaid, png_bytes
from greenr.explain.photo import read_photo
from greenr.images.preprocess import DRAFT_MARGIN

logger = logging.getLogger(__name__)


class ExplainerBusy(RuntimeError):
    """Another explanation is being computed."""


class Explainer:
    """Explanations as PNG overlays, by model version (thread-safe)."""

    def __init__(
        self,
        fetch_keras: Callable[[str, str], bytes],
        max_models: int,
        threads: int,
        max_pixels: int,
        draft_margin: int = DRAFT_MARGIN,
    ) -> None:
        """`fetch_keras(name, version)` returns the version's `model.keras` bytes (or raises)."""
        self._fetch = fetch_keras
        self._max_models = max_models
        self._threads = threads
        self._max_pixels = max_pixels
        self._draft_margin = draft_margin
        self._slot = threading.Lock()
        self._models: OrderedDict[tuple[str, str], CamModel] = OrderedDict()
        self._tensorflow_ready = False

    def overlay_png(self, name: str, version: str, photo: bytes, class_index: int | None = None) -> bytes:
        """The photo with the Grad-CAM heatmap of model `name` `version` drawn over it, as PNG.

        Raises:
            ExplainerBusy: another explanation is running.
            ImageDecodeError: the photo cannot be decoded.
            whatever `fetch_keras` raises (no Keras model, registry down).
        """
        if not self._slot.acquire(blocking=False):
            raise ExplainerBusy("an explanation is already being computed")
        try:
            model = self.model(name, version)
            kept = read_photo(photo, self._max_pixels, model.input_size, self._draft_margin)
            explanation = explain(model, kept.pixels, class_index)
            heatmap = resized(explanation.heatmap, kept.picture.width, kept.picture.height)
            return png_bytes(overlaid(kept.picture, heatmap))
        finally:
            self._slot.release()

    def cached_versions(self) -> list[tuple[str, str]]:
        """(name, version) of the models in memory, least recently used first."""
        return list(self._models)

    def model(self, name: str, version: str) -> CamModel:
        """The prepared model of a version, fetched and loaded when not in memory (outside the slot)."""
        key = (name, version)
        if key in self._models:
            self._models.move_to_end(key)
            return self._models[key]
        data = self._fetch(name, version)
        self._limit_threads()
        model = cam_model(load_keras_model(data))
        self._models[key] = model
        while len(self._models) > self._max_models:
            dropped, _ = self._models.popitem(last=False)
            logger.info("explanations: dropped the model of %s version %s from memory", *dropped)
        logger.info("explanations: loaded the Keras model of %s version %s", name, version)
        return model

    def _limit_threads(self) -> None:
        if self._tensorflow_ready:
            return
        import tensorflow as tf

        try:
            tf.config.threading.set_intra_op_parallelism_threads(self._threads)
            tf.config.threading.set_inter_op_parallelism_threads(self._threads)
        except RuntimeError as error:  # TensorFlow already ran something in this process
            logger.warning("explanations: TensorFlow's thread counts are already set (%s)", error)
        self._tensorflow_ready = True
