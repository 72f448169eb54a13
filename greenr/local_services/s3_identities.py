"""The SeaweedFS identities file: one S3 identity with random keys, made once, read back by the scripts."""

from __future__ import annotations

import json
import os
import secrets
import string
from dataclasses import dataclass
from pathlib import Path

IDENTITY_NAME = "greenr"
# What the local services need: create buckets, read, list, tag and write objects.
ACTIONS = ("Admin", "Read", "List", "Tagging", "Write")
_ACCESS_KEY_ALPHABET = string.ascii_uppercase + string.digits


@dataclass(frozen=True)
class S3Keys:
    access_key: str
    secret_key: str


def new_keys() -> S3Keys:
    """Random keys shaped like AWS ones (20-character access key id, URL-safe secret)."""
    access = "GR" + "".join(secrets.choice(_ACCESS_KEY_ALPHABET) for _ in range(18))
    return S3Keys(access_key=access, secret_key=secrets.token_urlsafe(30))


def write_identities(path: Path, keys: S3Keys) -> None:
    """Write SeaweedFS's `-s3.config` file for `keys`, readable by the owner only, atomically."""
    identity = {
        "name": IDENTITY_NAME,
        "credentials": [{"accessKey": keys.access_key, "secretKey": keys.secret_key}],
        "actions": list(ACTIONS),
    }
    partial = path.with_name(path.name + ".tmp")
    # Created 0600 from the start: the secret is never readable by others, not even for a moment.
    descriptor = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, "w", encoding="utf-8") as out:
        json.dump({"identities": [identity]}, out, indent=2)
    partial.replace(path)


def ensure_identities(path: Path) -> bool:
    """Make the identities file unless it exists (keys never change under a running store); True if made."""
    if path.exists():
        return False
    write_identities(path, new_keys())
    return True


def read_keys(path: Path) -> S3Keys:
    """The first identity's first credential of an identities file."""
    try:
        document = json.loads(path.read_text(encoding="utf-8"))
        credentials = document["identities"][0]["credentials"][0]
        return S3Keys(access_key=str(credentials["accessKey"]), secret_key=str(credentials["secretKey"]))
    except (OSError, ValueError, KeyError, IndexError, TypeError) as error:
        raise ValueError(
            f"cannot read S3 keys from {path} ({error}): delete it and run scripts/services.sh start again"
        ) from error
