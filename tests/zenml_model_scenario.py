"""Eleven ZenML Model versions linked to MLflow versions 1-11, looked up and staged; prints JSON.

`python tests/zenml_model_scenario.py MODEL`, run in a subprocess with its own GREENR_HOME by
tests/integration/test_zenml_models.py (ZenML's store is chosen per process, at import).
"""

from __future__ import annotations

import json
import sys
from typing import Any


def scenario(model: str) -> dict[str, Any]:
    from zenml.client import Client

    from greenr.registry.zenml_models import find_model_version, link_mlflow_version, mark_production

    client = Client()
    result: dict[str, Any] = {"before_model_exists": find_model_version(model, "1") is None}
    client.create_model(name=model)
    ids = {}
    for number in range(1, 12):
        version = client.create_model_version(model_name_or_id=model, name=f"zenml-{number}")
        # ZenML version k became MLflow version k (a failed training would shift them: the link
        # is what maps one to the other).
        link_mlflow_version(model, version.id, str(number), {"mlflow_run_id": f"run-{number}"})
        ids[str(number)] = version.name
    unlinked = client.create_model_version(model_name_or_id=model, name="not-registered")
    found = {n: (v.name if (v := find_model_version(model, n)) else None) for n in ("1", "10", "11", "12")}
    result["found"] = found
    first = find_model_version(model, "1")
    result["metadata_1"] = {k: str(v) for k, v in first.run_metadata.items()} if first else {}
    result["mark_1"] = mark_production(model, "1")
    result["mark_10"] = mark_production(model, "10")
    result["mark_missing"] = mark_production(model, "99")
    versions = client.list_model_versions(model, size=50)
    stages = {v.name: str(v.stage) if v.stage else None for v in versions}
    result["stages"] = {name: stages[name] for name in ("zenml-1", "zenml-10", unlinked.name)}
    return result


if __name__ == "__main__":
    from greenr.settings import get_settings
    from greenr.zenml_environment import prepare_zenml

    prepare_zenml(get_settings())
    print(json.dumps(scenario(sys.argv[1])))
