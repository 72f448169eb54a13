"""The serving benchmark's naive peer: a one-process Keras web service, for real.

A tiny randomly initialised classifier stands in for the champion (the service does not care
how good the model is); the service runs as the benchmark starts it, in its own process.
"""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest
from photo_factory import jpeg_bytes, photo

from benchmarks.serving_benchmark import naive_service
from greenr.training.config import TrainingConfig

pytestmark = pytest.mark.slow

SIZE = 32


@pytest.fixture(scope="module")
def tiny_model(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from greenr.training.model import build_classifier, inference_model

    path = tmp_path_factory.mktemp("model") / "model.keras"
    inference_model(build_classifier(TrainingConfig(image_size=SIZE), None)).save(path)
    return path


def test_the_naive_service_classifies_uploads_in_the_api_shape(tiny_model: Path) -> None:
    with naive_service(tiny_model, SIZE) as url:
        ok = httpx.post(
            f"{url}/predict", files={"files": ("a.jpg", jpeg_bytes(photo(1)), "image/jpeg")}, timeout=30
        )
        bad = httpx.post(
            f"{url}/predict", files={"files": ("b.jpg", b"not a photo", "image/jpeg")}, timeout=30
        )

    assert ok.status_code == 200
    row = ok.json()["predictions"][0]
    assert row["error"] is None
    assert set(row["probabilities"]) == {"dandelion", "grass"}
    assert sum(row["probabilities"].values()) == pytest.approx(1.0, abs=1e-5)
    assert row["label"] == max(row["probabilities"], key=row["probabilities"].get)
    assert bad.json()["predictions"][0]["error"]


def test_the_naive_service_is_stopped_after_use(tiny_model: Path) -> None:
    with naive_service(tiny_model, SIZE) as url:
        assert httpx.get(f"{url}/health", timeout=5).status_code == 200
    with pytest.raises(httpx.HTTPError):
        httpx.get(f"{url}/health", timeout=2)


def test_a_service_that_cannot_start_is_reported(tmp_path: Path) -> None:
    with pytest.raises(RuntimeError, match="exited"), naive_service(tmp_path / "missing.keras", SIZE):
        pass
