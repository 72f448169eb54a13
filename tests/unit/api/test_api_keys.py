"""API keys: token shape, hashing, the catalog table, key files and the CLI (greenr/api/keys)."""

from __future__ import annotations

import stat
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from greenr.api.access import Role
from greenr.api.keys.__main__ import main as keys_cli
from greenr.api.keys.key_files import ensure_key_file, read_key_file
from greenr.api.keys.store import KeyStore
from greenr.api.keys.tokens import hash_secret, new_token, parse_token, secret_matches
from greenr.api.predictions_store import PredictionsStore
from greenr.catalog import schema
from greenr.catalog.database import create_catalog_engine
from greenr.settings import get_settings

T0 = datetime(2026, 11, 29, 9, 0, tzinfo=UTC)


@pytest.fixture
def catalog(tmp_path: Path) -> PredictionsStore:
    return PredictionsStore(create_catalog_engine(f"sqlite:///{tmp_path / 'catalog.db'}"))


@pytest.fixture
def keys(catalog: PredictionsStore) -> KeyStore:
    return KeyStore(catalog.session)


def test_a_token_round_trips_and_is_random() -> None:
    token = new_token()
    text = str(token)
    assert text.startswith(f"greenr_{token.key_id}_")
    assert len(token.secret) == 43  # 32 random bytes
    assert parse_token(text) == token
    assert parse_token(f"  {text}\n") == token
    assert new_token() != token


@pytest.mark.parametrize(
    "text",
    [
        "",
        "greenr",
        "Bearer x",
        "greenr_0123456789ab",
        "other_0123456789ab_" + "a" * 43,
        "greenr_0123456789AB_" + "a" * 43,
        "greenr_0123456789ab_" + "a" * 42,
        "greenr_0123456789ab_" + "a" * 43 + "!",
    ],
)
def test_malformed_tokens_are_not_parsed(text: str) -> None:
    assert parse_token(text) is None


def test_secret_hashing() -> None:
    stored = hash_secret("s3cret")
    assert len(stored) == 64
    assert stored != "s3cret"
    assert secret_matches("s3cret", stored)
    assert not secret_matches("s3cret!", stored)
    assert not secret_matches("s3cret", None)


def test_only_the_hash_is_stored(keys: KeyStore, catalog: PredictionsStore) -> None:
    record, token = keys.create("web-app", Role.PREDICT, now=T0)
    with Session(catalog.engine) as session:
        (row,) = session.scalars(select(schema.ApiKey)).all()
    assert row.secret_sha256 == hash_secret(token.secret)
    assert token.secret not in repr(row.__dict__)
    assert (record.id, record.name, record.role, record.created_at) == (
        token.key_id,
        "web-app",
        Role.PREDICT,
        T0,
    )


def test_authenticate_and_revoke(keys: KeyStore) -> None:
    record, token = keys.create("web-app", Role.PREDICT, rate_per_second=5.0, burst=7)
    found = keys.authenticate(str(token))
    assert found is not None
    assert (found.principal.key_id, found.principal.role, found.rate_per_second, found.burst) == (
        record.id,
        Role.PREDICT,
        5.0,
        7,
    )
    wrong_secret = f"greenr_{token.key_id}_{new_token().secret}"
    assert keys.authenticate(wrong_secret) is None
    assert keys.authenticate(str(new_token())) is None  # unknown id
    assert keys.authenticate("not a key") is None
    revoked = keys.revoke(record.id, now=T0)
    assert revoked is not None
    assert revoked.revoked_at == T0
    assert not revoked.active
    assert keys.authenticate(str(token)) is None
    assert keys.revoke(record.id, now=T0 + timedelta(days=1)) == revoked  # idempotent
    assert keys.revoke("000000000000") is None


def test_last_used_is_written_at_most_once_a_minute(keys: KeyStore) -> None:
    record, token = keys.create("web-app", Role.PREDICT)
    keys.authenticate(str(token), now=T0)
    keys.authenticate(str(token), now=T0 + timedelta(seconds=30))
    stored = keys.get(record.id)
    assert stored is not None
    assert stored.last_used_at == T0
    keys.authenticate(str(token), now=T0 + timedelta(minutes=2))
    stored = keys.get(record.id)
    assert stored is not None
    assert stored.last_used_at == T0 + timedelta(minutes=2)


def test_a_key_file_is_private_and_ensuring_it_is_idempotent(keys: KeyStore, tmp_path: Path) -> None:
    path = tmp_path / "keys" / "web-app.key"
    first = ensure_key_file(keys, path, "web-app", Role.PREDICT)
    assert first.created
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE(path.parent.stat().st_mode) == 0o700
    token = read_key_file(path)
    assert token is not None
    assert keys.authenticate(token) is not None
    again = ensure_key_file(keys, path, "web-app", Role.PREDICT)
    assert (again.created, again.key_id, read_key_file(path)) == (False, first.key_id, token)
    assert [record.id for record in keys.list()] == [first.key_id]
    # A revoked key (or one of another role) is replaced, and the old one stays revoked.
    keys.revoke(first.key_id)
    replaced = ensure_key_file(keys, path, "web-app", Role.PREDICT)
    assert replaced.created
    assert replaced.key_id != first.key_id
    admin = ensure_key_file(keys, path, "web-app", Role.ADMIN)
    assert admin.created
    assert [record.active for record in keys.list()] == [False, False, True]


def test_the_cli(capsys: pytest.CaptureFixture[str]) -> None:
    get_settings.cache_clear()
    assert keys_cli(["create", "--name", "ci", "--role", "predict"]) == 0
    created = capsys.readouterr().out
    token = created.split("key (shown once, keep it secret): ")[1].strip()
    parsed = parse_token(token)
    assert parsed is not None
    assert keys_cli(["list"]) == 0
    listed = capsys.readouterr().out
    assert parsed.key_id in listed
    assert "predict" in listed
    assert "active" in listed
    assert parsed.secret not in listed  # shown once only
    assert keys_cli(["revoke", parsed.key_id]) == 0
    assert "revoked" in capsys.readouterr().out
    assert keys_cli(["revoke", "000000000000"]) == 3
    assert "no key has the id" in capsys.readouterr().err
    assert keys_cli(["create", "--name", "x", "--role", "predict", "--rate", "5"]) == 1
    assert "--rate and --burst together" in capsys.readouterr().err


def test_setup_local_is_idempotent(capsys: pytest.CaptureFixture[str]) -> None:
    get_settings.cache_clear()
    assert keys_cli(["setup-local"]) == 0
    first = capsys.readouterr().out
    assert first.count("(created") == 3
    assert "curl -H" in first
    assert keys_cli(["setup-local"]) == 0
    assert capsys.readouterr().out.count("(kept") == 3
    keys_dir = get_settings().api_keys_path
    names = sorted(path.name for path in keys_dir.iterdir())
    assert names == ["admin.key", "web-app-monitoring.key", "web-app.key"]
    assert keys_cli(["list"]) == 0
    assert capsys.readouterr().out.count("active") == 3
