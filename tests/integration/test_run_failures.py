"""A failed ZenML run is reported from that very run, whatever the pipeline call raised.

Each case runs a real one-step pipeline whose step raises, in a subprocess
(tests/failing_pipeline.py).
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from cli_runner import isolated_env, run_python

from greenr.settings import REPO_ROOT

pytestmark = [pytest.mark.integration, pytest.mark.slow]


def run_failing(home: Path, mode: str, words: str, **env: str) -> dict[str, object]:
    # The repository first (this checkout's greenr), then tests/ (the pipeline's own modules).
    path = os.pathsep.join((str(REPO_ROOT), str(REPO_ROOT / "tests")))
    result = run_python(
        ["-m", "failing_pipeline", mode, words], isolated_env(home, {"PYTHONPATH": path, **env})
    )
    assert result.returncode == 0, result.stderr[-3000:]
    outcome: dict[str, object] = json.loads(result.stdout.strip().splitlines()[-1])
    return outcome


def test_the_step_message_comes_from_the_run_of_this_call(tmp_path: Path) -> None:
    # fail_fast: ZenML re-raises the step's ValueError itself, with no "failure in step" text to
    # match (the default mode raises a generic RuntimeError: run.py's integration tests cover it).
    home = tmp_path / "home"
    first = run_failing(home, "fail_fast", "the first run's own words")
    second = run_failing(home, "fail_fast", "the second run's own words")
    for outcome, words in ((first, "the first run's own words"), (second, "the second run's own words")):
        assert outcome["raised"] == "PipelineFailed", outcome
        assert outcome["message"] == f"explode: {words}"
        looked_up = outcome["looked_up"]
        assert isinstance(looked_up, list)
        assert len(looked_up) == 1
        runs = outcome["runs"]
        assert isinstance(runs, list)
        assert runs[0] == looked_up[0]  # the run this call started
    assert first["looked_up"] != second["looked_up"]


def test_the_pipelines_log_file_is_json_lines_zenml_s_own_included(tmp_path: Path) -> None:
    # The console keeps ZenML's human-readable output; the log file holds every record as JSON.
    logs = tmp_path / "logs"
    run_failing(tmp_path / "home", "fail_fast", "words for the log", GREENR_LOG_DIR=str(logs))
    lines = (logs / "pipelines.log").read_text().splitlines()
    entries = [json.loads(line) for line in lines]  # fails on any plain-text line
    for entry in entries:
        assert {"time", "level", "service", "logger", "message"} <= set(entry), entry
        assert entry["service"] == "pipelines"
    loggers = {str(entry["logger"]) for entry in entries}
    assert any(name.startswith("zenml") for name in loggers), loggers
    assert any(
        "words for the log" in str(entry.get("message")) + str(entry.get("exception")) for entry in entries
    )
