"""Deploy model artifacts through the active stack's model deployer, without MLflow; print the records.

    python tests/deploy_artifact.py VERSION=ARTIFACT_URI [...]     (from the repository root)

What the deployment pipeline's last step does (`greenr.deployment.tasks.deploy`), for an
artifact folder a test made itself: the pipeline's registry and publishing steps are tested
with a real MLflow server in test_training_pipeline.py. One JSON record per line on stdout.
Run as a script in a subprocess: ZenML's state is per process and it needs a main module file.
"""

from __future__ import annotations

import sys
from pathlib import Path


def main(pairs: list[str]) -> None:
    from greenr.settings import get_settings
    from greenr.zenml_environment import prepare_zenml

    settings = get_settings()
    prepare_zenml(settings)
    from greenr.deployment.artifact import PublishedModel
    from greenr.deployment.control import active_deployer
    from greenr.deployment.tasks import deploy

    stack, deployer = active_deployer()
    for pair in pairs:
        version, uri = pair.split("=", 1)
        published = PublishedModel(
            name=settings.model_name, version=version, uri=uri, sha256="", created=True
        )
        print(deploy(settings, published, deployer, stack).model_dump_json(), flush=True)


if __name__ == "__main__":
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # the repository's greenr first
    main(sys.argv[1:])
