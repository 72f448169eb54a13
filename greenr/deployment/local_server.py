"""The local stack's model deployer: one model server process on 127.0.0.1.

The process itself is managed by scripts/model_server.sh (gunicorn in .venv-serving, the
Seldon protocol); this module decides whether to start, replace or leave it, from what it serves.
"""

from __future__ import annotations

import json
import os
import subprocess
import urllib.error
import urllib.request
from pathlib import Path
from typing import Literal

from pydantic import BaseModel

from greenr.settings import REPO_ROOT, Settings

Action = Literal["started", "replaced", "unchanged"]


class ModelServerError(RuntimeError):
    """The model server could not be started or stopped; the message includes its own words."""


class ServingStatus(BaseModel):
    """What the running server says about itself (None when nothing answers)."""

    model_name: str
    version: str
    fallback: bool
    model_uri: str


class LocalDeployment(BaseModel):
    """The outcome of a local deployment."""

    action: Action
    url: str
    prediction_url: str
    version: str


def _script(settings: Settings, command: str, model_uri: str | None = None) -> str:
    env = {
        **os.environ,
        "GREENR_HOME": str(settings.home),
        "GREENR_MODEL_SERVER_PORT": str(settings.model_server_port),
        "GREENR_MAX_IMAGE_PIXELS": str(settings.max_image_pixels),
    }
    if model_uri is not None:
        env["MODEL_URI"] = model_uri
    result = subprocess.run(
        ["bash", str(REPO_ROOT / "scripts" / "model_server.sh"), command],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    if result.returncode not in (0, 3):
        message = (result.stderr.strip() or result.stdout.strip()).splitlines()[-1:] or ["no output"]
        raise ModelServerError(f"model server {command} failed: {message[0]}")
    return result.stdout


def serving_status(settings: Settings, timeout: float = 3.0) -> ServingStatus | None:
    """The running server's model, from its /health/status; None when nothing answers."""
    url = f"{settings.model_server}/health/status"
    try:
        with urllib.request.urlopen(url, timeout=timeout) as response:
            body = json.loads(response.read())
    except (urllib.error.URLError, OSError, ValueError):
        return None
    status = body.get("jsonData", body)
    return ServingStatus(
        model_name=str(status.get("name", "")),
        version=str(status.get("version", "")),
        fallback=bool(status.get("fallback", False)),
        model_uri=str(status.get("model_uri", "")),
    )


def deploy_locally(settings: Settings, model_uri: str, version: str) -> LocalDeployment:
    """Start the server on `model_uri`, replace it if it serves another version or a fallback,
    or leave it alone when it already serves this version."""
    current = serving_status(settings)
    if current is not None and current.version == version and not current.fallback:
        action: Action = "unchanged"
    else:
        if current is not None or Path(settings.home / "model-server" / "server.pid").exists():
            _script(settings, "stop")
        _script(settings, "start", model_uri)
        action = "started" if current is None else "replaced"
        after = serving_status(settings)
        if after is None or after.version != version:
            raise ModelServerError(
                f"the model server did not come up serving version {version}: "
                f"see {settings.home / 'model-server' / 'server.log'}"
            )
    return LocalDeployment(
        action=action,
        url=settings.model_server,
        prediction_url=f"{settings.model_server}/api/v1.0/predictions",
        version=version,
    )


def stop_local_server(settings: Settings) -> None:
    """Stop the local model server (nothing happens when none runs)."""
    _script(settings, "stop")
