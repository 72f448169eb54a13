"""ZenML Model versions are found by the MLflow version they became, exactly, and staged with it."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from cli_runner import isolated_env, run_python

pytestmark = [pytest.mark.integration, pytest.mark.slow]


def test_lookup_is_exact_and_production_follows_the_champion(tmp_path: Path) -> None:
    result = run_python(["tests/zenml_model_scenario.py", "greenr-test"], isolated_env(tmp_path, {}))
    assert result.returncode == 0, result.stderr[-3000:]
    outcome = json.loads(result.stdout.strip().splitlines()[-1])
    assert outcome["before_model_exists"] is True  # no model yet: None, not an error
    # The tag filter matches substrings: version 1 must not find 10 or 11.
    assert outcome["found"] == {"1": "zenml-1", "10": "zenml-10", "11": "zenml-11", "12": None}
    assert outcome["metadata_1"]["mlflow_version"] == "1"
    assert outcome["metadata_1"]["mlflow_run_id"] == "run-1"
    assert (outcome["mark_1"], outcome["mark_10"], outcome["mark_missing"]) == (True, True, False)
    assert outcome["stages"] == {"zenml-1": "archived", "zenml-10": "production", "not-registered": None}
