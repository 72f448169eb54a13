"""The peer the serving benchmark compares the API with: what a user would build instead.

One process, FastAPI + uvicorn, the champion's Keras model loaded in it, `model.predict` on each
upload after the same decoding and preprocessing as training and serving. No model server, no
batching, no recording: the simplest web service that answers the same question.

    .venv/bin/python -m benchmarks.naive_service MODEL.keras [--port 8765] [--image-size 224]

It answers `POST /predict` (multipart field `files`, one photo) in the API's response shape
(`{"predictions": [{"label", "probabilities", "error"}]}`), so the benchmark's client is the same
for both; `GET /health` says when the model is loaded. Binds 127.0.0.1 only.
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Annotated, Any

from fastapi import FastAPI, File, UploadFile

from greenr.contracts import LABELS, MODEL_INPUT_SIZE
from greenr.images.decoding import ImageDecodeError, decode_image
from greenr.images.preprocess import to_model_input
from greenr.training.data import DEFAULT_MAX_PIXELS


def classify(model: Any, data: bytes, image_size: int, max_pixels: int) -> dict[str, Any]:
    """One photo through the Keras model, as a prediction row of the API's shape."""
    try:
        image = decode_image(data, max_pixels).image
    except ImageDecodeError as error:
        return {"label": None, "probabilities": None, "error": str(error)}
    pixels = to_model_input(image, image_size)[None].astype("float32")
    probabilities = model.predict(pixels, verbose=0)[0]
    values = {label: float(p) for label, p in zip(LABELS, probabilities, strict=True)}
    return {"label": max(values, key=values.__getitem__), "probabilities": values, "error": None}


def create_app(
    model: Any, image_size: int = MODEL_INPUT_SIZE, max_pixels: int = DEFAULT_MAX_PIXELS
) -> FastAPI:
    """The naive service around an already loaded Keras model."""
    app = FastAPI(title="naive Keras service (benchmark peer)")

    @app.get("/health")
    def health() -> dict[str, str]:
        return {"status": "ok"}

    # A plain (sync) route: FastAPI runs it in its thread pool, as a naive author would write it.
    @app.post("/predict")
    def predict(files: Annotated[list[UploadFile], File()]) -> dict[str, Any]:
        return {"predictions": [classify(model, f.file.read(), image_size, max_pixels) for f in files]}

    return app


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("model", type=Path, help="the champion's model.keras")
    parser.add_argument("--port", type=int, default=8765)
    parser.add_argument("--image-size", type=int, default=MODEL_INPUT_SIZE)
    args = parser.parse_args(argv)
    import uvicorn

    from greenr.training.saved_model import load_classifier

    app = create_app(load_classifier(args.model), args.image_size)
    uvicorn.run(app, host="127.0.0.1", port=args.port, log_level="warning")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
