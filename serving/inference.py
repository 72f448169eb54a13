"""Image bytes to class probabilities and feature columns: Pillow decoding, the shared
preprocessing, onnxruntime, greenr.features.

Decoding and resizing are `greenr.images.decoding` and `greenr.images.preprocess`, the very code
training used (with the same Pillow version, pinned in both environments), so the server feeds the
model the same pixels training did. The feature columns (greenr/features/feature_set.yaml) are
computed by the same `greenr.features` code that computed the model version's training reference.
"""

from __future__ import annotations

from collections.abc import Sequence
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from greenr.features.definitions import FeatureSet
from greenr.features.embedding_reduction import (
    REDUCTION_FILE,
    EmbeddingReduction,
    EmbeddingReductionError,
    reduction_from_json,
)
from greenr.features.prediction_features import ColumnValue, prediction_features
from greenr.images.decoding import ImageDecodeError, format_samples, stored_pixels
from greenr.images.memory import LARGE_IMAGE_PIXELS
from greenr.images.preprocess import DRAFT_MARGIN, SizedModelInput, decode_sized_model_input
from greenr.open_set.scorer import OpenSetScorer
from serving.config import DEFAULT_INTRA_OP_SPINNING
from serving.deadline import Deadline
from serving.model_store import MODEL_FILE, ArtifactError, ArtifactMetadata, read_companion
from serving.open_set_scoring import OpenSetVerdict, check_open_set, open_set_verdicts, read_open_set
from serving.sessions import AdaptiveSessions

NO_DEADLINE = Deadline()
# Rows of a probability output sum to 1; anything further off means logits or a wrong head.
_PROBABILITY_TOLERANCE = 1e-3


class BadImageError(ValueError):
    """Image `index` of a request cannot be used; `reason` is machine-readable (see decoding)."""

    def __init__(self, index: int, reason: str, detail: str) -> None:
        super().__init__(f"image {index} rejected ({reason}): {detail}")
        self.index = index
        self.reason = reason


@dataclass(frozen=True)
class DecodedImages:
    """A request's images: the model's float batch, and each uint8 input with the upload's size."""

    batch: npt.NDArray[np.float32]
    """N x size x size x 3 in 0..255 RGB, what the model runs on."""
    inputs: list[SizedModelInput]
    """The same pixels as uint8, and each upload's upright width and height (feature columns)."""


def decode_images(
    payloads: Sequence[bytes],
    max_pixels: int,
    size: int,
    deadline: Deadline = NO_DEADLINE,
    large_decodes: AbstractContextManager[object] | None = None,
    *,
    draft_margin: int = DRAFT_MARGIN,
    large_image_pixels: int = LARGE_IMAGE_PIXELS,
) -> DecodedImages:
    """Decode every image fully; the model's batch and what the feature columns need.

    `draft_margin` is training's (`decode_sized_model_input`). `large_decodes` (a lock the server
    shares between its request threads) is held while an image of more than `large_image_pixels`
    stored pixels is decoded: a 40-megapixel PNG is ~120 MB
    decoded plus its RGB copy, and two at once took the server to 829 MB (issue 12's
    amplification case); one at a time bounds that, and small photos never wait.

    Raises:
        BadImageError: for the first image that is empty, not an image, corrupt or too large.
        CallerGone: the deadline passed before an image was decoded.
    """
    inputs = []
    for index, data in enumerate(payloads):
        deadline.check(f"decoding image {index}")
        large = (stored_pixels(data) or 0) > large_image_pixels
        gate = large_decodes if large and large_decodes is not None else None
        with gate if gate is not None else nullcontext():
            if gate is not None:
                deadline.check(f"waiting to decode large image {index}")
            try:
                inputs.append(
                    decode_sized_model_input(
                        data, max_pixels, size, draft_margin=draft_margin, trim_pixels=large_image_pixels
                    )
                )
            except ImageDecodeError as error:
                raise BadImageError(index, error.reason, str(error)) from None
    return DecodedImages(batch=np.stack([item.pixels for item in inputs]).astype(np.float32), inputs=inputs)


def decode_batch(
    payloads: Sequence[bytes], max_pixels: int, size: int, deadline: Deadline = NO_DEADLINE
) -> npt.NDArray[np.float32]:
    """Decode every image fully and stack them as float32 N x size x size x 3 in 0..255 RGB.

    Raises:
        BadImageError, CallerGone: see `decode_images`.
    """
    return decode_images(payloads, max_pixels, size, deadline).batch


@dataclass(frozen=True)
class ModelOutputs:
    """One run's outputs: the probabilities, and the pooled features when the model has them."""

    probabilities: npt.NDArray[np.float32]
    """N x len(labels)."""
    embeddings: npt.NDArray[np.float32] | None
    """N x D; None for models exported before the embedding output."""


def read_reduction(directory: Path) -> EmbeddingReduction | None:
    """The artifact's embedding reduction; None when it was published without one.

    Raises:
        ArtifactError: the file is there but unreadable.
    """
    text = read_companion(directory, REDUCTION_FILE)
    if text is None:
        return None
    try:
        return reduction_from_json(text)
    except EmbeddingReductionError as error:
        raise ArtifactError(str(error)) from None


class OnnxClassifier:
    """The model's onnxruntime sessions (serving.sessions), created once and shared by every
    request thread."""

    def __init__(
        self,
        model_path: Path,
        metadata: ArtifactMetadata,
        intra_op_threads: int,
        intra_op_spinning: bool = DEFAULT_INTRA_OP_SPINNING,
        reduction: EmbeddingReduction | None = None,
        open_set: OpenSetScorer | None = None,
    ) -> None:
        try:
            self._sessions = AdaptiveSessions(model_path, intra_op_threads, intra_op_spinning)
        except Exception as error:  # onnxruntime raises its own exception types for bad files
            raise ArtifactError(f"onnxruntime cannot load {model_path.name} ({error})") from None
        self.labels = metadata.labels
        self.input_size = metadata.input_size
        self.reduction = reduction
        self.open_set = open_set
        inputs = self._sessions.parallel.get_inputs()
        outputs = self._sessions.parallel.get_outputs()
        if len(inputs) != 1 or len(outputs) not in (1, 2):
            raise ArtifactError(
                f"{MODEL_FILE} must have one input and one or two outputs (probabilities, then the "
                f"embedding), has {len(inputs)} and {len(outputs)}"
            )
        self._input_name: str = inputs[0].name
        self._output_names: list[str] = [output.name for output in outputs]
        _check_signature(inputs[0].shape, inputs[0].type, outputs[0].shape, metadata)
        self.embedding_size: int | None = None
        if len(outputs) == 2:
            self.embedding_size = _embedding_size(outputs[1].shape, outputs[1].type)
        elif reduction is not None:
            raise ArtifactError(
                f"{MODEL_FILE} has no embedding output but the artifact has {REDUCTION_FILE}: "
                "publish the model and its reduction from the same training run"
            )
        if reduction is not None and self.embedding_size not in (None, reduction.dimensions):
            raise ArtifactError(
                f"{REDUCTION_FILE} was fitted on {reduction.dimensions} features but {MODEL_FILE}'s "
                f"embedding has {self.embedding_size}: publish the model and its reduction from the same run"
            )
        if open_set is not None:
            check_open_set(open_set, self.embedding_size)
        self._check_outputs()

    def _check_outputs(self) -> None:
        # One forward pass on a blank image per session: proves the graph runs and its rows are
        # probabilities.
        for session in self._sessions.distinct:
            try:
                outputs = self._outputs([self._run_one(session, self._blank())])
            except Exception as error:
                raise ArtifactError(f"{MODEL_FILE} fails on a blank image ({error})") from None
            self._check_blank_outputs(outputs)

    def _blank(self) -> npt.NDArray[np.float32]:
        return np.zeros((1, self.input_size, self.input_size, 3), dtype=np.float32)

    def _check_blank_outputs(self, outputs: ModelOutputs) -> None:
        probabilities = outputs.probabilities
        embeddings, reduction = outputs.embeddings, self.reduction
        if embeddings is not None and reduction is not None and embeddings.shape != (1, reduction.dimensions):
            raise ArtifactError(
                f"{MODEL_FILE}'s embedding has shape {embeddings.shape} for one image, "
                f"{REDUCTION_FILE} expects (1, {reduction.dimensions})"
            )
        if probabilities.shape != (1, len(self.labels)):
            raise ArtifactError(
                f"{MODEL_FILE} returns shape {probabilities.shape} for one image, "
                f"expected (1, {len(self.labels)}) (one probability per label)"
            )
        total = float(probabilities.sum())
        if not np.isfinite(total) or abs(total - 1.0) > _PROBABILITY_TOLERANCE:
            raise ArtifactError(
                f"{MODEL_FILE} outputs do not sum to 1 (sum {total:.4f}): export the model with its softmax"
            )

    def run(self, batch: npt.NDArray[np.float32], deadline: Deadline = NO_DEADLINE) -> ModelOutputs:
        """Probabilities (and embeddings, when the model has them) of an N x size x size x 3 batch.

        One run per image (see serving.sessions.create_session): on CPU a batch is no faster per
        image, and a large one would grow the memory arena for good. Each run takes the session
        serving.sessions picks. CallerGone when the deadline passes between two.
        """
        runs = []
        for i in range(len(batch)):
            deadline.check(f"classifying image {i}")
            with self._sessions.for_one_run() as session:
                runs.append(self._run_one(session, batch[i : i + 1]))
        return self._outputs(runs)

    def handling(self) -> AbstractContextManager[None]:
        """Mark a request as being handled for the whole block (serving.sessions: its neighbours'
        runs then take the one-thread session)."""
        return self._sessions.handling()

    def warm(self, runs: int = 2) -> None:
        """Run a blank image `runs` times on each session: a new session's first runs are slow."""
        for session in self._sessions.distinct:
            for _ in range(runs):
                self._run_one(session, self._blank())

    def _run_one(self, session: Any, image: npt.NDArray[np.float32]) -> list[Any]:
        return list(session.run(self._output_names, {self._input_name: image}))

    def _outputs(self, runs: list[list[Any]]) -> ModelOutputs:
        probabilities = np.asarray(np.concatenate([run[0] for run in runs]), dtype=np.float32)
        if len(self._output_names) == 1:
            return ModelOutputs(probabilities=probabilities, embeddings=None)
        embeddings = np.asarray(np.concatenate([run[1] for run in runs]), dtype=np.float32)
        return ModelOutputs(probabilities=probabilities, embeddings=embeddings)

    def probabilities(
        self, batch: npt.NDArray[np.float32], deadline: Deadline = NO_DEADLINE
    ) -> npt.NDArray[np.float32]:
        """N x len(labels) probabilities for an N x size x size x 3 float32 batch (see `run`)."""
        return self.run(batch, deadline).probabilities


def feature_rows(
    features: FeatureSet, images: DecodedImages, outputs: ModelOutputs, classifier: OnnxClassifier
) -> list[dict[str, ColumnValue]]:
    """Each image's feature columns (greenr/features/feature_set.yaml), in request order.

    Embedding columns are None when the model has no embedding output or no reduction.
    """
    rows = []
    for index, image in enumerate(images.inputs):
        embedding = None if outputs.embeddings is None else outputs.embeddings[index]
        rows.append(
            prediction_features(
                features,
                model_input=image.pixels,
                width=image.width,
                height=image.height,
                probabilities=outputs.probabilities[index].tolist(),
                labels=classifier.labels,
                embedding=embedding,
                reduction=classifier.reduction,
                jpeg_quality=image.jpeg_quality,
            )
        )
    return rows


def verdicts(outputs: ModelOutputs, classifier: OnnxClassifier) -> list[OpenSetVerdict] | None:
    """Each image's open-set verdict, in request order; None when the artifact has no open-set file."""
    if classifier.open_set is None:
        return None
    return open_set_verdicts(classifier.open_set, outputs.embeddings, outputs.probabilities)


def warm_up(classifier: OnnxClassifier, max_pixels: int, features: FeatureSet | None = None) -> None:
    """Run the whole predict path once per accepted format before the first request.

    The first real request otherwise pays for Pillow's lazily imported format plugins and for
    onnxruntime's first runs. Measured on 2 cores with the trained model: the first runs of a new
    session took 18-23 ms twice, then 11-12 ms; the first request to a freshly started server
    took 39-42 ms without this warm-up and 20-26 ms with it (3 starts each; the next ones 14-17).
    With `features`, the feature columns are computed too. Seldon's request metrics are not touched.
    """
    images = decode_images(format_samples(), max_pixels, classifier.input_size)
    outputs = classifier.run(images.batch)
    classifier.warm()  # the one-thread session too: runs alone never reach it
    if features is not None:
        feature_rows(features, images, outputs, classifier)
    verdicts(outputs, classifier)


def _check_signature(
    input_shape: Sequence[Any], input_type: str, output_shape: Sequence[Any], metadata: ArtifactMetadata
) -> None:
    """The contract of serving/README.md: float32 N x S x S x 3 in, N x len(labels) out."""
    size = metadata.input_size
    # Dimensions are ints when fixed and strings or None when symbolic (the batch).
    fixed_in = [dim if isinstance(dim, int) else None for dim in input_shape]
    if input_type != "tensor(float)" or len(fixed_in) != 4 or fixed_in[1:] != [size, size, 3]:
        raise ArtifactError(
            f"{MODEL_FILE} input is {input_type} {list(input_shape)}, expected tensor(float) "
            f"[N, {size}, {size}, 3] (metadata input_size {size})"
        )
    if fixed_in[0] is not None:
        # Batches of any size go through one run; a fixed batch dimension would refuse them.
        raise ArtifactError(
            f"{MODEL_FILE} input batch dimension is fixed at {fixed_in[0]}: export it as variable (None)"
        )
    fixed_out = [dim if isinstance(dim, int) else None for dim in output_shape]
    if len(fixed_out) != 2 or fixed_out[1] not in (None, len(metadata.labels)):
        raise ArtifactError(
            f"{MODEL_FILE} output is {list(output_shape)}, expected [N, {len(metadata.labels)}] "
            f"for labels {list(metadata.labels)}"
        )


def _embedding_size(shape: Sequence[Any], kind: str) -> int:
    """D of the embedding output [N, D] (serving/README.md)."""
    fixed = [dim if isinstance(dim, int) else None for dim in shape]
    if kind != "tensor(float)" or len(fixed) != 2 or fixed[1] is None:
        raise ArtifactError(
            f"{MODEL_FILE}'s second output is {kind} {list(shape)}, "
            "expected the embedding as tensor(float) [N, D]"
        )
    return int(fixed[1])


def check_model(directory: Path, metadata: ArtifactMetadata) -> None:
    """Validator for the model store: the ONNX file loads and honours the contract, and the
    embedding reduction and the open-set scorer, when published with it, fit its embedding output.

    One intra-op thread: this may run in Seldon's launcher process before gunicorn forks its
    workers, and thread pools do not survive a fork; the session is dropped right after.
    """
    OnnxClassifier(
        directory / MODEL_FILE,
        metadata,
        intra_op_threads=1,
        reduction=read_reduction(directory),
        open_set=read_open_set(directory),
    )
