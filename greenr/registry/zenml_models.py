"""ZenML Model versions tied to MLflow registered versions.

A training run works inside a ZenML Model version (the pipeline's `model=`), which collects the
run's artifacts: dataset version, test split, trained model, evaluation. Once MLflow has
registered the model, that ZenML version gets the MLflow version number (as a tag and as
metadata); from then on "which artifacts made MLflow version N" is a lookup, not a rebuild from
run tags. MLflow stays the registry (its `champion` alias decides what is served); the ZenML stage
`production` mirrors it for the ZenML dashboard.
"""

from __future__ import annotations

from typing import TYPE_CHECKING
from uuid import UUID

if TYPE_CHECKING:
    from zenml import Model
    from zenml.models import ModelVersionResponse

MLFLOW_VERSION = "mlflow_version"
DESCRIPTION = "Dandelion vs grass photo classifier (EfficientNet-Lite0, served as ONNX)."


def zenml_model(name: str, version: str | None = None) -> Model:
    """The ZenML Model a pipeline runs in: a new version (training), or the existing version named
    `version` (deployment; ZenML takes a version's name here, not its id)."""
    from zenml import Model

    return Model(name=name, version=version, description=DESCRIPTION)


def mlflow_tag(mlflow_version: str) -> str:
    """The tag that names the MLflow version of a ZenML Model version."""
    return f"mlflow-version-{mlflow_version}"


def link_mlflow_version(
    model_name: str, zenml_version_id: UUID, mlflow_version: str, metadata: dict[str, str]
) -> None:
    """Record on the ZenML Model version which MLflow version it became (tag + metadata)."""
    from zenml import log_metadata
    from zenml.client import Client

    log_metadata(metadata={MLFLOW_VERSION: mlflow_version, **metadata}, model_version_id=zenml_version_id)
    Client().update_model_version(
        model_name_or_id=model_name,
        version_name_or_id=zenml_version_id,
        add_tags=[mlflow_tag(mlflow_version)],
    )


def find_model_version(model_name: str, mlflow_version: str) -> ModelVersionResponse | None:
    """The ZenML Model version that MLflow version `mlflow_version` came from; None when it has none
    (registered before this link existed, or by something other than the training pipeline)."""
    from zenml.client import Client

    client = Client()
    try:
        client.get_model(model_name)
    except KeyError:
        return None
    wanted = mlflow_tag(mlflow_version)
    # The tag filter matches substrings (version 1 would find 10): check the exact tag and metadata.
    for version in client.list_model_versions(
        model_name_or_id=model_name, tags=wanted, size=100, hydrate=True
    ):
        if (
            wanted in {tag.name for tag in version.tags}
            and str(version.run_metadata.get(MLFLOW_VERSION)) == mlflow_version
        ):
            return version
    return None


def mark_production(model_name: str, mlflow_version: str) -> bool:
    """Put the ZenML Model version of `mlflow_version` in stage `production` (the one there moves
    to `archived`); False when that MLflow version has no ZenML Model version."""
    from zenml.enums import ModelStages

    version = find_model_version(model_name, mlflow_version)
    if version is None:
        return False
    version.set_stage(ModelStages.PRODUCTION, force=True)
    return True
