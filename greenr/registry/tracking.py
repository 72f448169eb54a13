"""Logging a training run to MLflow: parameters, per-epoch curves, test metrics, artifacts, model.

Works inside the run that ZenML's MLflow experiment tracker opened for the step, or opens one
itself on the given tracking URI when the active stack has no experiment tracker.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

from greenr.settings import Settings


@contextlib.contextmanager
def mlflow_run(
    tracking_uri: str, experiment: str, artifact_location: str | None, run_id: str | None = None
) -> Iterator[str]:
    """The active MLflow run (ZenML's), else run `run_id` reopened, else a new run; yields its id.

    A run this function opens ends FAILED when the body raises (MLflow's own context manager),
    so a training that crashes leaves its parameters and curves so far under a FAILED run.
    """
    import mlflow

    active = mlflow.active_run()
    if active is not None:
        yield active.info.run_id
        return
    mlflow.set_tracking_uri(tracking_uri)
    ensure_experiment(tracking_uri, experiment, artifact_location)
    mlflow.set_experiment(experiment)
    with mlflow.start_run(run_id=run_id) as run:
        yield run.info.run_id


def ensure_experiment(tracking_uri: str, name: str, artifact_location: str | None) -> str:
    """Create the experiment if missing, with artifacts where we want them; returns its id.

    With a local (SQLite) backend MLflow would otherwise put artifacts in ./mlruns of whatever
    folder the process runs in.
    """
    from mlflow import MlflowClient

    client = MlflowClient(tracking_uri=tracking_uri)
    existing = client.get_experiment_by_name(name)
    if existing is not None:
        return str(existing.experiment_id)
    return str(client.create_experiment(name, artifact_location=artifact_location))


def log_params_flat(params: Mapping[str, Any], prefix: str = "") -> None:
    """Log nested parameters as dotted keys (MLflow params are flat strings)."""
    import mlflow

    flat: dict[str, str] = {}

    def walk(node: Mapping[str, Any], path: str) -> None:
        for key, value in node.items():
            name = f"{path}{key}"
            if isinstance(value, Mapping):
                walk(value, f"{name}.")
            else:
                flat[name] = str(value)

    walk(params, prefix)
    mlflow.log_params(flat)


def log_epoch(values: Mapping[str, float], step: int) -> None:
    """One epoch's metrics into the active run, as it ends (the curves grow while training runs)."""
    import mlflow

    mlflow.log_metrics({key: float(value) for key, value in values.items()}, step=step)


def log_files(paths: Sequence[Path], artifact_path: str | None = None) -> None:
    """Attach files to the run."""
    import mlflow

    for path in paths:
        mlflow.log_artifact(str(path), artifact_path=artifact_path)


def log_onnx_model(onnx_path: Path, input_example: Any | None = None) -> str:
    """Log the ONNX file as the run's model (mlflow.onnx flavour); returns its model URI."""
    import mlflow
    import onnx

    # One self-contained file: the model server loads model.onnx alone, without MLflow's .data side file.
    info = mlflow.onnx.log_model(
        onnx.load(str(onnx_path)), name="model", input_example=input_example, save_as_external_data=False
    )
    return str(info.model_uri)


def run_url(tracking_uri: str, experiment_id: str, run_id: str) -> str:
    """Where a person finds the run: the UI URL for a server, the backend URI otherwise."""
    if tracking_uri.startswith(("http://", "https://")):
        return f"{tracking_uri.rstrip('/')}/#/experiments/{experiment_id}/runs/{run_id}"
    return (
        f"{tracking_uri} (experiment {experiment_id}, run {run_id}); "
        f"view with `mlflow ui --backend-store-uri {tracking_uri}`"
    )


def artifact_location(settings: Settings) -> str | None:
    """Where a new experiment keeps its artifacts: under GREENR_HOME for a local backend, the
    server's choice (proxied artifacts) for a tracking server."""
    if settings.tracking_uri.startswith(("http://", "https://")):
        return None
    return (settings.home / "mlartifacts").resolve().as_uri()
