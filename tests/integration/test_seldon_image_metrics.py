"""The model server as its image runs it exports what the alert rules and dashboards read.

`python -m serving.seldon_launcher serving.seldon_entry.GreenrSeldonModel` (serving/Dockerfile's
command: Seldon's launcher) from .venv-serving on the tiny test model, in a network namespace of its own
(tests/seldon_image_probe.py: Seldon's launcher binds 0.0.0.0). No image is built.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest
from model_server_kit import SERVING_PYTHON, metric_total, write_artifact
from prometheus_client.parser import text_string_to_metric_families
from promql_names import names_used_by_dashboards, names_used_by_rules
from seldon_image_probe import IMAGE_COMMAND
from tiny_server_kit import TINY_SIZE, flat_png
from trained_model_kit import tiny_onnx_model

from greenr.settings import REPO_ROOT

pytestmark = pytest.mark.slow

PROBE = REPO_ROOT / "tests" / "seldon_image_probe.py"
# Names other exporters provide: the API, the Pushgateway (pipelines, drift), Prometheus itself.
LINE_KEYS = {"time", "level", "service", "logger", "message", "request_id"}
NOT_THE_MODEL_SERVER = re.compile(r"greenr_api_|greenr_pipeline_|greenr_drift_|push_|up$|scrape_")


def exported_names(text: str) -> set[str]:
    names = set()
    for family in text_string_to_metric_families(text):
        names.add(family.name)
        names.update(sample.name for sample in family.samples)
    return names


@pytest.fixture(scope="module")
def probed(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """What the server answered (tests/seldon_image_probe.py's files)."""
    assert SERVING_PYTHON.exists(), "run bash scripts/serving_setup.sh first"
    root = tmp_path_factory.mktemp("seldon-image")
    artifact = write_artifact(
        root / "artifact", tiny_onnx_model(TINY_SIZE, embedding=True), input_size=TINY_SIZE
    )
    photo = root / "flat.png"
    photo.write_bytes(flat_png((200, 180, 40)))
    out = root / "out"
    result = subprocess.run(
        [
            "unshare",
            "--user",
            "--map-root-user",
            "--net",
            sys.executable,
            str(PROBE),
            str(artifact),
            str(out),
            str(photo),
        ],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
        cwd=REPO_ROOT,
    )
    log = (out / "server.log").read_text()[-4000:] if (out / "server.log").exists() else ""
    assert result.returncode == 0, result.stdout + result.stderr + log
    return out


def test_the_dockerfile_runs_what_the_probe_runs() -> None:
    lines = (REPO_ROOT / "serving" / "Dockerfile").read_text().splitlines()
    (command,) = [json.loads(line.removeprefix("CMD ")) for line in lines if line.startswith("CMD ")]
    assert command == list(IMAGE_COMMAND)


def test_the_image_s_metrics_cover_every_model_server_name_the_rules_and_dashboards_use(probed: Path) -> None:
    answers = json.loads((probed / "answers.json").read_text())
    statuses = {key: answers[key] for key in ("predict", "refused", "rest_metrics", "seldon")}
    assert statuses == {"predict": 200, "refused": 400, "rest_metrics": 200, "seldon": 200}
    text = (probed / "rest_metrics.txt").read_text()
    exported = exported_names(text)
    used = {
        name
        for name in names_used_by_rules() | names_used_by_dashboards()
        if ":" not in name and not NOT_THE_MODEL_SERVER.match(name)
    }
    assert any(name.startswith("greenr_model_server_") for name in used)
    missing = sorted(used - exported)
    assert not missing, f"the image's model server does not export {missing}"
    # The requests the probe sent, by route and status; the model it serves.
    assert (
        metric_total(text, "greenr_model_server_requests_total", route="/api/v1.0/predictions", status="200")
        == 1
    )
    assert (
        metric_total(text, "greenr_model_server_requests_total", route="/api/v1.0/predictions", status="400")
        == 1
    )
    assert (
        'greenr_model_server_model_info{alias="champion",model_name="greenr-classifier",version="3"} 1.0'
        in text
    )
    assert "greenr_model_server_fallback 0.0" in text
    assert "greenr_model_server_model_test_accuracy 0.95" in text
    # Seldon's own metrics port still serves its custom metrics, and only those.
    assert "greenr_model_server_requests_total" not in (probed / "seldon_metrics.txt").read_text()


def test_every_line_the_image_s_processes_write_is_json(probed: Path) -> None:
    # From the launcher's first line on (Seldon's own start-up lines, gunicorn's for the REST and
    # the metrics servers, the gRPC server's), in the shape every service logs in.
    lines = (probed / "server.log").read_text().splitlines()
    entries = []
    for number, line in enumerate(lines, 1):
        try:
            entries.append(json.loads(line))
        except ValueError:
            pytest.fail(f"line {number} of the server's output is not JSON: {line!r}")
    assert all(set(entry) >= LINE_KEYS and entry["service"] == "model-server" for entry in entries), entries
    loggers = {entry["logger"] for entry in entries}
    # Seldon's launcher and gunicorn (the REST server's master and worker, the metrics server) wrote
    # some of them: the set-up ran before any of their lines.
    assert {"seldon_core.microservice", "gunicorn.error"} <= loggers, loggers
    assert any(entry["message"].startswith("Starting microservice.py:main") for entry in entries)


def test_the_image_s_access_line_is_json_with_the_served_version(probed: Path) -> None:
    entries = [json.loads(line) for line in (probed / "server.log").read_text().splitlines()]
    (access,) = [
        entry for entry in entries if entry.get("route") == "/api/v1.0/predictions" and entry["status"] == 200
    ]
    assert access["service"] == "model-server"
    assert access["status"] == 200
    assert access["model_version"] == "3"
    assert access["request_id"]


def test_the_image_s_servers_all_stop_soon_after_sigterm_to_the_first_process(probed: Path) -> None:
    # podman stop, docker stop and the kubelet signal the container's first process only, then
    # kill everything after the grace period (10 s for podman and docker, 30 s by default in
    # Kubernetes). Seldon's own launcher waited for its gRPC process forever.
    answers = json.loads((probed / "answers.json").read_text())
    assert answers["stop_seconds"] is not None, "the server did not exit within 20 s of SIGTERM"
    assert answers["stop_seconds"] < 10, answers
    assert answers["left_running"] == []
