"""The local model server as a ZenML service: gunicorn from .venv-serving on 127.0.0.1.

ZenML's `LocalDaemonService` machinery tracks it (admin state, runtime folder with pid, log and
config files, an HTTP health monitor on /health/ping); this class supplies the process
supervision: it starts the server in its own process group, waits until it answers or says
why it cannot, and on stop waits for every process of the group (SIGKILL after a grace period).

The server itself lives in its own environment (seldon-core pins that ZenML, MLflow and
TensorFlow cannot share, see serving/README.md), so the process is gunicorn from .venv-serving,
never this interpreter: no ZenML daemon process stays behind it. It runs under
`serving.log_writer`, the one process that writes (and rotates) its service.log and
GREENR_LOG_DIR/model-server.log.
"""

from __future__ import annotations

import json
import logging
import os
import socket
import subprocess
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

from pydantic import BaseModel, Field, PrivateAttr
from zenml.enums import ServiceState
from zenml.models.v2.misc.service import ServiceType
from zenml.services import (
    HTTPEndpointHealthMonitor,
    HTTPEndpointHealthMonitorConfig,
    LocalDaemonService,
    LocalDaemonServiceConfig,
    LocalDaemonServiceEndpoint,
    LocalDaemonServiceEndpointConfig,
    ServiceEndpointProtocol,
)
from zenml.services.local.local_service import LocalDaemonServiceStatus
from zenml.services.service import BaseDeploymentService

from greenr.json_logging import JsonFormatter
from greenr.settings import REPO_ROOT
from greenr.supervision.process_group import command_line, group_members, stop_group

HOST = "127.0.0.1"
SERVING_APP = "serving.wsgi:create_app()"
GUNICORN_LOGGER = "serving.gunicorn_logging.JsonLogger"
LOG_WRITER = "serving.log_writer"
PREDICTION_PATH = "api/v1.0/predictions"
HEALTH_PATH = "health/ping"
# What the model's own one-line reason for refusing to start contains (serving/wsgi.py).
REASON_MARK = "cannot start"
# gunicorn writes its pid file right after binding; the model loads later, in the worker.
PID_FILE_TIMEOUT_SECONDS = 30


class ModelServerError(RuntimeError):
    """The model server could not start or stop; the message says why, in the server's words."""


class ModelServerConfig(LocalDaemonServiceConfig):
    """One local model server: the artifact it serves and how it runs.

    `model_name` / `model_version` are the registry's (MLflow) name and version of the artifact.
    """

    model_uri: str
    port: int = Field(ge=1024, le=65535)
    # Verified copies of artifacts, shared by every server of the deployer: the fallback to the
    # last good model works across versions. Empty: <root_runtime_path>/cache.
    cache_dir: str = ""
    # One worker (the metrics live in it, serving/wsgi.py) with 2 threads: onnxruntime's session
    # is thread-safe and already uses both cores; 4 threads measured slower and 100 MB bigger.
    threads: int = Field(default=2, ge=1)
    stop_grace_seconds: int = Field(default=30, ge=1)


class ModelServerStatus(LocalDaemonServiceStatus):
    """Runtime files of the server; its pid is trusted only if that process is really ours."""

    @property
    def pid(self) -> int | None:
        """The gunicorn master's pid, or None when it does not run.

        A pid file left over from before a reboot may name an unrelated process, which stop must
        never signal: the process must be gunicorn serving our app with this very pid file.
        """
        pid_file = self.pid_file
        if not pid_file:
            return None
        try:
            pid = int(Path(pid_file).read_text().strip())
        except (OSError, ValueError):
            return None
        line = command_line(pid)
        if SERVING_APP not in line or pid_file not in line:
            return None
        return pid


class ServingStatus(BaseModel):
    """What a running server says about itself (GET /health/status)."""

    model_name: str
    version: str
    fallback: bool
    fallback_reason: str
    model_uri: str


def serving_status(url: str, timeout: float = 3.0) -> ServingStatus | None:
    """The model a server at `url` serves, from its /health/status; None when nothing answers."""
    try:
        with urllib.request.urlopen(f"{url.rstrip('/')}/health/status", timeout=timeout) as response:
            body = json.loads(response.read())
    except (urllib.error.URLError, OSError, ValueError):
        return None
    status = body.get("jsonData", body)
    return ServingStatus(
        model_name=str(status.get("name", "")),
        version=str(status.get("version", "")),
        fallback=bool(status.get("fallback", False)),
        fallback_reason=str(status.get("fallback_reason") or ""),
        model_uri=str(status.get("model_uri", "")),
    )


def log_message(line: str) -> str:
    """The message of a JSON log line (greenr/json_logging.py), or the line itself."""
    try:
        entry = json.loads(line)
    except ValueError:
        return line.strip()
    return str(entry.get("message", line)).strip() if isinstance(entry, dict) else line.strip()


def port_in_use(port: int) -> bool:
    """True when something accepts connections on 127.0.0.1:port."""
    with socket.socket() as probe:
        probe.settimeout(1)
        return probe.connect_ex((HOST, port)) == 0


class ModelServerService(LocalDaemonService, BaseDeploymentService):
    """The Seldon-protocol model server on 127.0.0.1, run and watched through ZenML."""

    SERVICE_TYPE = ServiceType(
        name="greenr-model-server",
        type="model-serving",
        flavor="greenr-model-server",
        description="greenr's Seldon-protocol model server (gunicorn on 127.0.0.1)",
    )

    config: ModelServerConfig
    status: ModelServerStatus = Field(default_factory=ModelServerStatus)
    endpoint: LocalDaemonServiceEndpoint
    # The environment the server starts in; None: this process's. Never serialised, so keys it
    # may hold (AWS_*) stay out of the ZenML store and the runtime folder.
    _environment: dict[str, str] | None = PrivateAttr(default=None)

    def __init__(self, config: ModelServerConfig | dict[str, Any], **attrs: Any) -> None:
        if not isinstance(config, ModelServerConfig):
            config = ModelServerConfig.model_validate(config)
        if "endpoint" not in attrs:
            attrs["endpoint"] = LocalDaemonServiceEndpoint(
                config=LocalDaemonServiceEndpointConfig(
                    protocol=ServiceEndpointProtocol.HTTP,
                    port=config.port,
                    ip_address=HOST,
                    allocate_port=False,
                ),
                monitor=HTTPEndpointHealthMonitor(
                    config=HTTPEndpointHealthMonitorConfig(healthcheck_uri_path=HEALTH_PATH)
                ),
            )
        super().__init__(config=config, **attrs)

    def use_environment(self, environment: dict[str, str]) -> None:
        """Start the server with exactly this environment (plus what the service sets itself)."""
        self._environment = dict(environment)

    # ---------------------------------------------------------------- where things are

    @property
    def url(self) -> str:
        """http://127.0.0.1:<port>: the server's base URL."""
        return f"http://{HOST}:{self.config.port}"

    @property
    def prediction_url(self) -> str:
        """Where Seldon clients POST predictions (known before the server runs)."""
        return f"{self.url}/{PREDICTION_PATH}"

    @property
    def healthcheck_url(self) -> str:
        """What the health monitor polls."""
        return f"{self.url}/{HEALTH_PATH}"

    @property
    def cache_dir(self) -> Path:
        """Verified copies of artifacts, for the fallback to the last good model."""
        if self.config.cache_dir:
            return Path(self.config.cache_dir)
        root = self.config.root_runtime_path or self.status.runtime_path or "."
        return Path(root) / "cache"

    def _runtime_path(self) -> Path:
        # ZenML's layout: <root>/<service uuid>/ (or <root>/ for a singleton), kept across restarts.
        if not self.status.runtime_path or not os.path.exists(self.status.runtime_path):
            root = self.config.root_runtime_path
            if not root:
                raise ModelServerError("the model server has no runtime folder (root_runtime_path)")
            path = Path(root) if self.config.singleton else Path(root) / str(self.uuid)
            path.mkdir(parents=True, exist_ok=True)
            self.status.runtime_path = str(path)
        self.status.silent_daemon = False
        return Path(self.status.runtime_path)

    # ---------------------------------------------------------------- the process

    def _server_command(self, pid_file: str) -> list[str]:
        gunicorn = REPO_ROOT / ".venv-serving" / "bin" / "gunicorn"
        return [
            str(gunicorn),
            "--bind",
            f"{HOST}:{self.config.port}",
            "--pid",
            pid_file,
            "--workers",
            "1",
            "--worker-class",
            "gthread",
            "--threads",
            str(self.config.threads),
            "--timeout",
            "60",
            # gunicorn stops its worker gracefully on SIGTERM (requests in flight finish).
            "--graceful-timeout",
            "10",
            # --chdir also puts the repository first on sys.path: serving/ and greenr.images.
            "--chdir",
            str(REPO_ROOT),
            # gunicorn's own lines as JSON, like every other line of the server.
            "--logger-class",
            GUNICORN_LOGGER,
            SERVING_APP,
        ]

    def _logged_command(self, pid_file: str, service_log: str) -> list[str]:
        """The server under serving/log_writer.py: its processes' lines reach service.log (and
        GREENR_LOG_DIR/model-server.log) through that one writer, rotated while they run."""
        python = REPO_ROOT / ".venv-serving" / "bin" / "python"
        return [str(python), "-m", LOG_WRITER, service_log, *self._server_command(pid_file)]

    def _server_environment(self) -> dict[str, str]:
        env = dict(os.environ if self._environment is None else self._environment)
        env["MODEL_URI"] = self.config.model_uri
        env["MODEL_CACHE_DIR"] = str(self.cache_dir)
        # glibc gives each allocating thread its own arena and keeps freed memory there: with 2
        # arenas the server stays at ~245 MB under load instead of growing to ~380 MB.
        env.setdefault("MALLOC_ARENA_MAX", "2")
        # numpy's OpenBLAS starts a thread per core that spins while it waits for work; next to
        # onnxruntime's threads it burned CPU on every request. Measured through the API on 2
        # cores (trained model): model-server CPU per request 20-21 ms with one OpenBLAS thread,
        # 26-29 ms at concurrency 8 and 34-36 ms at concurrency 1 with two. The server's numpy
        # work (feature columns, the open-set score) is far too small to gain from threads.
        env.setdefault("OPENBLAS_NUM_THREADS", "1")
        # gunicorn 20 imports pkg_resources before any logging is set up: its deprecation warning
        # (setuptools<81 is pinned for it, serving/requirements.txt) would be the one plain-text
        # line of the server's log.
        env.setdefault("PYTHONWARNINGS", "ignore:pkg_resources is deprecated:UserWarning")
        return env

    def _get_daemon_cmd(self) -> tuple[list[str], dict[str, str]]:
        """gunicorn under `setsid --fork`: its own session and process group (stop can wait for
        and, as a last resort, kill all of it; a Ctrl-C in the caller's terminal does not reach
        it) and a child of init, so no caller is left with a zombie to reap."""
        self._runtime_path()
        assert self.status.config_file is not None
        assert self.status.pid_file is not None
        Path(self.status.config_file).write_text(self.model_dump_json(indent=2))
        Path(self.status.pid_file).unlink(missing_ok=True)
        assert self.status.log_file is not None
        command = self._logged_command(self.status.pid_file, self.status.log_file)
        return ["setsid", "--fork", *command], self._server_environment()

    def _start_daemon(self) -> None:
        if self.status.pid:
            return
        gunicorn = REPO_ROOT / ".venv-serving" / "bin" / "gunicorn"
        if not os.access(gunicorn, os.X_OK):
            raise ModelServerError(
                f"{gunicorn.parent.parent} is missing or incomplete: run bash scripts/serving_setup.sh"
            )
        if not self.config.model_uri.strip():
            raise ModelServerError(
                "MODEL_URI is not set: point it to a model artifact folder (path or s3://bucket/prefix) "
                "with model.onnx and metadata.json"
            )
        if port_in_use(self.config.port):
            raise ModelServerError(
                f"something else already listens on {HOST}:{self.config.port} (set GREENR_MODEL_SERVER_PORT)"
            )
        self.endpoint.prepare_for_start()
        command, env = self._get_daemon_cmd()
        assert self.status.log_file is not None
        # A fresh log for each start; serving.log_writer appends to it and rotates it.
        with open(self.status.log_file, "w") as log:
            subprocess.run(
                command,
                env=env,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                cwd=REPO_ROOT,
                check=True,
                timeout=30,
            )
        deadline = time.monotonic() + PID_FILE_TIMEOUT_SECONDS
        while not self.status.pid:
            if time.monotonic() >= deadline:
                raise ModelServerError(f"gunicorn did not start: {self.failure_reason()}")
            time.sleep(0.1)

    def _stop_daemon(self, force: bool = False) -> None:
        pid = self.status.pid
        if pid is None:
            return
        outcome = stop_group(pid, self.config.stop_grace_seconds, force=force)
        if outcome == "killed" and self.status.log_file:
            # The log writer was killed with the group: this process is the file's only writer now.
            record = logging.LogRecord(
                __name__,
                logging.ERROR,
                "",
                0,
                "model server: still running %s s after SIGTERM: killed process group %s",
                (self.config.stop_grace_seconds, pid),
                None,
            )
            with open(self.status.log_file, "a") as log:
                log.write(JsonFormatter("model-server").format(record) + "\n")

    def run(self) -> None:
        """Run the server in the foreground, replacing this process (ZenML's blocking mode)."""
        runtime = self._runtime_path()
        command = self._logged_command(str(runtime / "service.pid"), str(runtime / "service.log"))
        os.chdir(REPO_ROOT)
        os.execve(command[0], command, self._server_environment())

    # ---------------------------------------------------------------- state

    def check_status(self) -> tuple[ServiceState, str]:
        """ACTIVE while the process runs; ERROR when it should run but is gone (it failed to
        start, was killed, or the machine rebooted); INACTIVE when stopped on purpose."""
        # ZenML keeps the last non-empty message forever; this one describes the present.
        self.status.clear_error()
        if self.status.pid:
            served = serving_status(self.url, timeout=1.0)
            if served is not None and served.fallback:
                return ServiceState.ACTIVE, (
                    f"FALLBACK: serving the cached copy of version {served.version}: {served.fallback_reason}"
                )
            return ServiceState.ACTIVE, ""
        if self.admin_state == ServiceState.ACTIVE:
            return ServiceState.ERROR, f"the model server is not running: {self.failure_reason()}"
        return ServiceState.INACTIVE, ""

    def start(self, timeout: int = 0) -> None:
        """Start and, with a timeout, wait until /health/ping answers; raise with the server's own
        reason when it stops during start, and stop it when it does not answer in time."""
        super().start(timeout)
        if timeout <= 0 or self.is_running:
            return
        reason = self.failure_reason()
        if self.status.pid:
            self.stop(timeout=self.config.stop_grace_seconds + 15)
            reason = f"no answer from {self.healthcheck_url} after {timeout} s: stopped it; {reason}"
        self.status.update_state(ServiceState.ERROR, reason)
        raise ModelServerError(reason)

    def failure_reason(self) -> str:
        """The server's own reason from its log (the lines with "cannot start"), else its last lines."""
        log_file = self.status.log_file
        if not log_file or not os.path.exists(log_file):
            return "no log yet"
        lines = Path(log_file).read_text(errors="replace").splitlines()
        reasons = [log_message(line) for line in lines if REASON_MARK in line]
        if reasons:
            return " / ".join(dict.fromkeys(reasons))
        tail = " | ".join(line.strip() for line in lines[-8:] if line.strip())
        return f"its log ({log_file}) ends with: {tail or '(empty)'}"

    def processes(self) -> list[int]:
        """Every live process of the server's group (its log writer, the gunicorn master and its worker)."""
        pid = self.status.pid
        return group_members(os.getpgid(pid)) if pid else []
