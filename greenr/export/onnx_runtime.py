"""Running an exported classifier with onnxruntime (the same runtime as the model server)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import numpy.typing as npt


class OnnxClassifier:
    """An onnxruntime session over a model.onnx file; `predict` takes float32 N×H×W×3 in 0..255."""

    def __init__(self, path: Path, threads: int = 2) -> None:
        import onnxruntime as ort

        options = ort.SessionOptions()
        options.intra_op_num_threads = threads
        self._session = ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
        self._input = self._session.get_inputs()[0].name

    @property
    def input_size(self) -> int | None:
        """S of an N×S×S×3 input (the size the model was trained at); None when not fixed."""
        shape = self._session.get_inputs()[0].shape
        return shape[1] if len(shape) == 4 and isinstance(shape[1], int) else None

    @property
    def output_count(self) -> int:
        """1 (probabilities) or 2 (probabilities, then the pooled-feature embedding)."""
        return len(self._session.get_outputs())

    def predict(self, images: npt.NDArray[np.float32], batch_size: int = 32) -> npt.NDArray[np.float32]:
        """Class probabilities, N×classes."""
        return self.outputs(images, batch_size)[0]

    def outputs(self, images: npt.NDArray[np.float32], batch_size: int = 32) -> list[npt.NDArray[np.float32]]:
        """Every output of the model, in its order, each N×…: the probabilities first."""
        runs = [
            self._session.run(None, {self._input: images[i : i + batch_size].astype(np.float32)})
            for i in range(0, len(images), batch_size)
        ]
        if not runs:
            return [np.zeros((0, 0), dtype=np.float32) for _ in range(self.output_count)]
        return [
            np.concatenate([np.asarray(run[k]) for run in runs]).astype(np.float32)
            for k in range(self.output_count)
        ]
