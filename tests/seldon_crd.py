"""Validating a SeldonDeployment against Seldon Core 1.18.2's own CRD schema (offline).

The CRD lives next to the repository, in ../shared/schemas/ (in CI the repository is cloned next
to a copy of shared/). Its `openAPIV3Schema` is what the Kubernetes API server checks a
SeldonDeployment against before Seldon's operator ever sees it.
"""

from __future__ import annotations

from functools import cache
from pathlib import Path
from typing import Any

import jsonschema  # type: ignore[import-untyped]  # no stubs in the environment
import yaml

from greenr.settings import REPO_ROOT

CRD_PATH = (
    REPO_ROOT.parent / "shared" / "schemas" / "seldondeployments.machinelearning.seldon.io.v1.18.2.yaml"
)


@cache
def crd_schema(path: Path = CRD_PATH) -> dict[str, Any]:
    """The v1 openAPIV3Schema of the SeldonDeployment CRD."""
    assert path.is_file(), (
        f"the Seldon CRD schema is missing: {path} (../shared/schemas next to the repository)"
    )
    document = yaml.load(path.read_text(), Loader=yaml.CSafeLoader)
    assert document["kind"] == "CustomResourceDefinition"
    assert document["spec"]["group"] == "machinelearning.seldon.io"
    (version,) = [v for v in document["spec"]["versions"] if v["name"] == "v1"]
    schema: dict[str, Any] = version["schema"]["openAPIV3Schema"]
    return schema


def crd_errors(document: dict[str, Any]) -> list[str]:
    """What the CRD schema refuses in `document` ("path: message" each); empty when valid."""
    validator = jsonschema.Draft7Validator(crd_schema())
    return sorted(
        f"{'/'.join(str(part) for part in error.absolute_path)}: {error.message}"
        for error in validator.iter_errors(document)
    )
