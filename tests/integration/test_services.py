"""The service fixtures talk to the real PostgreSQL and SeaweedFS servers (scripts/services.sh)."""

from __future__ import annotations

from typing import TYPE_CHECKING
from urllib.parse import urlparse

import pytest
from botocore.exceptions import ClientError
from sqlalchemy import create_engine, text

if TYPE_CHECKING:
    from conftest import S3Service

pytestmark = pytest.mark.integration


def test_postgres_url_is_a_fresh_database_on_a_real_server(postgres_url: str) -> None:
    engine = create_engine(postgres_url)
    try:
        with engine.connect() as connection:
            version = connection.execute(text("SELECT version()")).scalar_one()
            database = connection.execute(text("SELECT current_database()")).scalar_one()
            tables = connection.execute(
                text("SELECT count(*) FROM information_schema.tables WHERE table_schema = 'public'")
            ).scalar_one()
    finally:
        engine.dispose()
    assert "PostgreSQL" in version
    assert database.startswith("greenr_test_")
    assert tables == 0


def test_each_test_gets_its_own_database(postgres_url: str) -> None:
    engine = create_engine(postgres_url)
    try:
        with engine.begin() as connection:
            connection.execute(text("CREATE TABLE marker (id integer)"))
            connection.execute(text("INSERT INTO marker VALUES (1)"))
            assert connection.execute(text("SELECT count(*) FROM marker")).scalar_one() == 1
    finally:
        engine.dispose()


def test_s3_round_trip_under_the_test_prefix(s3_service: S3Service, s3_prefix: str) -> None:
    parsed = urlparse(s3_prefix)
    assert parsed.scheme == "s3"
    assert parsed.netloc == s3_service.bucket
    key_prefix = parsed.path.lstrip("/")
    assert key_prefix.startswith("test-")
    client = s3_service.client()
    keys = [f"{key_prefix}/a.txt", f"{key_prefix}/sub/b.bin"]

    client.put_object(Bucket=s3_service.bucket, Key=keys[0], Body=b"dandelion")
    client.put_object(Bucket=s3_service.bucket, Key=keys[1], Body=bytes(range(256)))

    assert client.get_object(Bucket=s3_service.bucket, Key=keys[0])["Body"].read() == b"dandelion"
    assert client.get_object(Bucket=s3_service.bucket, Key=keys[1])["Body"].read() == bytes(range(256))
    listed = client.list_objects_v2(Bucket=s3_service.bucket, Prefix=f"{key_prefix}/")
    assert sorted(item["Key"] for item in listed.get("Contents", [])) == keys

    client.delete_object(Bucket=s3_service.bucket, Key=keys[0])
    listed = client.list_objects_v2(Bucket=s3_service.bucket, Prefix=f"{key_prefix}/")
    assert [item["Key"] for item in listed.get("Contents", [])] == [keys[1]]
    with pytest.raises(ClientError) as missing:
        client.get_object(Bucket=s3_service.bucket, Key=keys[0])
    assert missing.value.response["Error"]["Code"] in {"NoSuchKey", "404"}


def test_s3_refuses_a_wrong_secret_key(s3_service: S3Service, s3_prefix: str) -> None:
    key = f"{urlparse(s3_prefix).path.lstrip('/')}/forbidden.txt"
    intruder = s3_service.client(secret_access_key="not-the-secret-" + "x" * 25)

    with pytest.raises(ClientError) as listing:
        intruder.list_objects_v2(Bucket=s3_service.bucket)
    assert listing.value.response["Error"]["Code"] in {"SignatureDoesNotMatch", "AccessDenied", "403"}

    with pytest.raises(ClientError) as writing:
        intruder.put_object(Bucket=s3_service.bucket, Key=key, Body=b"grass")
    assert writing.value.response["Error"]["Code"] in {"SignatureDoesNotMatch", "AccessDenied", "403"}

    # Nothing was written.
    listed = s3_service.client().list_objects_v2(Bucket=s3_service.bucket, Prefix=key)
    assert listed.get("KeyCount", 0) == 0
