"""The tracking server probe: a server that is down is one line in seconds, any answer is "up"."""

from __future__ import annotations

import pytest
from http_kit import free_port, http_server

from greenr.registry.model_registry import RegistryError
from greenr.registry.tracking_server import check_tracking_server


def test_a_server_that_is_down_is_named_with_what_to_do() -> None:
    uri = f"http://127.0.0.1:{free_port()}"
    with pytest.raises(RegistryError) as raised:
        check_tracking_server(uri, timeout=2.0)
    message = str(raised.value)
    assert message.startswith(f"the MLflow tracking server at {uri} does not answer (")
    assert "MLFLOW_TRACKING_URI" in message
    assert "\n" not in message


def test_any_http_answer_counts_as_there() -> None:
    # A tracking server behind a login answers 401: it is there.
    with http_server(401, b"") as url:
        check_tracking_server(url, timeout=2.0)


def test_a_local_backend_is_not_probed(tmp_path: object) -> None:
    check_tracking_server(f"sqlite:///{tmp_path}/mlflow.db")
    check_tracking_server("file:///nowhere/mlruns")


def test_the_registry_command_and_the_explanations_ask_first(capsys: pytest.CaptureFixture[str]) -> None:
    from greenr.explain.keras_source import keras_file_of
    from greenr.registry.__main__ import main

    uri = f"http://127.0.0.1:{free_port()}"
    with pytest.raises(RegistryError, match="does not answer"):
        keras_file_of(uri, "greenr-classifier", "1")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("MLFLOW_TRACKING_URI", uri)
        assert main(["show"]) == 1
    assert capsys.readouterr().err.startswith(f"error: the MLflow tracking server at {uri} does not answer")
