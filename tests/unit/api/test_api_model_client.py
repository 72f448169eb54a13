"""The model server client's failure modes, against real sockets and a real HTTP server."""

from __future__ import annotations

import json
import socket
import time

import pytest
from http_kit import free_port, http_server

from greenr.api.model_client import ModelClient, ModelServerRejected, ModelServerUnavailable


def test_connection_refused_is_unavailable_at_once() -> None:
    client = ModelClient(f"http://127.0.0.1:{free_port()}", timeout_seconds=5)
    started = time.monotonic()
    with pytest.raises(ModelServerUnavailable) as caught:
        client.predict([b"x"])
    assert time.monotonic() - started < 1
    assert caught.value.kind == "connect"
    assert "try again in a moment; operators: python -m greenr.deployment status" in str(caught.value)
    client.close()


def test_a_server_that_never_answers_times_out() -> None:
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen(8)
        client = ModelClient(f"http://127.0.0.1:{listener.getsockname()[1]}", timeout_seconds=0.5)
        started = time.monotonic()
        with pytest.raises(ModelServerUnavailable) as caught:
            client.info()
        assert 0.4 < time.monotonic() - started < 2
        assert caught.value.kind == "timeout"
        client.close()


@pytest.mark.parametrize(
    ("status", "body", "kind"),
    [
        (500, b'{"status": {"info": "boom"}}', "server_error"),
        (503, b"", "server_error"),
        (200, b"<html>not json</html>", "bad_response"),
        (200, b'{"jsonData": {"predictions": []}}', "bad_response"),
    ],
)
def test_unexpected_answers_are_unavailable(status: int, body: bytes, kind: str) -> None:
    with http_server(status, body) as url:
        client = ModelClient(url, timeout_seconds=5)
        with pytest.raises(ModelServerUnavailable) as caught:
            client.predict([b"x"])
        assert caught.value.kind == kind
        client.close()


def test_a_400_is_a_rejection_with_seldons_reason() -> None:
    body = {
        "status": {"status": 1, "code": -1, "reason": "MICROSERVICE_BAD_DATA", "info": "image 0 rejected"}
    }
    with http_server(400, json.dumps(body).encode()) as url:
        client = ModelClient(url, timeout_seconds=5)
        with pytest.raises(ModelServerRejected, match="image 0 rejected"):
            client.predict([b"x"])
        client.close()


def test_predictions_are_parsed() -> None:
    body = {
        "jsonData": {
            "predictions": [{"label": "grass", "probabilities": {"dandelion": 0.25, "grass": 0.75}}],
            "model": {"name": "m", "version": 7, "alias": "champion", "fallback": False},
        }
    }
    with http_server(200, json.dumps(body).encode()) as url:
        client = ModelClient(url, timeout_seconds=5)
        answer = client.predict([b"x"])
        client.close()
    assert answer.model.version == "7"
    (scores,) = answer.predictions
    assert scores.label == "grass"
    assert scores.confidence == 0.75
    assert answer.latency_ms > 0


def test_feature_columns_are_parsed_and_optional() -> None:
    features = {"brightness": 0.4, "width": 640, "label": "grass", "embedding_pc1": None}
    body = {
        "jsonData": {
            "predictions": [
                {
                    "label": "grass",
                    "probabilities": {"dandelion": 0.25, "grass": 0.75},
                    "features": features,
                    "feature_set_version": 1,
                },
                {"label": "grass", "probabilities": {"dandelion": 0.25, "grass": 0.75}},
            ],
            "model": {"name": "m", "version": 7, "alias": "champion", "fallback": False},
        }
    }
    with http_server(200, json.dumps(body).encode()) as url:
        client = ModelClient(url, timeout_seconds=5)
        answer = client.predict([b"x", b"y"])
        client.close()
    new, old = answer.predictions
    assert (new.features, new.feature_set_version) == (features, 1)
    assert (old.features, old.feature_set_version) == (None, None)


@pytest.mark.parametrize(
    ("features", "version"), [([0.4], 1), ({"brightness": [1]}, 1), ({"brightness": True}, 1), ({}, "1")]
)
def test_malformed_feature_columns_are_an_unexpected_answer(features: object, version: object) -> None:
    body = {
        "jsonData": {
            "predictions": [
                {
                    "label": "grass",
                    "probabilities": {"dandelion": 0.25, "grass": 0.75},
                    "features": features,
                    "feature_set_version": version,
                }
            ],
            "model": {"name": "m", "version": 7, "alias": "champion", "fallback": False},
        }
    }
    with http_server(200, json.dumps(body).encode()) as url:
        client = ModelClient(url, timeout_seconds=5)
        with pytest.raises(ModelServerUnavailable) as caught:
            client.predict([b"x"])
        assert caught.value.kind == "bad_response"
        client.close()
