"""Keys kept in files on this machine (the quickstart's web-app and admin keys), owner-readable only."""

from __future__ import annotations

import os
import uuid
from dataclasses import dataclass
from pathlib import Path

from greenr.api.access import Role
from greenr.api.keys.store import KeyStore
from greenr.api.keys.tokens import parse_token


@dataclass(frozen=True)
class EnsuredKey:
    """The key a file holds after `ensure_key_file`, and whether it was made now."""

    path: Path
    key_id: str
    created: bool


def write_key_file(path: Path, token: str) -> None:
    """Write the token to `path` with mode 0600 (its folder 0700), atomically."""
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    os.chmod(path.parent, 0o700)
    tmp = path.with_name(f".{path.name}.{uuid.uuid4().hex}")
    # Created 0600 from the start: a chmod after writing would leave a moment of wider access.
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        with os.fdopen(fd, "w", encoding="ascii") as file:
            file.write(token + "\n")
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def read_key_file(path: Path) -> str | None:
    """The token in `path`, or None when the file is missing or empty."""
    try:
        text = path.read_text(encoding="ascii").strip()
    except FileNotFoundError:
        return None
    return text or None


def ensure_key_file(
    store: KeyStore,
    path: Path,
    name: str,
    role: Role,
    *,
    rate_per_second: float | None = None,
    burst: int | None = None,
) -> EnsuredKey:
    """Idempotent: keep the key in `path` when it is still valid as asked, else make a new one.

    A file whose key was revoked, deleted from the catalog (a new database), or has another role
    or rate is replaced, and its old key revoked, so re-running never piles up live keys.
    """
    current = read_key_file(path)
    if current is not None:
        found = store.authenticate(current)
        if found is not None and (found.principal.role, found.rate_per_second, found.burst) == (
            role,
            rate_per_second,
            burst,
        ):
            return EnsuredKey(path, found.principal.key_id, created=False)
        old = parse_token(current)
        if old is not None:
            store.revoke(old.key_id)
    record, token = store.create(name, role, rate_per_second=rate_per_second, burst=burst)
    write_key_file(path, str(token))
    return EnsuredKey(path, record.id, created=True)
