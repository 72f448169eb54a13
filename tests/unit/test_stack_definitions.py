"""Stack files: every variable a stack lacks is named in one error, with where local keys are."""

from __future__ import annotations

import pytest

from greenr.settings import Settings
from stacks.definitions import StackDefinitionError, load_stack, stack_values


def test_every_missing_variable_is_named_at_once() -> None:
    values = stack_values(Settings())
    with pytest.raises(StackDefinitionError) as error:
        load_stack("cluster", values)
    assert str(error.value) == (
        "stack 'cluster' needs AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY and GREENR_CLUSTER_MLFLOW_PASSWORD: "
        "set them and register again"
    )


def test_local_s3_says_where_the_local_keys_are_and_loads_once_they_are_set(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "key")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "secret")
    with pytest.raises(StackDefinitionError) as error:
        load_stack("local-s3", stack_values(Settings()))
    assert str(error.value).startswith(
        "stack 'local-s3' needs AWS_ENDPOINT_URL_S3: set it and register again"
    )
    assert "source .greenr/services/client.env" in str(error.value)
    monkeypatch.setenv("AWS_ENDPOINT_URL_S3", "http://127.0.0.1:8333")
    spec = load_stack("local-s3", stack_values(Settings()))
    (store,) = [c for c in spec.components if c.type == "artifact_store"]
    assert store.config["client_kwargs"]["endpoint_url"] == "http://127.0.0.1:8333"
    assert spec.secrets["greenr-s3"] == {"aws_access_key_id": "key", "aws_secret_access_key": "secret"}


def test_the_local_stack_needs_nothing() -> None:
    assert load_stack("local", stack_values(Settings())).name == "local"
