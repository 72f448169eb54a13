"""The Seldon model server as a real process: .venv-serving, gunicorn, run by the local deployer's
ZenML service (greenr/deployment/model_server_service.py).

The model is a tiny Keras network with the served signature (float32 N x 224 x 224 x 3 in 0..255,
N x 2 probabilities), exported to ONNX in a main-environment subprocess (tests/model_server_kit.py):
the tests check the serving machinery, not the trained classifier. References are computed in this
process with the main environment's onnxruntime and the same `greenr.images` decoding.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import subprocess
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import numpy as np
import PIL
import pytest
from conftest import S3Service
from http_kit import free_port
from model_server_kit import (
    SERVING_PYTHON,
    ModelServer,
    Reference,
    assert_features_match,
    assert_matches,
    b64,
    metric_total,
    metric_values,
    new_server,
    process_group,
    real_photos,
    write_artifact,
)
from photo_factory import decompression_bomb_png, jpeg_bytes, mpo_bytes, photo, png_bytes
from zenml.enums import ServiceState

from greenr.contracts import LABELS
from greenr.settings import REPO_ROOT
from serving.deadline import DEADLINE_TAG

# The model server, its artifact and helpers are shared with the prediction API's tests.
pytest_plugins = ["model_server_fixtures"]
pytestmark = [pytest.mark.integration, pytest.mark.slow]

SELDON_CLIENT_SCRIPT = """
import base64, json, sys
from seldon_core.seldon_client import SeldonClient
from seldon_core.utils import seldon_message_to_json

port, paths = sys.argv[1], sys.argv[2:]
images = [open(path, "rb").read() for path in paths]
gateway = SeldonClient(
    gateway="seldon", transport="rest", gateway_endpoint=f"127.0.0.1:{port}", client_return_type="dict"
)
single = gateway.predict(bin_data=images[0])
micro = SeldonClient(transport="rest", microservice_endpoint=f"127.0.0.1:{port}")
batch = micro.microservice(
    method="predict", json_data={"images": [base64.b64encode(image).decode() for image in images]}
)
feedback = micro.microservice_feedback(
    prediction_request=batch.request, prediction_response=batch.response, reward=1.0
)

def as_json(response):
    return response if response is None or isinstance(response, dict) else seldon_message_to_json(response)

print(json.dumps({
    name: {"success": result.success, "msg": result.msg, "response": as_json(result.response)}
    for name, result in (("single", single), ("batch", batch), ("feedback", feedback))
}))
"""

IMPORT_CHECK_SCRIPT = """
import json, sys
import serving.wsgi  # imports the model class and everything it uses
import PIL
heavy = ["tensorflow", "keras", "zenml", "mlflow", "pydantic", "sqlalchemy", "great_expectations"]
print(json.dumps({"pillow": PIL.__version__, "loaded": [name for name in heavy if name in sys.modules]}))
"""


@pytest.fixture(scope="module")
def server(
    tmp_path_factory: pytest.TempPathFactory, serving_env: Path, artifact: Path
) -> Iterator[ModelServer]:
    """One server on the good artifact for the request-level tests of this module."""
    running = new_server(tmp_path_factory.mktemp("model-server"))
    running.start(str(artifact))
    try:
        yield running
    finally:
        running.stop()


# ---------------------------------------------------------------- environment


def test_serving_env_has_main_pillow_and_no_heavy_imports(serving_env: Path) -> None:
    result = subprocess.run(
        [str(serving_env), "-c", IMPORT_CHECK_SCRIPT],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
        cwd=REPO_ROOT,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    report = json.loads(result.stdout.splitlines()[-1])
    # Same Pillow, same JPEG decoding: otherwise probabilities move by up to 0.014.
    assert report["pillow"] == PIL.__version__
    assert report["loaded"] == []


# ---------------------------------------------------------------- predictions


def test_single_images_match_the_model_run_in_process(server: ModelServer, reference: Reference) -> None:
    photos = real_photos(3)
    for path in photos:
        data = path.read_bytes()
        status, body = server.predict({"binData": b64(data)})
        assert status == 200, body
        assert body["jsonData"]["model"] == {
            "name": "greenr-classifier",
            "version": "3",
            "alias": "champion",
            "fallback": False,
        }
        assert_matches(body["jsonData"]["predictions"], reference.probabilities([data]))
        assert_features_match(body["jsonData"]["predictions"], reference.features([data]))
        assert body["meta"]["tags"]["model_version"] == "3"


def test_batch_in_order_and_both_json_forms(server: ModelServer, reference: Reference) -> None:
    images = [path.read_bytes() for path in real_photos(4)]
    expected = reference.probabilities(images)
    # The fixture model must tell the photos apart, or the order check would prove nothing.
    assert np.ptp(expected[:, 0]) > 0.01
    expected_features = reference.features(images)
    for payload in (
        {"jsonData": {"images": [b64(i) for i in images]}},
        {"jsonData": [b64(i) for i in images]},
    ):
        status, body = server.predict(payload)
        assert status == 200, body
        assert_matches(body["jsonData"]["predictions"], expected)
        assert_features_match(body["jsonData"]["predictions"], expected_features)


def test_png_and_webp_are_accepted(server: ModelServer, reference: Reference) -> None:
    picture = photo(5, (300, 200))
    for fmt in ("PNG", "WEBP"):
        buffer = io.BytesIO()
        picture.save(buffer, format=fmt)
        data = buffer.getvalue()
        status, body = server.predict({"binData": b64(data)})
        assert status == 200, body
        assert_matches(body["jsonData"]["predictions"], reference.probabilities([data]))


def test_a_multi_picture_jpeg_is_its_first_frame(server: ModelServer, reference: Reference) -> None:
    first = photo(21, (640, 480))
    status, body = server.predict({"binData": b64(mpo_bytes(first, photo(22)))})
    assert status == 200, body
    assert_matches(body["jsonData"]["predictions"], reference.probabilities([jpeg_bytes(first)]))


def test_work_stops_once_the_callers_deadline_has_passed(server: ModelServer) -> None:
    """The API sends how long it waits; the server used to work on for nobody after it gave up."""
    images = [b64(png_bytes(photo(seed, (1000, 1000)))) for seed in range(16)]
    # 16 decodes of a megapixel PNG take far more than 1 ms: the server gives up between images.
    status, body = server.predict({"jsonData": {"images": images}, "meta": {"tags": {DEADLINE_TAG: 1}}})
    assert status == 503, body
    assert "the request was abandoned" in body["status"]["info"]
    status, body = server.predict(
        {"jsonData": {"images": images[:2]}, "meta": {"tags": {DEADLINE_TAG: 60_000}}}
    )
    assert status == 200, body


def test_concurrent_requests_share_one_session(server: ModelServer, reference: Reference) -> None:
    images = [path.read_bytes() for path in real_photos(6)]
    expected = reference.probabilities(images)
    before = server.metrics()
    jobs = [index % len(images) for index in range(24)]
    # More client threads than the server's 4: requests queue and run on one shared session.
    with ThreadPoolExecutor(max_workers=8) as pool:
        answers = list(pool.map(lambda index: server.predict({"binData": b64(images[index])}), jobs))
    for index, (status, body) in zip(jobs, answers, strict=True):
        assert status == 200, body
        assert_matches(body["jsonData"]["predictions"], expected[index : index + 1])
    # Each request reported its own counts (per-thread pending metrics), none lost or doubled.
    after = server.metrics()
    counted = sum(
        metric_total(after, "greenr_predictions_total", label=label)
        - metric_total(before, "greenr_predictions_total", label=label)
        for label in LABELS
    )
    assert counted == len(jobs)


def _bad_inputs() -> list[Any]:
    good = jpeg_bytes(photo(1))
    return [
        pytest.param(
            {"binData": b64(good[: len(good) // 2])}, "image 0 rejected (corrupt)", id="corrupt-jpeg"
        ),
        pytest.param(
            {"binData": b64(b"dandelion,grass\nnot an image\n")},
            "image 0 rejected (not_an_image)",
            id="text-file",
        ),
        pytest.param({"binData": ""}, "image 0 rejected (empty)", id="empty"),
        pytest.param(
            {"binData": b64(decompression_bomb_png())},
            "image 0 rejected (decompression_bomb)",
            id="decompression-bomb-png",
        ),
        pytest.param(
            {"jsonData": {"images": [b64(good), b64(good), b64(good[:200])]}},
            "image 2 rejected (corrupt)",
            id="bad-image-in-batch",
        ),
        pytest.param(
            {"jsonData": {"images": [b64(good), "%%% not base64"]}}, "image 1 is not valid base64", id="b64"
        ),
        pytest.param({"binData": "!!!notbase64"}, "binData is not valid base64", id="bindata-not-base64"),
        pytest.param({"binData": "caf\u00e9"}, "binData is not valid base64", id="bindata-not-ascii"),
        pytest.param({"binData": 42}, "binData must be a base64 string, got int", id="bindata-not-a-string"),
        pytest.param({"jsonData": {"images": []}}, "the batch is empty", id="empty-batch"),
        pytest.param({"jsonData": {"files": []}}, 'no "images" list', id="no-images-key"),
        pytest.param({"strData": b64(good)}, "strData is not accepted", id="strdata"),
        pytest.param(
            {"data": {"ndarray": [[1, 2, 3]]}}, "data (ndarray/tensor) is not accepted", id="ndarray"
        ),
        pytest.param(
            {"jsonData": {"images": [b64(jpeg_bytes(photo(2, (32, 32))))] * 65}},
            "at most 64 are accepted",
            id="batch-too-large",
        ),
    ]


@pytest.mark.parametrize(("payload", "message"), _bad_inputs())
def test_bad_input_is_a_400_with_a_clear_message(
    server: ModelServer, reference: Reference, payload: dict[str, Any], message: str
) -> None:
    status, body = server.predict(payload)
    assert status == 400, body
    assert message in body["status"]["info"]
    assert body["status"]["reason"] == "MICROSERVICE_BAD_DATA"
    # And the server keeps answering.
    data = real_photos(1)[0].read_bytes()
    status, body = server.predict({"binData": b64(data)})
    assert status == 200, body
    assert_matches(body["jsonData"]["predictions"], reference.probabilities([data]))


# ---------------------------------------------------------------- metadata, health, feedback, metrics


def test_metadata_describes_the_served_model(server: ModelServer, artifact: Path) -> None:
    status, body = server.request("GET", "/api/v1.0/metadata")
    assert status == 200, body
    assert body["name"] == "greenr-classifier"
    assert body["versions"] == ["3"]
    assert body["platform"] == "onnxruntime"
    assert {"messagetype": "binData"} in body["inputs"]
    custom = body["custom"]
    assert custom["alias"] == "champion"
    assert json.loads(custom["labels"]) == list(LABELS)
    assert json.loads(custom["metrics"]) == {"test_accuracy": 0.95, "test_f1": 0.94}
    assert custom["dataset_version"] == "dataset-test-0001"
    assert custom["fallback"] == "false"
    assert custom["served_from"] == str(artifact)
    assert custom["sha256"] == hashlib.sha256((artifact / "model.onnx").read_bytes()).hexdigest()


def test_health(server: ModelServer, artifact: Path) -> None:
    assert server.request("GET", "/health/ping") == (200, "pong")
    status, body = server.request("GET", "/health/status")
    assert status == 200, body
    health = body["jsonData"]
    assert health["status"] == "ok"
    assert health["version"] == "3"
    assert health["fallback"] is False
    assert health["fallback_reason"] is None
    assert health["model_uri"] == health["served_from"] == str(artifact)
    # What ZenML sees: the process runs, and it does not serve a fallback copy.
    assert server.service is not None
    assert server.service.check_status() == (ServiceState.ACTIVE, "")
    assert server.service.endpoint.is_active()


def test_feedback_is_counted_by_correctness(server: ModelServer) -> None:
    before = server.metrics()
    wrong = {
        "request": {"data": {"names": ["predicted"], "ndarray": ["dandelion", "grass"]}},
        "truth": {"data": {"names": ["label"], "ndarray": ["grass", "grass"]}},
        "reward": 0.5,
    }
    status, body = server.request("POST", "/api/v1.0/feedback", wrong)
    assert status == 200, body
    assert body["jsonData"] == {"recorded": 2.0, "correct": 1.0}
    # Without the predicted labels, Seldon's reward decides (1 = right).
    status, body = server.request(
        "POST", "/api/v1.0/feedback", {"truth": {"data": {"ndarray": ["dandelion"]}}, "reward": 1}
    )
    assert status == 200, body
    assert body["jsonData"] == {"recorded": 1.0, "correct": 1.0}
    status, body = server.request("POST", "/api/v1.0/feedback", {"truth": {"data": {"ndarray": ["daisy"]}}})
    assert status == 400, body
    assert "unknown label(s) ['daisy']" in body["status"]["info"]

    after = server.metrics()

    def delta(**labels: str) -> float:
        return metric_total(after, "greenr_feedback_total", **labels) - metric_total(
            before, "greenr_feedback_total", **labels
        )

    assert delta(truth="grass", correct="false") == 1
    assert delta(truth="grass", correct="true") == 1
    assert delta(truth="dandelion", correct="true") == 1


def test_prometheus_metrics(server: ModelServer) -> None:
    before = server.metrics()
    images = [path.read_bytes() for path in real_photos(2)]
    status, body = server.predict({"jsonData": {"images": [b64(i) for i in images]}})
    assert status == 200, body
    counted = dict.fromkeys(LABELS, 0)
    for prediction in body["jsonData"]["predictions"]:
        counted[prediction["label"]] += 1
    after = server.metrics()
    for label in LABELS:
        got = metric_total(after, "greenr_predictions_total", label=label) - metric_total(
            before, "greenr_predictions_total", label=label
        )
        assert got == counted[label]
    requests_timed = metric_total(after, "greenr_predict_seconds_count") - metric_total(
        before, "greenr_predict_seconds_count"
    )
    assert requests_timed == 1
    gauges = metric_values(after, "greenr_model_fallback")
    assert gauges
    assert set(gauges) == {0.0}


def test_seldon_client(server: ModelServer, reference: Reference) -> None:
    photos = real_photos(2)
    result = subprocess.run(
        [str(SERVING_PYTHON), "-c", SELDON_CLIENT_SCRIPT, str(server.port), *map(str, photos)],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    report = json.loads(result.stdout.splitlines()[-1])
    expected = reference.probabilities([path.read_bytes() for path in photos])
    single = report["single"]
    assert single["success"], single
    assert_matches(single["response"]["jsonData"]["predictions"], expected[:1])
    batch = report["batch"]
    assert batch["success"], batch
    assert_matches(batch["response"]["jsonData"]["predictions"], expected)
    feedback = report["feedback"]
    assert feedback["success"], feedback
    assert feedback["response"]["jsonData"] == {"recorded": 1.0, "correct": 1.0}


# ---------------------------------------------------------------- lifecycle and fallback


def test_stop_ends_every_process_it_started(own_server: ModelServer, artifact: Path) -> None:
    own_server.start(str(artifact))
    pgid = os.getpgid(own_server.pid())
    group = process_group(pgid)
    # The log writer (serving/log_writer.py), gunicorn's master and its worker; no metrics manager
    # process (InProcessSeldonMetrics).
    assert len(group) == 3, group
    own_server.stop()
    assert process_group(pgid) == []
    for member in group:
        assert not Path(f"/proc/{member}").exists() or member not in process_group(pgid)
    assert not own_server.running()
    assert own_server.service is not None
    assert own_server.service.check_status() == (ServiceState.INACTIVE, "")


def test_start_fails_clearly_without_model_or_cache(own_server: ModelServer, tmp_path: Path) -> None:
    started = time.monotonic()
    error = own_server.start_error(str(tmp_path / "no-such-artifact"))
    assert error is not None
    # The server's own reason, as soon as it gives up (not after the start timeout).
    assert time.monotonic() - started < 60
    assert "model server cannot start" in error
    assert "no usable cached copy" in error
    assert str(tmp_path / "no-such-artifact") in error
    assert not own_server.running()
    assert not (own_server.runtime / "service.pid").exists()


def test_start_without_model_uri_is_refused(own_server: ModelServer) -> None:
    error = own_server.start_error("")
    assert error is not None
    assert "MODEL_URI is not set" in error


def test_a_stale_pid_file_never_names_another_process(own_server: ModelServer, artifact: Path) -> None:
    """After a reboot the pid file may name an unrelated process: it is not ours, stop leaves it."""
    stranger = subprocess.Popen(["sleep", "60"])
    try:
        own_server.start(str(artifact))
        own_server.stop()
        (own_server.runtime / "service.pid").write_text(f"{stranger.pid}\n")
        assert own_server.service is not None
        assert own_server.service.status.pid is None
        own_server.service.stop(timeout=5)
        assert stranger.poll() is None
    finally:
        stranger.kill()
        stranger.wait()


def _assert_fallback(server: ModelServer, served_from: Path, reason: str, reference: Reference) -> None:
    status, body = server.request("GET", "/health/status")
    assert status == 200, body
    health = body["jsonData"]
    assert health["status"] == "degraded"
    assert health["fallback"] is True
    assert reason in health["fallback_reason"]
    assert health["served_from"] == str(served_from)
    status, metadata = server.request("GET", "/api/v1.0/metadata")
    assert metadata["custom"]["fallback"] == "true"
    assert reason in metadata["custom"]["fallback_reason"]
    data = real_photos(1)[0].read_bytes()
    status, body = server.predict({"binData": b64(data)})
    assert status == 200, body
    assert body["jsonData"]["model"]["fallback"] is True
    assert_matches(body["jsonData"]["predictions"], reference.probabilities([data]))
    # A gauge: Seldon keeps one series per method that reported it (predict, health, ...).
    gauges = metric_values(server.metrics(), "greenr_model_fallback")
    assert gauges
    assert set(gauges) == {1.0}


def test_an_old_one_output_artifact_is_served_with_empty_embedding_columns(
    own_server: ModelServer, old_artifact: Path, old_onnx_model: Path
) -> None:
    own_server.start(str(old_artifact))
    data = real_photos(1)[0].read_bytes()
    status, body = own_server.predict({"binData": b64(data)})
    assert status == 200, body
    old = Reference(old_onnx_model)
    (prediction,) = body["jsonData"]["predictions"]
    assert_matches([prediction], old.probabilities([data]))
    assert_features_match([prediction], old.features([data]))
    assert {name for name, value in prediction["features"].items() if value is None} == {
        "embedding_pc1",
        "embedding_pc2",
        "embedding_pc3",
        "embedding_pc4",
        "embedding_distance",
    }
    assert "no embedding output" in own_server.log()


def test_falls_back_to_the_last_good_cached_copy(
    own_server: ModelServer, artifact: Path, reference: Reference, tmp_path: Path
) -> None:
    own_server.start(str(artifact))  # fills the cache
    own_server.stop()

    missing = tmp_path / "registry-down"
    own_server.start(str(missing))
    _assert_fallback(own_server, artifact, f"cannot read {missing}/metadata.json", reference)
    assert "[FALLBACK: cached copy]" in own_server.log()
    own_server.stop()

    # A new version whose model.onnx was only partly uploaded (its bytes do not match the sha256
    # in metadata.json) is refused the same way. (A copy already cached under the announced
    # sha256 would be served without downloading: the cache is content-addressed.)
    announced = (artifact / "model.onnx").read_bytes() + b"new version"
    broken = write_artifact(tmp_path / "broken", announced, version="4")
    (broken / "model.onnx").write_bytes(announced[: len(announced) // 2])
    own_server.start(str(broken))
    _assert_fallback(own_server, artifact, "the artifact is corrupt or was only partly written", reference)
    own_server.stop()

    # A well-formed artifact whose model breaks the contract (3 labels) is refused too.
    wrong = write_artifact(tmp_path / "wrong", (artifact / "model.onnx").read_bytes(), labels=["a", "b", "c"])
    own_server.start(str(wrong))
    _assert_fallback(own_server, artifact, "expected [N, 3]", reference)


def test_s3_artifact_and_s3_down(
    own_server: ModelServer, artifact: Path, reference: Reference, s3_service: S3Service, s3_prefix: str
) -> None:
    bucket, key_prefix = s3_prefix.removeprefix("s3://").split("/", 1)
    client = s3_service.client()
    for name in ("model.onnx", "metadata.json"):
        client.put_object(Bucket=bucket, Key=f"{key_prefix}/{name}", Body=(artifact / name).read_bytes())
    s3_env = {
        "AWS_ENDPOINT_URL_S3": s3_service.endpoint_url,
        "AWS_ACCESS_KEY_ID": s3_service.access_key_id,
        "AWS_SECRET_ACCESS_KEY": s3_service.secret_access_key,
        "GREENR_S3_TIMEOUT_SECONDS": "2",
    }
    own_server.start(s3_prefix, **s3_env)
    status, body = own_server.request("GET", "/health/status")
    assert body["jsonData"]["served_from"] == s3_prefix
    assert body["jsonData"]["fallback"] is False
    data = real_photos(1)[0].read_bytes()
    status, body = own_server.predict({"binData": b64(data)})
    assert status == 200, body
    assert_matches(body["jsonData"]["predictions"], reference.probabilities([data]))
    own_server.stop()

    # S3 down: nothing listens on the endpoint any more.
    down = {**s3_env, "AWS_ENDPOINT_URL_S3": f"http://127.0.0.1:{free_port()}"}
    own_server.start(s3_prefix, **down)
    status, body = own_server.request("GET", "/health/status")
    health = body["jsonData"]
    assert health["fallback"] is True
    assert health["served_from"] == s3_prefix
    assert f"cannot fetch {s3_prefix}/metadata.json" in health["fallback_reason"]
    status, body = own_server.predict({"binData": b64(data)})
    assert status == 200, body
