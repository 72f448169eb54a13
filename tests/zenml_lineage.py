"""Print, as JSON, what ZenML knows of a registered model version: `python tests/zenml_lineage.py
MODEL MLFLOW_VERSION`. Run in a subprocess by the pipeline tests (ZenML's state is per process).
"""

from __future__ import annotations

import json
import sys
from typing import Any


def lineage(model_name: str, mlflow_version: str) -> dict[str, Any]:
    from zenml.client import Client

    from greenr.registry.zenml_models import find_model_version

    version = find_model_version(model_name, mlflow_version)
    if version is None:
        return {"found": False}
    client = Client()
    runs = client.list_pipeline_runs(model_version_id=version.id, size=50, hydrate=True)
    deployments = []
    for run in runs:
        if run.pipeline is None or run.pipeline.name != "deployment_pipeline":
            continue
        publish = run.steps.get("publish_model_step")
        inputs = publish.inputs if publish else {}
        publish_inputs = {name: [str(a.id) for a in artifacts] for name, artifacts in inputs.items()}
        deployments.append({"status": str(run.status), "publish_inputs": publish_inputs})
    trained = version.get_model_artifact("trained_model")
    return {
        "found": True,
        "stage": str(version.stage) if version.stage else None,
        "tags": sorted(tag.name for tag in version.tags),
        "metadata": {k: str(v) for k, v in version.run_metadata.items()},
        "model_artifacts": sorted(version.model_artifact_ids),
        "data_artifacts": sorted(version.data_artifact_ids),
        "trained_model_id": str(trained.id) if trained else None,
        "trained_model_metadata": {k: str(v) for k, v in trained.run_metadata.items()} if trained else {},
        "training_runs": [r.id.hex for r in runs if r.pipeline and r.pipeline.name == "training_pipeline"],
        "deployments": deployments,
    }


if __name__ == "__main__":
    from greenr.settings import get_settings
    from greenr.zenml_environment import prepare_zenml

    prepare_zenml(get_settings())
    print(json.dumps(lineage(sys.argv[1], sys.argv[2]), default=str))
