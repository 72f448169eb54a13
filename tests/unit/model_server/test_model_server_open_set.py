"""The model server's open-set rejection: reading open_set.json, scoring a batch, the response body."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from tiny_server_kit import TINY_METADATA, TINY_SIZE, flat_png
from trained_model_kit import tiny_onnx_model

from greenr.contracts import LABELS
from greenr.open_set.scorer import NEITHER, OPEN_SET_FILE, OpenSetScorer, fit_scorer, scorer_to_json
from serving.inference import OnnxClassifier, check_model, decode_images, verdicts
from serving.model_store import ArtifactError
from serving.open_set_scoring import read_open_set
from serving.payload import feedback_records, predictions_body

SIZE = TINY_SIZE
METADATA = TINY_METADATA
MODEL = {"name": "greenr-classifier", "version": "1", "alias": "champion", "fallback": False}
# The tiny model's "embedding" is the mean colour: reddish photos (dandelion) and greenish (grass).
TRAIN_COLOURS = np.array(
    [[200, 40, 30], [180, 60, 20], [220, 30, 50], [40, 180, 30], [60, 200, 40], [30, 170, 60]]
)
TRAIN_LABELS = ["dandelion"] * 3 + ["grass"] * 3


def _knn(threshold: float) -> OpenSetScorer:
    return fit_scorer("knn", TRAIN_COLOURS, TRAIN_LABELS, k=1).with_threshold(threshold, {"quantile": 0.95})


# Out-of-domain development pictures for outlier exposure: bluish ones.
NEGATIVE_COLOURS = np.array([[30, 40, 200], [50, 60, 230], [20, 80, 180], [60, 30, 210]])


def _outlier_exposure(threshold: float) -> OpenSetScorer:
    return fit_scorer(
        "outlier_exposure", TRAIN_COLOURS, TRAIN_LABELS, k=1, negatives=NEGATIVE_COLOURS
    ).with_threshold(threshold, {"quantile": 0.95})


def _folder(tmp_path: Path, embedding: bool = True, open_set: str | None = None) -> Path:
    folder = tmp_path / "artifact"
    folder.mkdir()
    (folder / "model.onnx").write_bytes(tiny_onnx_model(SIZE, embedding=embedding))
    if open_set is not None:
        (folder / OPEN_SET_FILE).write_text(open_set)
    return folder


def _classifier(folder: Path) -> OnnxClassifier:
    return OnnxClassifier(folder / "model.onnx", METADATA, intra_op_threads=1, open_set=read_open_set(folder))


def test_a_far_photo_is_answered_neither_with_its_probabilities_and_a_near_one_keeps_its_class(
    tmp_path: Path,
) -> None:
    classifier = _classifier(_folder(tmp_path, open_set=scorer_to_json(_knn(0.01))))
    images = decode_images([flat_png((210, 45, 35)), flat_png((20, 30, 220))], 10_000, SIZE)
    outputs = classifier.run(images.batch)
    found = verdicts(outputs, classifier)
    assert found is not None
    body = predictions_body(outputs.probabilities, LABELS, MODEL, open_set=found)
    near, far = body["predictions"]
    assert near["label"] == "dandelion"
    assert near["open_set"]["rejected"] is False
    assert near["open_set"]["score"] < 0.01 < far["open_set"]["score"]
    assert far["label"] == NEITHER
    assert far["open_set"] == {
        "score": pytest.approx(far["open_set"]["score"]),
        "threshold": pytest.approx(0.01),
        "method": "knn",
        "rejected": True,
    }
    # The probabilities of a rejected photo are the model's, unchanged.
    assert far["probabilities"] == {
        label: pytest.approx(float(value))
        for label, value in zip(LABELS, outputs.probabilities[1], strict=True)
    }


def test_outlier_exposure_answers_a_photo_like_its_negatives_neither_and_keeps_a_near_ones_class(
    tmp_path: Path,
) -> None:
    scorer = _outlier_exposure(0.0)
    classifier = _classifier(_folder(tmp_path, open_set=scorer_to_json(scorer)))
    images = decode_images([flat_png((210, 45, 35)), flat_png((40, 50, 220))], 10_000, SIZE)
    outputs = classifier.run(images.batch)
    found = verdicts(outputs, classifier)
    assert found is not None
    near, far = predictions_body(outputs.probabilities, LABELS, MODEL, open_set=found)["predictions"]
    assert near["label"] == "dandelion"
    assert near["open_set"]["rejected"] is False
    assert far["label"] == NEITHER
    assert far["open_set"]["method"] == "outlier_exposure"
    assert near["open_set"]["score"] < 0.0 < far["open_set"]["score"]
    # The server scores what training fitted (float32 in the file): the same scores.
    expected = scorer.scores(outputs.embeddings, outputs.probabilities)
    assert [p["open_set"]["score"] for p in (near, far)] == pytest.approx(list(expected), rel=1e-4, abs=1e-4)


def test_an_outlier_exposure_file_lacking_its_weights_is_refused_at_load(tmp_path: Path) -> None:
    scorer = _outlier_exposure(0.0)
    lacking = OpenSetScorer(
        method=scorer.method,
        threshold=scorer.threshold,
        arrays={name: array for name, array in scorer.arrays.items() if name != "weights"},
        options=scorer.options,
    )
    folder = _folder(tmp_path, open_set=scorer_to_json(lacking))
    with pytest.raises(ArtifactError, match=r"open_set\.json is unusable: .*lacks weights.*publish it again"):
        check_model(folder, METADATA)


def test_an_artifact_without_open_set_rejects_nothing_and_adds_no_block(tmp_path: Path) -> None:
    folder = _folder(tmp_path)
    assert read_open_set(folder) is None
    classifier = _classifier(folder)
    outputs = classifier.run(decode_images([flat_png((20, 30, 220))], 10_000, SIZE).batch)
    assert verdicts(outputs, classifier) is None
    (prediction,) = predictions_body(outputs.probabilities, LABELS, MODEL)["predictions"]
    assert set(prediction) == {"label", "probabilities"}
    assert prediction["label"] in LABELS


def test_an_uncalibrated_scorer_rejects_nothing_and_reports_a_null_threshold(tmp_path: Path) -> None:
    uncalibrated = fit_scorer("knn", TRAIN_COLOURS, TRAIN_LABELS, k=1)
    classifier = _classifier(_folder(tmp_path, open_set=scorer_to_json(uncalibrated)))
    outputs = classifier.run(decode_images([flat_png((20, 30, 220))], 10_000, SIZE).batch)
    (verdict,) = verdicts(outputs, classifier) or []
    assert verdict.rejected is False
    assert verdict.as_json()["threshold"] is None


def test_max_probability_needs_no_embedding_output(tmp_path: Path) -> None:
    scorer = fit_scorer("max_probability", TRAIN_COLOURS, TRAIN_LABELS).with_threshold(0.0, {})
    classifier = _classifier(_folder(tmp_path, embedding=False, open_set=scorer_to_json(scorer)))
    outputs = classifier.run(decode_images([flat_png((120, 120, 120))], 10_000, SIZE).batch)
    (verdict,) = verdicts(outputs, classifier) or []
    assert verdict.method == "max_probability"
    assert verdict.score == pytest.approx(1.0 - float(outputs.probabilities.max()))
    assert verdict.rejected is True  # any score above 0: a photo the model is not sure of


def test_an_unreadable_open_set_file_is_refused_with_what_to_do(tmp_path: Path) -> None:
    folder = _folder(tmp_path, open_set="{not json")
    with pytest.raises(ArtifactError, match=r"open_set\.json is unusable: .*publish it again with the model"):
        check_model(folder, METADATA)


def test_a_scorer_of_another_embedding_size_is_refused(tmp_path: Path) -> None:
    wide = fit_scorer("knn", np.random.default_rng(0).normal(size=(6, 5)), TRAIN_LABELS, k=1)
    folder = _folder(tmp_path, open_set=scorer_to_json(wide))
    with pytest.raises(ArtifactError, match=r"fitted on 5 features but model\.onnx's embedding has 3"):
        check_model(folder, METADATA)


def test_a_scorer_needing_embeddings_is_refused_for_a_one_output_model(tmp_path: Path) -> None:
    folder = _folder(tmp_path, embedding=False, open_set=scorer_to_json(_knn(0.1)))
    with pytest.raises(ArtifactError, match=r"needs the model's embedding output"):
        check_model(folder, METADATA)


def test_feedback_may_say_neither() -> None:
    (record,) = feedback_records(["dandelion"], [NEITHER], 0.0, (*LABELS, NEITHER))
    assert (record.truth, record.correct) == (NEITHER, False)
    (record,) = feedback_records([NEITHER], [NEITHER], 0.0, (*LABELS, NEITHER))
    assert record.correct is True


def test_the_store_fetches_the_open_set_file_with_the_model_and_into_an_older_copy(tmp_path: Path) -> None:
    from model_server_kit import write_artifact

    from serving.config import S3Config
    from serving.model_store import resolve_artifact

    s3 = S3Config(endpoint_url=None, region="us-east-1", timeout_seconds=1.0)
    published = write_artifact(tmp_path / "v1", tiny_onnx_model(SIZE, embedding=True), input_size=SIZE)
    first = resolve_artifact(str(published), tmp_path / "cache", check_model, s3)
    assert read_open_set(first.directory) is None
    (published / OPEN_SET_FILE).write_text(scorer_to_json(_knn(0.2)))
    second = resolve_artifact(str(published), tmp_path / "cache", check_model, s3)
    assert second.directory == first.directory
    assert (second.directory / OPEN_SET_FILE).read_text() == scorer_to_json(_knn(0.2))
    fresh = resolve_artifact(str(published), tmp_path / "other-cache", check_model, s3)
    scorer = read_open_set(fresh.directory)
    assert scorer is not None
    assert scorer.threshold == pytest.approx(0.2)
