"""Schemathesis fuzzes the API's OpenAPI schema against the real server (issue 12).

The API runs in a real uvicorn with its production configuration (`greenr.api.__main__`), a real
model server (tests/model_server_kit.py) and a SQLite catalog in the test's home; Schemathesis
generates valid and invalid requests for every operation and runs its checks on every answer:
no 5xx, and every answer matches the schema (status, content type, body). Bounded in examples
per operation and without Hypothesis' per-example deadline (a real model-server call takes
tens of milliseconds); the whole module takes about a minute. Every request carries an admin key
with a rate no run reaches, so the fuzzing reaches the routes (access control has its own tests).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
import schemathesis
from api_keys_kit import bearer, make_key
from hypothesis import HealthCheck, settings
from live_server import live_api
from model_server_kit import ModelServer
from schemathesis.checks import CheckFunction
from schemathesis.specs.openapi.checks import positive_data_acceptance

from greenr.api.app import create_app
from greenr.settings import Settings, load_settings

pytest_plugins = ["model_server_fixtures"]
pytestmark = [pytest.mark.integration, pytest.mark.slow]

EXAMPLES_PER_OPERATION = 25


# The schema document only: an app built on defaults, never started (nothing connects).
schema = schemathesis.openapi.from_dict(create_app(Settings.model_construct()).openapi())


@pytest.fixture
def api(monkeypatch: pytest.MonkeyPatch, model_server: ModelServer) -> Iterator[tuple[str, dict[str, str]]]:
    """The API served by uvicorn as `python -m greenr.api` serves it, on a SQLite catalog; its URL
    and the headers of an admin key."""
    monkeypatch.setenv("GREENR_MODEL_SERVER_URL", f"http://127.0.0.1:{model_server.port}")
    key = make_key(load_settings().catalog_url, rate_per_second=100_000, burst=100_000)
    with live_api(load_settings()) as port:
        yield f"http://127.0.0.1:{port}", bearer(key)


@schema.parametrize()
@settings(
    max_examples=EXAMPLES_PER_OPERATION,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
def test_the_api_answers_every_generated_request_within_its_schema(
    case: schemathesis.Case[Any], api: tuple[str, dict[str, str]]
) -> None:
    # Any bytes are a schema-valid file, but only images are accepted: refusing a schema-valid
    # upload (422 `not_an_image`) is the contract, which JSON Schema cannot state.
    excluded: list[CheckFunction] = [positive_data_acceptance] if case.operation.path == "/predict" else []
    base_url, headers = api
    # Schemathesis knows the bearer scheme: a positive case carries a well-formed but random key
    # (swapped for ours, so the case reaches the route); negative cases drop or mangle the header
    # and must get 401 (the checks want them refused).
    sent = case.headers.get("Authorization") if case.headers else None
    if isinstance(sent, str) and sent.startswith("Bearer ") and case.headers is not None:
        case.headers["Authorization"] = headers["Authorization"]
    response = case.call_and_validate(base_url=base_url, excluded_checks=excluded)
    if response.request.headers.get("Authorization") == headers["Authorization"]:
        assert response.status_code not in (401, 403, 429), response.text
