"""The serving benchmark calls the API with its own key, made once, whose rate does not cap it."""

from __future__ import annotations

import httpx

from benchmarks.serving_benchmark import api_client, benchmark_key
from greenr.api.access import Role
from greenr.api.keys.store import KeyStore
from greenr.api.predictions_store import PredictionsStore
from greenr.catalog.database import create_catalog_engine
from greenr.settings import load_settings


def test_the_benchmark_key_is_made_once_with_its_own_rate() -> None:
    settings = load_settings()
    token = benchmark_key(settings)
    assert benchmark_key(settings) == token  # kept: re-running does not pile up keys
    catalog = PredictionsStore(create_catalog_engine(settings.catalog_url))
    try:
        keys = KeyStore(catalog.session)
        found = keys.authenticate(token)
        assert found is not None
        assert (found.principal.name, found.principal.role) == ("serving-benchmark", Role.PREDICT)
        assert (found.rate_per_second, found.burst) == (10_000.0, 10_000)
        assert len(keys.list()) == 1
    finally:
        catalog.close()
    with api_client(httpx.Timeout(1.0), token) as client:
        assert client.headers["Authorization"] == f"Bearer {token}"
    with api_client(httpx.Timeout(1.0), None) as client:
        assert "Authorization" not in client.headers
