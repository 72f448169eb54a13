"""API keys for tests that call the prediction API: made in the test's own catalog database.

`TRUSTED_BASE_URL` is the base URL for FastAPI's TestClient: its default Host `testserver` is
not a trusted host of the API (settings.trusted_hosts), so it would get 400 `untrusted_host`.
"""

from __future__ import annotations

from greenr.api.access import Role
from greenr.api.keys.store import KeyStore
from greenr.api.predictions_store import PredictionsStore
from greenr.catalog.database import create_catalog_engine

TRUSTED_BASE_URL = "http://127.0.0.1"


def make_key(
    catalog_url: str,
    role: Role = Role.ADMIN,
    name: str = "test",
    *,
    rate_per_second: float | None = None,
    burst: int | None = None,
) -> str:
    """A new key in the catalog at `catalog_url` (migrated if needed); returns the token."""
    catalog = PredictionsStore(create_catalog_engine(catalog_url))
    try:
        _record, token = KeyStore(catalog.session).create(
            name, role, rate_per_second=rate_per_second, burst=burst
        )
    finally:
        catalog.close()
    return str(token)


def bearer(token: str) -> dict[str, str]:
    """The header that carries a key."""
    return {"Authorization": f"Bearer {token}"}
