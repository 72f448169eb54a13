"""API key tokens: `greenr_<id>_<secret>`, made, parsed and checked without a database.

The id (12 hex characters) finds the key's row; the secret (32 random bytes, URL-safe base64)
proves it. Only the SHA-256 of the secret is stored. A fast hash is right here, unlike for
passwords: bcrypt/argon2 make guessing a *low-entropy* password slow, but a 256-bit random
secret cannot be guessed at any speed, and a slow hash would add ~100 ms to every request.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from dataclasses import dataclass

PREFIX = "greenr"
_ID_BYTES = 6
_SECRET_BYTES = 32
# Secrets are URL-safe base64 (may contain "_" and "-"); ids are lowercase hex.
_TOKEN = re.compile(rf"{PREFIX}_(?P<id>[0-9a-f]{{{2 * _ID_BYTES}}})_(?P<secret>[A-Za-z0-9_-]{{43}})")
# Compared against when the id is unknown, so an unknown id costs the same time as a wrong secret.
_DUMMY_HASH = "0" * 64


@dataclass(frozen=True)
class KeyToken:
    """A parsed key: the public id and the secret part."""

    key_id: str
    secret: str

    def __str__(self) -> str:
        return f"{PREFIX}_{self.key_id}_{self.secret}"


def new_token() -> KeyToken:
    """A fresh random key."""
    return KeyToken(secrets.token_hex(_ID_BYTES), secrets.token_urlsafe(_SECRET_BYTES))


def parse_token(text: str) -> KeyToken | None:
    """The key in `text`, or None when it does not have the shape of a greenr key."""
    match = _TOKEN.fullmatch(text.strip())
    return None if match is None else KeyToken(match["id"], match["secret"])


def hash_secret(secret: str) -> str:
    """The stored form of a secret (hex SHA-256)."""
    return hashlib.sha256(secret.encode("ascii")).hexdigest()


def secret_matches(secret: str, stored_hash: str | None) -> bool:
    """Constant-time check of a secret against the stored hash (None: unknown key, always False)."""
    expected = stored_hash if stored_hash is not None else _DUMMY_HASH
    return hmac.compare_digest(hash_secret(secret), expected) and stored_hash is not None
