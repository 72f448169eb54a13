"""Run the model server as its image does and report what it answers, inside a network namespace.

    unshare --user --map-root-user --net python tests/seldon_image_probe.py MODEL_URI OUT_DIR PHOTO

Seldon's launcher (serving/Dockerfile's command, run by .venv-serving's Python) binds 0.0.0.0
and has no option to change it;
in a network namespace of its own only this process can reach it, so nothing is exposed while it
runs on the image's own ports (REST 9000, Seldon's metrics 6000). The probe brings the
namespace's loopback up, starts the server with serving/Dockerfile's command, waits for it,
sends one prediction and one the server refuses (binData that is not base64), then writes to
OUT_DIR: `rest_metrics.txt` (GET :9000/metrics), `seldon_metrics.txt` (GET :6000/metrics),
`server.log` (its stdout and stderr) and `answers.json` (the statuses). Then it stops the server
as `podman stop` and the kubelet do, with SIGTERM to the first process only, and adds to
`answers.json` how long it took to exit and which of its processes outlived it. Standard library
only.
"""

from __future__ import annotations

import base64
import json
import os
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]
SERVING_PYTHON = REPO_ROOT / ".venv-serving" / "bin" / "python"
# serving/Dockerfile's CMD (a test checks that they agree); "python" is the image's.
IMAGE_COMMAND = (
    "python",
    "-m",
    "serving.seldon_launcher",
    "serving.seldon_entry.GreenrSeldonModel",
    "--service-type",
    "MODEL",
)
REST = "http://127.0.0.1:9000"
SELDON_METRICS = "http://127.0.0.1:6000"


def call(url: str, payload: object | None = None, timeout: float = 10) -> tuple[int, str]:
    data = None if payload is None else json.dumps(payload).encode()
    request = urllib.request.Request(url, data=data, headers={"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            return int(response.status), response.read().decode()
    except urllib.error.HTTPError as error:
        return int(error.code), error.read().decode()


def wait_until_ready(server: subprocess.Popen[bytes], deadline_seconds: float = 90) -> None:
    deadline = time.monotonic() + deadline_seconds
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise SystemExit(f"the server exited with status {server.returncode} during start")
        try:
            if call(f"{REST}/health/ping", timeout=2)[0] == 200:
                return
        except OSError:
            pass
        time.sleep(0.3)
    raise SystemExit(f"no answer from {REST}/health/ping after {deadline_seconds:g} s")


def main(model_uri: str, out_dir: Path, photo: Path) -> None:
    subprocess.run(["ip", "link", "set", "lo", "up"], check=True)
    out_dir.mkdir(parents=True, exist_ok=True)
    env = {**os.environ, "MODEL_URI": model_uri, "MODEL_CACHE_DIR": str(out_dir / "cache")}
    with (out_dir / "server.log").open("wb") as log:
        server = subprocess.Popen(
            [str(SERVING_PYTHON), *IMAGE_COMMAND[1:]],
            cwd=REPO_ROOT,  # the image's WORKDIR holds serving/ and greenr/
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    try:
        wait_until_ready(server)
        predicted, _ = call(
            f"{REST}/api/v1.0/predictions", {"binData": base64.b64encode(photo.read_bytes()).decode()}
        )
        refused, _ = call(f"{REST}/api/v1.0/predictions", {"binData": "not base64 %%%"})
        rest_status, rest_metrics = call(f"{REST}/metrics")
        seldon_status, seldon_metrics = call(f"{SELDON_METRICS}/metrics")
        (out_dir / "rest_metrics.txt").write_text(rest_metrics)
        (out_dir / "seldon_metrics.txt").write_text(seldon_metrics)
        answers: dict[str, object] = {
            "predict": predicted,
            "refused": refused,
            "rest_metrics": rest_status,
            "seldon": seldon_status,
        }
        answers.update(stop_like_a_container_runtime(server))
        (out_dir / "answers.json").write_text(json.dumps(answers))
    finally:
        if server.poll() is None or session_members(server.pid):
            os.killpg(server.pid, signal.SIGKILL)
            server.wait(timeout=10)


def stop_like_a_container_runtime(server: subprocess.Popen[bytes], grace: float = 20) -> dict[str, object]:
    """SIGTERM to the server's process only; seconds until it exited, and what it left running."""
    started = time.monotonic()
    server.send_signal(signal.SIGTERM)
    try:
        server.wait(timeout=grace)
        stop_seconds: float | None = round(time.monotonic() - started, 2)
    except subprocess.TimeoutExpired:
        stop_seconds = None  # a runtime would now SIGKILL it
    time.sleep(0.5)  # let processes signalled at the end finish exiting
    return {"stop_seconds": stop_seconds, "left_running": session_members(server.pid)}


def session_members(session: int) -> list[str]:
    """Command lines of the live, non-zombie processes of a session (the server started one)."""
    members = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
            cmdline = (stat.parent / "cmdline").read_bytes().replace(b"\0", b" ").decode().strip()
        except (OSError, IndexError):
            continue
        # After ")": state, ppid, pgrp, session.
        if int(fields[3]) == session and fields[0] != "Z":
            members.append(cmdline)
    return members


if __name__ == "__main__":
    main(sys.argv[1], Path(sys.argv[2]), Path(sys.argv[3]))
