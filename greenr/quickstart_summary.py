"""What the quickstart prints when everything runs: where each server answers, where the keys
and the state are, how to stop and start again.

Read from the one Settings object, so the addresses are the ones the servers were started on
(GREENR_API_PORT, MLFLOW_TRACKING_URI, ...), never defaults repeated in a shell script.

    python -m greenr.quickstart_summary
"""

from __future__ import annotations

from greenr.settings import Settings, get_settings


def mlflow_line(settings: Settings) -> str:
    """How to look at the runs: the server's URL, or the command that serves a local backend."""
    uri = settings.tracking_uri
    if uri.startswith(("http://", "https://")):
        return uri
    return f".venv/bin/mlflow ui --host 127.0.0.1 --backend-store-uri {uri}"


def quickstart_summary(settings: Settings) -> str:
    keys = settings.api_keys_path
    rows = [
        ("Web app", f"http://127.0.0.1:{settings.ui_port}"),
        (
            "Prediction API",
            f"{settings.api}   (docs: {settings.api}/docs; every call but /health and /metrics needs a key)",
        ),
        (
            "API keys",
            f"{keys / 'admin.key'} (admin), {settings.ui_api_key_file.name} (predict) and "
            f"{settings.ui_monitoring_api_key_file.name} (monitor), used by the web app; more: "
            ".venv/bin/python -m greenr.api.keys create --name NAME --role predict",
        ),
        (
            "Try it",
            f'curl -H "Authorization: Bearer $(cat {keys / "admin.key"})" -F files=@photo.jpg '
            f"{settings.api}/predict",
        ),
        ("Model server", f"{settings.model_server}/api/v1.0/predictions   (Seldon protocol)"),
        ("Stop them", "bash scripts/stop.sh"),
        (
            "Start again",
            ".venv/bin/python -m greenr.deployment start   "
            "(model server; then scripts/api_server.sh start, scripts/web_app.sh start)",
        ),
        ("State folder", f"{settings.home}   (catalog, lake/, zenml/, logs of each server)"),
        (
            "JSON logs",
            f"{settings.log_dir}   (<service>.log, rotated; grep a request id across them)"
            if settings.log_dir is not None
            else "stderr of each server (set GREENR_LOG_DIR for rotated files)",
        ),
        ("Monitoring", "bash scripts/monitoring.sh start   (Prometheus, Alertmanager, Pushgateway)"),
        ("MLflow", mlflow_line(settings)),
        (
            # The project keeps ZenML's store under GREENR_HOME, not in ~/.config/zenml: ZenML's own
            # CLI sees the project's stacks, runs and model servers only with this variable.
            "ZenML CLI",
            f"export ZENML_CONFIG_PATH={settings.zenml_config_path}   "
            "(then: zenml stack list, zenml model-deployer models list)",
        ),
    ]
    return "\n".join(f"{name + ':':<16}{value}" for name, value in rows)


if __name__ == "__main__":
    print(quickstart_summary(get_settings()))
