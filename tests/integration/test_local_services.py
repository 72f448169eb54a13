"""`python -m greenr.local_services ensure-bucket` against the real SeaweedFS of scripts/services.sh."""

from __future__ import annotations

import json
import subprocess
import sys
import uuid
from pathlib import Path

import pytest
from conftest import S3Service

from greenr.settings import REPO_ROOT

pytestmark = pytest.mark.integration


def identities_file(tmp_path: Path, s3_service: S3Service) -> Path:
    path = tmp_path / "identities.json"
    credentials = {"accessKey": s3_service.access_key_id, "secretKey": s3_service.secret_access_key}
    path.write_text(json.dumps({"identities": [{"name": "t", "credentials": [credentials]}]}))
    return path


def ensure_bucket(*args: str) -> subprocess.CompletedProcess[str]:
    command = [sys.executable, "-m", "greenr.local_services", "ensure-bucket", *args]
    return subprocess.run(command, cwd=REPO_ROOT, capture_output=True, text=True, timeout=120, check=False)


def test_ensure_bucket_creates_a_missing_bucket_once(tmp_path: Path, s3_service: S3Service) -> None:
    bucket = f"test-{uuid.uuid4().hex[:12]}"
    keys = str(identities_file(tmp_path, s3_service))
    client = s3_service.client()
    try:
        first = ensure_bucket(s3_service.endpoint_url, bucket, keys, "--timeout", "20")
        assert first.returncode == 0, first.stderr
        assert f"created bucket {bucket}" in first.stdout
        client.head_bucket(Bucket=bucket)
        second = ensure_bucket(s3_service.endpoint_url, bucket, keys, "--timeout", "20")
        assert second.returncode == 0, second.stderr
        assert second.stdout == ""
    finally:
        client.delete_bucket(Bucket=bucket)


def test_ensure_bucket_with_wrong_keys_fails_with_one_line(tmp_path: Path, s3_service: S3Service) -> None:
    path = tmp_path / "identities.json"
    wrong = {"accessKey": "GRWRONG", "secretKey": "x"}
    path.write_text(json.dumps({"identities": [{"credentials": [wrong]}]}))
    result = ensure_bucket(s3_service.endpoint_url, "greenr", str(path), "--timeout", "2")
    assert result.returncode == 1
    assert result.stderr.startswith("services: error: bucket greenr: not ready after 2 s (last error:")
    assert len(result.stderr.strip().splitlines()) == 1
