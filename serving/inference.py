"""Image bytes to class probabilities: Pillow decoding, the shared preprocessing, onnxruntime.

Decoding and resizing are `greenr.images.decoding` and `greenr.images.preprocess`, the very code
training used (with the same Pillow version, pinned in both environments), so the server feeds the
model the same pixels training did.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from greenr.images.decoding import ImageDecodeError, format_samples
from greenr.images.preprocess import decode_model_input
from serving.config import DEFAULT_INTRA_OP_SPINNING
from serving.deadline import Deadline
from serving.model_store import MODEL_FILE, ArtifactError, ArtifactMetadata

NO_DEADLINE = Deadline()
# Rows of a probability output sum to 1; anything further off means logits or a wrong head.
_PROBABILITY_TOLERANCE = 1e-3


class BadImageError(ValueError):
    """Image `index` of a request cannot be used; `reason` is machine-readable (see decoding)."""

    def __init__(self, index: int, reason: str, detail: str) -> None:
        super().__init__(f"image {index} rejected ({reason}): {detail}")
        self.index = index
        self.reason = reason


def decode_batch(
    payloads: Sequence[bytes], max_pixels: int, size: int, deadline: Deadline = NO_DEADLINE
) -> npt.NDArray[np.float32]:
    """Decode every image fully and stack them as float32 N x size x size x 3 in 0..255 RGB.

    Raises:
        BadImageError: for the first image that is empty, not an image, corrupt or too large.
        CallerGone: the deadline passed before an image was decoded.
    """
    arrays = []
    for index, data in enumerate(payloads):
        deadline.check(f"decoding image {index}")
        try:
            arrays.append(decode_model_input(data, max_pixels, size))
        except ImageDecodeError as error:
            raise BadImageError(index, error.reason, str(error)) from None
    return np.stack(arrays).astype(np.float32)


def _session(model_path: Path, intra_op_threads: int, spinning: bool) -> Any:
    # Imported here so that importing this module stays cheap and side-effect free.
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.intra_op_num_threads = intra_op_threads
    # One graph, run node after node: inter-op parallelism only adds threads on 2 cores.
    options.inter_op_num_threads = 1
    options.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    # See serving.config.DEFAULT_INTRA_OP_SPINNING for why and what it costs.
    options.add_session_config_entry("session.intra_op.allow_spinning", "1" if spinning else "0")
    # Spin inside a run only, not after it returns, while the request thread encodes the answer
    # and gunicorn reads the next request. Measured through the API on 2 cores (3 alternating
    # runs each, trained model): model-server CPU per image at concurrency 1 20.8-22.3 ms with
    # it, 30.0-33.8 ms without; images/s at concurrency 1 and 8 and latency unchanged (noise).
    options.add_session_config_entry("session.force_spinning_stop", "1")
    # onnxruntime's CPU memory arena keeps the peak of the largest run forever (2.5 GB after two
    # threads ran batches of 32), so `probabilities` runs one image at a time: the arena then
    # holds at most one image's activations per request thread. Measured on 2 cores with the
    # trained model, two threads classifying batches of 32: arena + one image per run 74.7
    # images/s and 191 MB resident; no arena + whole batch per run 49.2 images/s and 406 MB.
    options.enable_cpu_mem_arena = True
    options.log_severity_level = 3  # errors only: ORT's warnings about unused initializers are noise
    return ort.InferenceSession(str(model_path), sess_options=options, providers=["CPUExecutionProvider"])


class OnnxClassifier:
    """One onnxruntime session, created once and shared by every request thread.

    `InferenceSession.run` is thread-safe (onnxruntime documents concurrent Run calls on one
    session as supported), so no lock is needed around it.
    """

    def __init__(
        self,
        model_path: Path,
        metadata: ArtifactMetadata,
        intra_op_threads: int,
        intra_op_spinning: bool = DEFAULT_INTRA_OP_SPINNING,
    ) -> None:
        try:
            self._session = _session(model_path, intra_op_threads, intra_op_spinning)
        except Exception as error:  # onnxruntime raises its own exception types for bad files
            raise ArtifactError(f"onnxruntime cannot load {model_path.name} ({error})") from None
        self.labels = metadata.labels
        self.input_size = metadata.input_size
        inputs = self._session.get_inputs()
        outputs = self._session.get_outputs()
        if len(inputs) != 1 or len(outputs) < 1:
            raise ArtifactError(
                f"{MODEL_FILE} must have one input and one output, has {len(inputs)} and {len(outputs)}"
            )
        self._input_name: str = inputs[0].name
        self._output_name: str = outputs[0].name
        _check_signature(inputs[0].shape, inputs[0].type, outputs[0].shape, metadata)
        self._check_outputs()

    def _check_outputs(self) -> None:
        # One forward pass on a blank image: proves the graph runs and its rows are probabilities.
        blank = np.zeros((1, self.input_size, self.input_size, 3), dtype=np.float32)
        try:
            probabilities = self.probabilities(blank)
        except Exception as error:
            raise ArtifactError(f"{MODEL_FILE} fails on a blank image ({error})") from None
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

    def probabilities(
        self, batch: npt.NDArray[np.float32], deadline: Deadline = NO_DEADLINE
    ) -> npt.NDArray[np.float32]:
        """N x len(labels) probabilities for an N x size x size x 3 float32 batch.

        One run per image (see `_session`): on CPU a batch is no faster per image, and a large
        one would grow the memory arena for good. CallerGone when the deadline passes between two.
        """
        rows = []
        for i in range(len(batch)):
            deadline.check(f"classifying image {i}")
            rows.append(self._session.run([self._output_name], {self._input_name: batch[i : i + 1]})[0])
        return np.asarray(np.concatenate(rows), dtype=np.float32)


def warm_up(classifier: OnnxClassifier, max_pixels: int) -> None:
    """Run the whole predict path once per accepted format before the first request.

    The first real request otherwise pays for Pillow's lazily imported format plugins and for
    onnxruntime's first runs. Measured on 2 cores with the trained model: the first runs of a new
    session took 18-23 ms twice, then 11-12 ms; the first request to a freshly started server
    took 39-42 ms without this warm-up and 20-26 ms with it (3 starts each; the next ones 14-17).
    Seldon's request metrics are not touched.
    """
    classifier.probabilities(decode_batch(format_samples(), max_pixels, classifier.input_size))


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


def check_model(directory: Path, metadata: ArtifactMetadata) -> None:
    """Validator for the model store: the ONNX file loads and honours the contract.

    One intra-op thread: this may run in Seldon's launcher process before gunicorn forks its
    workers, and thread pools do not survive a fork; the session is dropped right after.
    """
    OnnxClassifier(directory / MODEL_FILE, metadata, intra_op_threads=1)
