"""run.py pushes every pipeline run to a real Pushgateway, failures included, and a Pushgateway
that is down never changes the run's outcome."""

from __future__ import annotations

import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from cli_runner import isolated_env, run_python
from http_kit import free_port
from monitoring_tools import tool
from prometheus_client.parser import text_string_to_metric_families

from greenr.observability import pushed_metrics as names

pytestmark = [pytest.mark.integration, pytest.mark.slow]


@pytest.fixture
def pushgateway(tmp_path: Path) -> Iterator[str]:
    port = free_port()
    process = subprocess.Popen(
        [str(tool("pushgateway")), f"--web.listen-address=127.0.0.1:{port}"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                if httpx.get(f"{url}/-/ready", timeout=2).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            assert time.monotonic() < deadline, "the Pushgateway did not start"
            time.sleep(0.2)
        yield url
    finally:
        process.terminate()
        process.wait(timeout=30)


def pushed(url: str, pipeline: str) -> dict[str, float]:
    text = httpx.get(f"{url}/metrics", timeout=10).text
    return {
        sample.name: sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
        if sample.name.startswith("greenr_pipeline_") and sample.labels.get("pipeline") == pipeline
    }


def test_a_failed_run_is_pushed_and_its_error_stays_the_last_line(tmp_path: Path, pushgateway: str) -> None:
    # No champion in a fresh home: the deployment pipeline fails at its first step.
    before = time.time()
    env = isolated_env(tmp_path / "home", {"GREENR_PUSHGATEWAY_URL": pushgateway})
    result = run_python(["run.py", "--pipeline", "deployment"], env)
    assert result.returncode == 1, result.stderr[-3000:]
    assert result.stderr.strip().splitlines()[-1].startswith("error: find_champion_step:")
    metrics = pushed(pushgateway, "deployment")
    assert metrics[names.LAST_RUN_SUCCESS] == 0
    assert metrics[names.LAST_FAILURE_TIMESTAMP] >= before
    assert metrics[names.LAST_RUN_DURATION] > 0
    assert names.LAST_SUCCESS_TIMESTAMP not in metrics


def test_a_pushgateway_that_is_down_is_a_warning(tmp_path: Path) -> None:
    dead = f"http://127.0.0.1:{free_port()}"
    env = isolated_env(tmp_path / "home", {"GREENR_PUSHGATEWAY_URL": dead})
    result = run_python(["run.py", "--pipeline", "deployment"], env)
    assert result.returncode == 1  # the pipeline's own failure, nothing else
    # Logged as a warning (ZenML's console handler prints it on stdout).
    assert f"could not push the deployment pipeline's metrics to {dead}" in result.stdout + result.stderr
    assert result.stderr.strip().splitlines()[-1].startswith("error: find_champion_step:")
