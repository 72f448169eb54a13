"""The model server's settings, read from constructor arguments first, then the environment.

The server runs without pydantic (and without `greenr.settings`, which needs it), so this is a
small hand-written reader; like `greenr.settings`, a wrong value stops the server at start with
one line naming the variable.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from greenr.images.memory import LARGE_IMAGE_PIXELS
from greenr.images.preprocess import DRAFT_MARGIN

# Same default as greenr.settings (GREENR_MAX_IMAGE_PIXELS): training screened images with it.
DEFAULT_MAX_IMAGE_PIXELS = 40_000_000
# One request holds at most this many images: bounds memory (64 x 224 x 224 x 3 float32 = 38 MB).
DEFAULT_MAX_BATCH_SIZE = 64
# Two cores on every machine of the project; more intra-op threads only contend. A run that
# starts while another is in flight uses one thread instead (serving.sessions).
DEFAULT_INTRA_OP_THREADS = 2
# onnxruntime's intra-op threads busy-wait between parallel sections (its default), which
# saves waking them ~100 times per image but burns the core that gunicorn's other request
# thread, the API and (in a container) the CPU quota need. Measured through the API on 2 cores
# (trained model, 3 alternating runs of each): spinning on, sequential p50 20.4 ms and 53.7
# images/s at concurrency 8; off, 23.2 ms and 63.4 images/s. On by default: a person waiting
# for one photo is the local stack's main use. That measurement predates serving.sessions: a
# concurrent run now goes to a one-thread session, which never spins, so spinning only affects a
# photo that is alone on the server.
DEFAULT_INTRA_OP_SPINNING = True
DEFAULT_S3_TIMEOUT_SECONDS = 5.0
# GREENR_JPEG_DRAFT_MARGIN must be training's (greenr.settings) for the model to see the pixels it was
# trained on; its bounds are those of greenr.settings.
MAX_JPEG_DRAFT_MARGIN = 64
# What a switch accepts, like `distutils.util.strtobool` (Seldon's reader of BOOL parameters).
_TRUE = frozenset({"1", "true", "yes", "on"})
_FALSE = frozenset({"0", "false", "no", "off"})


class ConfigError(ValueError):
    """A setting is missing or invalid; the message is one line and names the variable."""


@dataclass(frozen=True)
class S3Config:
    """How to reach the S3 server of an s3:// MODEL_URI (credentials come from boto3's chain)."""

    endpoint_url: str | None
    region: str
    timeout_seconds: float


@dataclass(frozen=True)
class ServerConfig:
    """Everything the model class needs to know before it loads anything."""

    model_uri: str
    cache_dir: Path
    max_image_pixels: int
    max_batch_size: int
    intra_op_threads: int
    intra_op_spinning: bool
    s3: S3Config
    # JPEGs decode at a reduced scale while both sides stay this many times the model input.
    jpeg_draft_margin: int = DRAFT_MARGIN
    # Images this large are decoded one at a time, and their freed memory returned to the system.
    large_image_pixels: int = LARGE_IMAGE_PIXELS


def default_cache_dir(environ: Mapping[str, str]) -> Path:
    """`$XDG_CACHE_HOME/greenr/model-server`, else `~/.cache/greenr/model-server`."""
    base = environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "greenr" / "model-server"


def load_config(
    environ: Mapping[str, str] | None = None,
    *,
    model_uri: str | None = None,
    model_cache_dir: str | None = None,
    max_image_pixels: int | None = None,
    max_batch_size: int | None = None,
    intra_op_threads: int | None = None,
    intra_op_spinning: bool | str | None = None,
) -> ServerConfig:
    """Build the configuration; explicit arguments (Seldon `parameters`) win over the environment.

    Raises:
        ConfigError: MODEL_URI is missing, a number is not a positive integer (GREENR_JPEG_DRAFT_MARGIN:
            not in 1..64), or a switch is not one of 1/0, true/false, yes/no, on/off.
    """
    env = os.environ if environ is None else environ
    uri = (model_uri or env.get("MODEL_URI", "")).strip()
    if not uri:
        raise ConfigError(
            "MODEL_URI is not set: point it to a model artifact folder (local path or "
            "s3://bucket/prefix) holding model.onnx and metadata.json"
        )
    cache = model_cache_dir or env.get("MODEL_CACHE_DIR") or str(default_cache_dir(env))
    return ServerConfig(
        model_uri=uri,
        cache_dir=Path(cache).expanduser(),
        max_image_pixels=_positive_int(
            max_image_pixels, env, "GREENR_MAX_IMAGE_PIXELS", DEFAULT_MAX_IMAGE_PIXELS
        ),
        max_batch_size=_positive_int(max_batch_size, env, "GREENR_MAX_BATCH_SIZE", DEFAULT_MAX_BATCH_SIZE),
        intra_op_threads=_positive_int(
            intra_op_threads, env, "GREENR_INTRA_OP_THREADS", DEFAULT_INTRA_OP_THREADS
        ),
        intra_op_spinning=_switch(
            intra_op_spinning, env, "GREENR_INTRA_OP_SPINNING", DEFAULT_INTRA_OP_SPINNING
        ),
        s3=S3Config(
            endpoint_url=_first(env, "AWS_ENDPOINT_URL_S3", "AWS_ENDPOINT_URL", "MLFLOW_S3_ENDPOINT_URL"),
            region=_first(env, "AWS_DEFAULT_REGION", "AWS_REGION") or "us-east-1",
            timeout_seconds=_positive_float(env, "GREENR_S3_TIMEOUT_SECONDS", DEFAULT_S3_TIMEOUT_SECONDS),
        ),
        jpeg_draft_margin=_draft_margin(env),
        large_image_pixels=_positive_int(None, env, "GREENR_LARGE_IMAGE_PIXELS", LARGE_IMAGE_PIXELS),
    )


def _draft_margin(env: Mapping[str, str]) -> int:
    margin = _positive_int(None, env, "GREENR_JPEG_DRAFT_MARGIN", DRAFT_MARGIN)
    if margin > MAX_JPEG_DRAFT_MARGIN:
        raise ConfigError(
            f"GREENR_JPEG_DRAFT_MARGIN: must be at most {MAX_JPEG_DRAFT_MARGIN}, got {margin}: "
            "use the value training used"
        )
    return margin


def log_settings(env: Mapping[str, str]) -> tuple[Path | None, int, int]:
    """GREENR_LOG_DIR (None: stderr), GREENR_LOG_MAX_BYTES, GREENR_LOG_BACKUPS, as greenr.settings."""
    raw = env.get("GREENR_LOG_DIR", "").strip()
    backups = env.get("GREENR_LOG_BACKUPS", "").strip()
    return (
        Path(raw).expanduser() if raw else None,
        _positive_int(None, env, "GREENR_LOG_MAX_BYTES", 10_000_000),
        int(backups) if backups.isdigit() else 5,
    )


def _first(env: Mapping[str, str], *names: str) -> str | None:
    for name in names:
        if env.get(name):
            return env[name]
    return None


def _positive_int(explicit: int | None, env: Mapping[str, str], name: str, default: int) -> int:
    if explicit is not None:
        value: object = explicit
    else:
        value = env.get(name, "") or default
    try:
        number = int(str(value))
    except ValueError:
        raise ConfigError(f"{name}: must be a positive integer, got {value!r}") from None
    if number <= 0:
        raise ConfigError(f"{name}: must be a positive integer, got {value!r}")
    return number


def _switch(explicit: bool | str | None, env: Mapping[str, str], name: str, default: bool) -> bool:
    # Seldon hands a parameter of type BOOL over as a bool and one of type STRING as text.
    if isinstance(explicit, bool):
        return explicit
    raw = (explicit if explicit is not None else env.get(name, "")).strip().lower()
    if not raw:
        return default
    if raw in _TRUE:
        return True
    if raw in _FALSE:
        return False
    raise ConfigError(f"{name}: must be 1/0, true/false, yes/no or on/off, got {raw!r}")


def _positive_float(env: Mapping[str, str], name: str, default: float) -> float:
    raw = env.get(name, "")
    if not raw:
        return default
    try:
        number = float(raw)
    except ValueError:
        raise ConfigError(f"{name}: must be a positive number, got {raw!r}") from None
    if number <= 0:
        raise ConfigError(f"{name}: must be a positive number, got {raw!r}")
    return number
