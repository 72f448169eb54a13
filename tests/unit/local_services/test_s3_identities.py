"""The SeaweedFS identities file: made once, private, read back."""

from __future__ import annotations

import json
import stat
from pathlib import Path

import pytest

from greenr.local_services.s3_identities import S3Keys, ensure_identities, new_keys, read_keys


def test_ensure_identities_makes_a_private_file_once(tmp_path: Path) -> None:
    path = tmp_path / "identities.json"
    assert ensure_identities(path) is True
    first = read_keys(path)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert ensure_identities(path) is False
    assert read_keys(path) == first  # keys never change under a running store
    assert not list(tmp_path.glob("*.tmp"))


def test_the_file_is_what_seaweedfs_reads(tmp_path: Path) -> None:
    path = tmp_path / "identities.json"
    ensure_identities(path)
    identity = json.loads(path.read_text())["identities"][0]
    keys = read_keys(path)
    assert identity["credentials"] == [{"accessKey": keys.access_key, "secretKey": keys.secret_key}]
    assert {"Write", "Admin"} <= set(identity["actions"])


def test_new_keys_are_random_and_shaped_like_aws_keys() -> None:
    keys = {new_keys() for _ in range(20)}
    assert len(keys) == 20
    for key in keys:
        assert isinstance(key, S3Keys)
        assert len(key.access_key) == 20
        assert key.access_key.startswith("GR")
        assert key.access_key.isalnum()
        assert len(key.secret_key) >= 40


@pytest.mark.parametrize("content", ["", "{}", '{"identities": []}', "not json"])
def test_a_broken_file_is_named_with_what_to_do(tmp_path: Path, content: str) -> None:
    path = tmp_path / "identities.json"
    path.write_text(content)
    with pytest.raises(ValueError, match=r"identities\.json.*delete it and run scripts/services\.sh start"):
        read_keys(path)
