"""The one place that reads the environment.

Every other module takes typed arguments; entry points call `get_settings()` once and pass
what they need down. With no variables set, everything runs on one machine under one state
folder (`GREENR_HOME`, default `<repo>/.greenr`).
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Annotated
from urllib.parse import urlparse

from pydantic import AliasChoices, Field, SecretStr, ValidationError, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

REPO_ROOT = Path(__file__).resolve().parents[1]
DEFAULT_SOURCE = (REPO_ROOT / ".." / "shared" / "data" / "greenr").resolve()
# Out-of-domain development pictures (<folder>/<kind>/*.jpg) the open-set scorer learns "neither"
# from (greenr/open_set/scorer.py, outlier_exposure); training falls back without them.
DEFAULT_OPEN_SET_NEGATIVES = (REPO_ROOT / ".." / "shared" / "data" / "neither").resolve()

_LAKE_SCHEMES = {"", "file", "s3"}
_DB_SCHEMES = ("sqlite", "postgresql")


def _env(*names: str) -> AliasChoices:
    return AliasChoices(*names)


class Settings(BaseSettings):
    """Runtime configuration; each field names the environment variable(s) it reads."""

    model_config = SettingsConfigDict(extra="ignore")

    home: Annotated[Path, Field(validation_alias=_env("GREENR_HOME"))] = REPO_ROOT / ".greenr"
    source_dir: Annotated[Path, Field(validation_alias=_env("GREENR_SOURCE_DIR"))] = DEFAULT_SOURCE
    open_set_negatives_dir: Annotated[Path, Field(validation_alias=_env("GREENR_OPEN_SET_NEGATIVES_DIR"))] = (
        DEFAULT_OPEN_SET_NEGATIVES
    )
    database_url: Annotated[
        str | None, Field(validation_alias=_env("GREENR_DATABASE_URL", "DATABASE_URL"))
    ] = None
    lake_uri: Annotated[str | None, Field(validation_alias=_env("GREENR_LAKE_URI"))] = None
    s3_endpoint_url: Annotated[
        str | None,
        Field(validation_alias=_env("AWS_ENDPOINT_URL_S3", "AWS_ENDPOINT_URL", "MLFLOW_S3_ENDPOINT_URL")),
    ] = None
    aws_access_key_id: Annotated[str | None, Field(validation_alias=_env("AWS_ACCESS_KEY_ID"))] = None
    aws_secret_access_key: Annotated[
        SecretStr | None, Field(validation_alias=_env("AWS_SECRET_ACCESS_KEY"))
    ] = None
    aws_region: Annotated[str, Field(validation_alias=_env("AWS_DEFAULT_REGION", "AWS_REGION"))] = "us-east-1"
    s3_timeout_seconds: Annotated[float, Field(gt=0, validation_alias=_env("GREENR_S3_TIMEOUT_SECONDS"))] = (
        5.0
    )
    # Sources other than a folder (greenr/ingestion/sources.py): photos downloaded from URL lists.
    download_timeout_seconds: Annotated[
        float, Field(gt=0, validation_alias=_env("GREENR_DOWNLOAD_TIMEOUT_SECONDS"))
    ] = 20.0
    download_workers: Annotated[int, Field(gt=0, le=64, validation_alias=_env("GREENR_DOWNLOAD_WORKERS"))] = 8
    download_retries: Annotated[int, Field(ge=0, le=10, validation_alias=_env("GREENR_DOWNLOAD_RETRIES"))] = 2
    # The reference dataset fetched by the quickstart on a machine without the default source
    # (greenr/dataset/reference.py): an archive of btphan95/greenr-airflow at the pinned commit.
    reference_dataset_url: Annotated[str, Field(validation_alias=_env("GREENR_REFERENCE_DATASET_URL"))] = (
        "https://github.com/btphan95/greenr-airflow/archive/82fc896ae71a910ca93bdaccd492630bae3ed1c3.tar.gz"
    )
    mlflow_tracking_uri: Annotated[str | None, Field(validation_alias=_env("MLFLOW_TRACKING_URI"))] = None
    mlflow_tracking_username: Annotated[
        str | None, Field(validation_alias=_env("MLFLOW_TRACKING_USERNAME"))
    ] = None
    mlflow_tracking_password: Annotated[
        SecretStr | None, Field(validation_alias=_env("MLFLOW_TRACKING_PASSWORD"))
    ] = None
    max_image_pixels: Annotated[int, Field(gt=0, validation_alias=_env("GREENR_MAX_IMAGE_PIXELS"))] = (
        40_000_000
    )
    model_name: Annotated[str, Field(min_length=1, validation_alias=_env("GREENR_MODEL_NAME"))] = (
        "greenr-classifier"
    )

    # Serving: model server (Seldon protocol), prediction API, web app. All bind 127.0.0.1 locally.
    model_server_port: Annotated[
        int, Field(gt=0, lt=65536, validation_alias=_env("GREENR_MODEL_SERVER_PORT"))
    ] = 9000
    model_server_url: Annotated[str | None, Field(validation_alias=_env("GREENR_MODEL_SERVER_URL"))] = None
    model_server_timeout_seconds: Annotated[
        float, Field(gt=0, validation_alias=_env("GREENR_MODEL_SERVER_TIMEOUT_SECONDS"))
    ] = 5.0
    # The local model server (greenr/deployment/model_server_service.py): gunicorn threads, and
    # how long a start may take before it is given up (a model that cannot load fails at once).
    model_server_threads: Annotated[
        int, Field(gt=0, validation_alias=_env("GREENR_MODEL_SERVER_THREADS"))
    ] = 2
    model_server_start_timeout_seconds: Annotated[
        int, Field(gt=0, validation_alias=_env("GREENR_MODEL_SERVER_START_TIMEOUT"))
    ] = 120
    api_host: Annotated[str, Field(validation_alias=_env("GREENR_API_HOST"))] = "127.0.0.1"
    api_port: Annotated[int, Field(gt=0, lt=65536, validation_alias=_env("GREENR_API_PORT"))] = 8000
    api_url: Annotated[str | None, Field(validation_alias=_env("GREENR_API_URL"))] = None
    # How long `python -m greenr.api.daemon start` / `python -m ui.daemon start` (scripts/api_server.sh,
    # scripts/web_app.sh) wait for the server to answer before they stop it and fail.
    api_start_timeout_seconds: Annotated[
        int, Field(gt=0, validation_alias=_env("GREENR_API_START_TIMEOUT"))
    ] = 60
    web_start_timeout_seconds: Annotated[
        int, Field(gt=0, validation_alias=_env("GREENR_WEB_START_TIMEOUT"))
    ] = 60
    max_upload_bytes: Annotated[int, Field(gt=0, validation_alias=_env("GREENR_MAX_UPLOAD_BYTES"))] = (
        10_000_000
    )
    max_batch_files: Annotated[int, Field(gt=0, validation_alias=_env("GREENR_MAX_BATCH_FILES"))] = 32
    # Hardening limits of the prediction API (README "Security and limits"); each answers a
    # client with a one-sentence JSON error, never by stalling or swelling the process.
    max_json_body_bytes: Annotated[int, Field(gt=0, validation_alias=_env("GREENR_MAX_JSON_BODY_BYTES"))] = (
        65_536
    )
    max_json_depth: Annotated[int, Field(gt=0, validation_alias=_env("GREENR_MAX_JSON_DEPTH"))] = 32
    header_read_timeout_seconds: Annotated[
        float, Field(gt=0, validation_alias=_env("GREENR_HEADER_READ_TIMEOUT_SECONDS"))
    ] = 10.0
    body_read_timeout_seconds: Annotated[
        float, Field(gt=0, validation_alias=_env("GREENR_BODY_READ_TIMEOUT_SECONDS"))
    ] = 15.0
    body_total_timeout_seconds: Annotated[
        float, Field(gt=0, validation_alias=_env("GREENR_BODY_TOTAL_TIMEOUT_SECONDS"))
    ] = 120.0
    keep_alive_seconds: Annotated[
        int, Field(gt=0, validation_alias=_env("GREENR_API_KEEP_ALIVE_SECONDS"))
    ] = 5
    max_header_bytes: Annotated[int, Field(ge=1024, validation_alias=_env("GREENR_API_MAX_HEADER_BYTES"))] = (
        16_384
    )
    max_connections: Annotated[int, Field(gt=0, validation_alias=_env("GREENR_API_MAX_CONNECTIONS"))] = 256
    max_concurrent_uploads: Annotated[
        int, Field(gt=0, validation_alias=_env("GREENR_MAX_CONCURRENT_UPLOADS"))
    ] = 32
    max_request_pixels: Annotated[int, Field(gt=0, validation_alias=_env("GREENR_MAX_REQUEST_PIXELS"))] = (
        80_000_000
    )
    max_concurrent_decodes: Annotated[
        int, Field(gt=0, validation_alias=_env("GREENR_MAX_CONCURRENT_DECODES"))
    ] = 2
    decode_wait_seconds: Annotated[
        float, Field(gt=0, validation_alias=_env("GREENR_DECODE_WAIT_SECONDS"))
    ] = 10.0
    retry_after_seconds: Annotated[int, Field(gt=0, validation_alias=_env("GREENR_RETRY_AFTER_SECONDS"))] = 2
    # GET /predictions: the largest `offset`. SQLite overflows past 2**63 - 1 (issue 12: a 500); at
    # most 2**53 - 1, so the bound stays exact in every client's number type (JavaScript's too).
    max_history_offset: Annotated[
        int, Field(ge=0, le=2**53 - 1, validation_alias=_env("GREENR_MAX_HISTORY_OFFSET"))
    ] = 2**31 - 1
    # Decoding (greenr/images; the model server reads the same variables in serving/config.py, and
    # training must use the model server's values: both feed the model the same pixels). A JPEG is
    # decoded at a reduced DCT scale only while both sides stay this many times the model input
    # (greenr/images/preprocess.py says what was measured). After an image of at least
    # GREENR_LARGE_IMAGE_PIXELS pixels, freed heap memory is returned to the system (malloc_trim),
    # and the model server decodes images that large one at a time.
    jpeg_draft_margin: Annotated[
        int, Field(ge=1, le=64, validation_alias=_env("GREENR_JPEG_DRAFT_MARGIN"))
    ] = 4
    large_image_pixels: Annotated[int, Field(gt=0, validation_alias=_env("GREENR_LARGE_IMAGE_PIXELS"))] = (
        8_000_000
    )
    # GET /predictions/{id}/explanation: TensorFlow threads (the rest of the cores stay with the
    # predictions) and how many versions' Keras models stay in memory.
    explanation_threads: Annotated[
        int, Field(gt=0, le=64, validation_alias=_env("GREENR_EXPLANATION_THREADS"))
    ] = 1
    explanation_models: Annotated[
        int, Field(gt=0, le=8, validation_alias=_env("GREENR_EXPLANATION_MODELS"))
    ] = 2
    ui_host: Annotated[str, Field(validation_alias=_env("GREENR_UI_HOST"))] = "127.0.0.1"
    ui_port: Annotated[int, Field(gt=0, lt=65536, validation_alias=_env("GREENR_UI_PORT"))] = 8080

    # Access to the prediction API (greenr/api/README.md, "Access"). Trusted hosts: the Host
    # header values the API answers (comma-separated); unset, the loopback names and
    # GREENR_API_HOST. The rate limit is a token bucket per API key and per API process.
    api_trusted_hosts: Annotated[str | None, Field(validation_alias=_env("GREENR_API_TRUSTED_HOSTS"))] = None
    api_rate_per_second: Annotated[
        float, Field(gt=0, validation_alias=_env("GREENR_API_RATE_PER_SECOND"))
    ] = 10.0
    api_rate_burst: Annotated[int, Field(gt=0, validation_alias=_env("GREENR_API_RATE_BURST"))] = 40
    # /metrics is open by default (Prometheus scrapes it without a key); true: admin keys only.
    api_protect_metrics: Annotated[bool, Field(validation_alias=_env("GREENR_API_PROTECT_METRICS"))] = False
    # The web app's API key; unset, it is read from $GREENR_HOME/api-keys/web-app.key (written by
    # the quickstart). Held by the web app's server process only, never sent to a browser.
    ui_api_key: Annotated[SecretStr | None, Field(validation_alias=_env("GREENR_UI_API_KEY"))] = None
    # The key of the web app's Monitoring page (`monitor` role: /monitoring/... only); unset, read
    # from $GREENR_HOME/api-keys/web-app-monitoring.key (written by the quickstart).
    ui_monitoring_api_key: Annotated[
        SecretStr | None, Field(validation_alias=_env("GREENR_UI_MONITORING_API_KEY"))
    ] = None
    # Observability (docs/observability.md). A prediction less confident than the threshold counts
    # as low-confidence (the share is alerted on). Pipelines push their run metrics to the
    # Pushgateway when its URL is set; unset or down, they log a warning and carry on.
    low_confidence_threshold: Annotated[
        float, Field(gt=0.5, le=1.0, validation_alias=_env("GREENR_LOW_CONFIDENCE_THRESHOLD"))
    ] = 0.7
    pushgateway_url: Annotated[str | None, Field(validation_alias=_env("GREENR_PUSHGATEWAY_URL"))] = None
    push_timeout_seconds: Annotated[
        float, Field(gt=0, validation_alias=_env("GREENR_PUSH_TIMEOUT_SECONDS"))
    ] = 3.0
    # JSON log lines (greenr/json_logging.py): to stderr for a cluster's collector, or, when
    # GREENR_LOG_DIR is set, to <dir>/<service>.log rotated at GREENR_LOG_MAX_BYTES, keeping
    # GREENR_LOG_BACKUPS old files.
    log_dir: Annotated[Path | None, Field(validation_alias=_env("GREENR_LOG_DIR"))] = None
    log_max_bytes: Annotated[int, Field(gt=0, validation_alias=_env("GREENR_LOG_MAX_BYTES"))] = 10_000_000
    log_backups: Annotated[int, Field(ge=0, validation_alias=_env("GREENR_LOG_BACKUPS"))] = 5
    # The file a background server's stdout and stderr go to (set by greenr.supervision.daemon for
    # the server it starts: $GREENR_HOME/api/server.log, .../web/web.log); the server rotates it
    # with the same two bounds, so it never grows without limit.
    output_log: Annotated[Path | None, Field(validation_alias=_env("GREENR_OUTPUT_LOG"))] = None
    # scripts/monitoring.sh: Prometheus, Alertmanager, Pushgateway and the alert inbox on
    # 127.0.0.1, the scrape and rule evaluation interval, and the webhooks critical (pager) and
    # warning (ticket) alerts go to (unset: the local alert inbox, greenr/observability/alert_inbox.py).
    monitoring_interval: Annotated[
        str, Field(pattern=r"^[1-9][0-9]*(ms|s|m)$", validation_alias=_env("GREENR_MONITORING_INTERVAL"))
    ] = "15s"
    alert_pager_url: Annotated[str | None, Field(validation_alias=_env("GREENR_ALERT_PAGER_URL"))] = None
    alert_ticket_url: Annotated[str | None, Field(validation_alias=_env("GREENR_ALERT_TICKET_URL"))] = None
    prometheus_port: Annotated[
        int, Field(gt=0, lt=65536, validation_alias=_env("GREENR_PROMETHEUS_PORT"))
    ] = 9090
    alertmanager_port: Annotated[
        int, Field(gt=0, lt=65536, validation_alias=_env("GREENR_ALERTMANAGER_PORT"))
    ] = 9093
    pushgateway_port: Annotated[
        int, Field(gt=0, lt=65536, validation_alias=_env("GREENR_PUSHGATEWAY_PORT"))
    ] = 9091
    alert_inbox_port: Annotated[
        int, Field(gt=0, lt=65536, validation_alias=_env("GREENR_ALERT_INBOX_PORT"))
    ] = 9095

    # Stacks (stacks/*.yaml). Defaults are in-cluster service names from k8s/, never secrets.
    s3_artifact_uri: Annotated[str, Field(validation_alias=_env("GREENR_S3_ARTIFACT_URI"))] = (
        "s3://greenr/zenml-artifacts"
    )
    k8s_context: Annotated[str, Field(validation_alias=_env("GREENR_K8S_CONTEXT"))] = "greenr"
    k8s_namespace: Annotated[str, Field(validation_alias=_env("GREENR_K8S_NAMESPACE"))] = "greenr"
    container_registry: Annotated[str, Field(validation_alias=_env("GREENR_CONTAINER_REGISTRY"))] = (
        "registry.greenr.svc.cluster.local:5000"
    )
    cluster_s3_endpoint_url: Annotated[
        str, Field(validation_alias=_env("GREENR_CLUSTER_S3_ENDPOINT_URL"))
    ] = "http://minio.greenr.svc.cluster.local:9000"
    cluster_artifact_uri: Annotated[str, Field(validation_alias=_env("GREENR_CLUSTER_ARTIFACT_URI"))] = (
        "s3://greenr/zenml-artifacts"
    )
    cluster_mlflow_uri: Annotated[str, Field(validation_alias=_env("GREENR_CLUSTER_MLFLOW_URI"))] = (
        "http://mlflow.greenr.svc.cluster.local:5000"
    )
    cluster_mlflow_username: Annotated[
        str, Field(validation_alias=_env("GREENR_CLUSTER_MLFLOW_USERNAME"))
    ] = "greenr"
    cluster_mlflow_password: Annotated[
        SecretStr | None, Field(validation_alias=_env("GREENR_CLUSTER_MLFLOW_PASSWORD"))
    ] = None
    seldon_base_url: Annotated[str, Field(validation_alias=_env("GREENR_SELDON_BASE_URL"))] = (
        "http://istio-ingressgateway.istio-system.svc.cluster.local"
    )

    @field_validator("database_url")
    @classmethod
    def _check_database_url(cls, value: str | None) -> str | None:
        if value is not None and not value.startswith(_DB_SCHEMES):
            raise ValueError(f"must start with sqlite:// or postgresql://, got {value!r}")
        return value

    @field_validator("api_trusted_hosts")
    @classmethod
    def _check_trusted_hosts(cls, value: str | None) -> str | None:
        # Starlette's TrustedHostMiddleware takes names and "*.domain" wildcards only.
        for host in (value or "").split(","):
            host = host.strip()
            if "*" in host[1:] or (host.startswith("*") and host != "*" and not host.startswith("*.")):
                raise ValueError(f"a wildcard must be like *.example.com, got {host!r}")
        return value

    @field_validator("lake_uri")
    @classmethod
    def _check_lake_uri(cls, value: str | None) -> str | None:
        if value is not None and urlparse(value).scheme not in _LAKE_SCHEMES:
            raise ValueError(f"must be a local path, file:// or s3:// URI, got {value!r}")
        return value

    @field_validator(
        "s3_endpoint_url",
        "mlflow_tracking_uri",
        "cluster_s3_endpoint_url",
        "cluster_mlflow_uri",
        "seldon_base_url",
        "model_server_url",
        "api_url",
        "pushgateway_url",
        "alert_pager_url",
        "alert_ticket_url",
        "reference_dataset_url",
    )
    @classmethod
    def _check_url(cls, value: str | None) -> str | None:
        if value is not None and not urlparse(value).scheme:
            raise ValueError(f"must be a URL with a scheme (http://host:port), got {value!r}")
        return value

    @model_validator(mode="after")
    def _s3_needs_keys(self) -> Settings:
        has_keys = bool(self.aws_access_key_id and self.aws_secret_access_key)
        if self.lake_uri and self.lake_uri.startswith("s3://") and not has_keys:
            raise ValueError(
                "GREENR_LAKE_URI is an s3:// URI: set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY too"
            )
        return self

    # Derived defaults: computed, not stored, so GREENR_HOME moves all of them at once.
    @property
    def catalog_url(self) -> str:
        """SQLAlchemy URL of the catalog database."""
        return self.database_url or f"sqlite:///{self.home / 'catalog.db'}"

    @property
    def lake(self) -> str:
        """Root URI of the object store (local folder or s3://bucket/prefix)."""
        return self.lake_uri or str(self.home / "lake")

    @property
    def staging_path(self) -> Path:
        """Where photos from S3 or URL lists are staged before screening (one folder per source)."""
        return self.home / "staging"

    @property
    def tracking_uri(self) -> str:
        """MLflow tracking URI."""
        return self.mlflow_tracking_uri or f"sqlite:///{self.home / 'mlflow.db'}"

    @property
    def model_server(self) -> str:
        """Base URL of the model server (Seldon REST protocol)."""
        return self.model_server_url or f"http://127.0.0.1:{self.model_server_port}"

    @property
    def api(self) -> str:
        """Base URL of the prediction API, as the web app reaches it."""
        return self.api_url or f"http://127.0.0.1:{self.api_port}"

    @property
    def trusted_hosts(self) -> list[str]:
        """Host header values the prediction API answers (DNS-rebinding protection)."""
        if self.api_trusted_hosts is not None:
            return [host.strip() for host in self.api_trusted_hosts.split(",") if host.strip()]
        hosts = ["127.0.0.1", "localhost", "[::1]"]
        # A wildcard bind address is not a name a client uses.
        if self.api_host not in hosts and self.api_host not in ("", "0.0.0.0", "::"):
            hosts.append(self.api_host)
        return hosts

    @property
    def api_keys_path(self) -> Path:
        """Folder of the API keys the quickstart creates (one 0600 file per key)."""
        return self.home / "api-keys"

    @property
    def ui_api_key_file(self) -> Path:
        """Where the web app reads its API key when GREENR_UI_API_KEY is not set."""
        return self.api_keys_path / "web-app.key"

    @property
    def ui_monitoring_api_key_file(self) -> Path:
        """Where the web app reads its monitoring key when GREENR_UI_MONITORING_API_KEY is not set."""
        return self.api_keys_path / "web-app-monitoring.key"

    @property
    def monitoring_path(self) -> Path:
        """Configs, data and logs of Prometheus, Alertmanager and Pushgateway (scripts/monitoring.sh)."""
        return self.home / "monitoring"

    @property
    def alert_inbox_file(self) -> Path:
        """Where the local alert inbox records the alerts Alertmanager sends it."""
        return self.monitoring_path / "alerts.jsonl"

    def alert_webhook_url(self, channel: str) -> str:
        """The webhook of the `pager` or `tickets` receiver: the configured one, else the inbox's."""
        configured = {"pager": self.alert_pager_url, "tickets": self.alert_ticket_url}[channel]
        return configured or f"http://127.0.0.1:{self.alert_inbox_port}/{channel}"

    @property
    def artifact_path(self) -> Path:
        """Artifact store folder of the local stack."""
        return self.home / "artifacts"

    @property
    def model_server_path(self) -> Path:
        """Runtime folders (pid, log) of the local model servers, and their model cache."""
        return self.home / "model-server"

    @property
    def zenml_config_path(self) -> Path:
        """Folder of ZenML's local client config and SQLite store."""
        return self.home / "zenml"


class SettingsError(RuntimeError):
    """Configuration is invalid; the message names the variable and is one line."""


def _one_line(error: ValidationError) -> str:
    parts = []
    for item in error.errors():
        loc = item.get("loc") or ()
        field = str(loc[0]) if loc else ""
        variables = _variables_of(field)
        message = str(item.get("msg", "invalid value")).removeprefix("Value error, ")
        parts.append(f"{variables}: {message}" if variables else message)
    return "invalid configuration: " + "; ".join(parts)


def _variables_of(field: str) -> str:
    info = Settings.model_fields.get(field)
    if info is None:
        # The validation alias reaches here when pydantic reports the alias itself.
        return field
    alias = info.validation_alias
    if isinstance(alias, AliasChoices):
        return " / ".join(str(choice) for choice in alias.choices)
    return str(alias or field)


def load_settings() -> Settings:
    """Read the environment into a Settings, raising SettingsError with a one-line message."""
    try:
        return Settings()
    except ValidationError as error:
        raise SettingsError(_one_line(error)) from None


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """The process-wide settings (cached; tests call `get_settings.cache_clear()`)."""
    return load_settings()
