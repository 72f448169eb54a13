"""The trained model artifact: its files round-trip, corruption is caught, the card says what it is."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from folder_store import folder_store
from trained_model_kit import summary_for, tiny_onnx_model

from greenr.training.trained_model import TrainedModel
from materializers.trained_model_materializer import TrainedModelMaterializer, model_card


def saved(tmp_path: Path) -> tuple[TrainedModelMaterializer, TrainedModel]:
    onnx = tiny_onnx_model(8)
    model = TrainedModel(summary=summary_for(onnx), onnx=onnx, keras=b"keras-file")
    materializer = TrainedModelMaterializer(str(tmp_path), artifact_store=folder_store())
    materializer.save(model)
    return materializer, model


def test_files_round_trip(tmp_path: Path) -> None:
    materializer, model = saved(tmp_path)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["model.keras", "model.onnx", "training.json"]
    assert (tmp_path / "model.onnx").read_bytes() == model.onnx
    loaded = materializer.load(TrainedModel)
    assert loaded.onnx == model.onnx
    assert loaded.keras == model.keras
    assert loaded.summary == model.summary
    assert json.loads((tmp_path / "training.json").read_text())["onnx_sha256"] == model.summary.onnx_sha256


def test_a_tampered_model_file_is_refused_on_load(tmp_path: Path) -> None:
    materializer, _ = saved(tmp_path)
    (tmp_path / "model.onnx").write_bytes(tiny_onnx_model(16))
    with pytest.raises(ValueError, match="corrupt"):
        materializer.load(TrainedModel)


def test_visualization_and_metadata_describe_the_model(tmp_path: Path) -> None:
    materializer, model = saved(tmp_path)
    views = materializer.save_visualizations(model)
    [(uri, kind)] = views.items()
    assert kind.value == "markdown"
    card = Path(uri).read_text()
    assert card == model_card(model.summary)
    assert "| input | 8x8 RGB, 0-255 |" in card
    assert "| labels | dandelion, grass |" in card
    assert "| validation accuracy / F1 | 0.9000 / 0.8800 |" in card
    metadata = materializer.extract_metadata(model)
    assert metadata["input_size"] == 8
    assert metadata["best_val_accuracy"] == pytest.approx(0.9)
    assert metadata["onnx_sha256"] == model.summary.onnx_sha256
