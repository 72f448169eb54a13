"""The one fake the Seldon tests allow: a Kubernetes API server, behind the kubernetes client's HTTP pool.

No cluster runs here. Everything above the HTTP call is real: ZenML's Seldon model deployer and
its SeldonDeploymentService, the SeldonClient, the kubernetes client's serialisation. This class
takes the place of `urllib3.PoolManager` in the client's `RESTClientObject`: it records every
request (method, path, JSON body exactly as it would go over the wire) and answers as the API
server would, keeping the objects it was sent. It also plays Seldon's operator in one respect:
a SeldonDeployment it stores is reported `Available`.

`run_deployments` (run as a script in a subprocess: ZenML's state is per process) deploys model versions
through the active stack's deployer with `greenr.deployment.tasks.deploy` and writes the records
and the captured requests as JSON.
"""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path
from typing import Any
from unittest import mock

import urllib3

_OBJECT = re.compile(
    r"^/(?:api/v1|apis/(?P<group>[^/]+)/(?P<version>[^/]+))/namespaces/(?P<namespace>[^/]+)/"
    r"(?P<plural>[^/]+)(?:/(?P<name>[^/?]+))?"
)


class CapturedKubernetes:
    """An in-memory Kubernetes API that records what it is sent."""

    def __init__(self) -> None:
        self.requests: list[dict[str, Any]] = []
        self.objects: dict[str, dict[str, Any]] = {}

    def request(self, method: str, url: str, **kwargs: Any) -> urllib3.HTTPResponse:
        """The `PoolManager.request` the kubernetes client calls."""
        path = urllib3.util.parse_url(url).path or "/"
        body_text = kwargs.get("body")
        body = json.loads(body_text) if body_text else None
        self.requests.append({"method": method, "path": path, "body": body})
        match = _OBJECT.match(path)
        if match is None:
            return _answer(404, _status(404, f"no such resource {path}"))
        collection = path.split("?")[0] if match["name"] is None else path.rsplit("/", 1)[0]
        if method == "POST":
            assert body is not None
            key = f"{collection}/{body['metadata']['name']}"
            if key in self.objects:
                return _answer(409, _status(409, f"{key} already exists"))
            self.objects[key] = self._stored(match["plural"], body)
            return _answer(201, self.objects[key])
        key = f"{collection}/{match['name']}"
        if match["name"] is None:  # a list
            items = [obj for k, obj in self.objects.items() if k.startswith(collection + "/")]
            return _answer(200, {"kind": "List", "items": items})
        if key not in self.objects:
            return _answer(404, _status(404, f"{key} not found"))
        if method == "GET":
            return _answer(200, self.objects[key])
        if method in {"PATCH", "PUT"}:
            assert body is not None
            self.objects[key] = self._stored(match["plural"], body)
            return _answer(200, self.objects[key])
        if method == "DELETE":
            del self.objects[key]
            return _answer(200, _status(200, "deleted"))
        return _answer(405, _status(405, method))

    @staticmethod
    def _stored(plural: str, body: dict[str, Any]) -> dict[str, Any]:
        stored: dict[str, Any] = json.loads(json.dumps(body))
        if plural == "seldondeployments":
            # What Seldon's operator reports once the pods are ready.
            stored["status"] = {"state": "Available", "conditions": []}
        return stored

    def install(self) -> mock._patch[Any]:
        """Patch the kubernetes client so that each REST client it creates talks to this API."""
        from kubernetes.client import rest  # type: ignore[import-untyped]  # no stubs

        original = rest.RESTClientObject.__init__
        capture = self

        def init(client: Any, *args: Any, **kwargs: Any) -> None:
            original(client, *args, **kwargs)
            client.pool_manager = capture

        patcher = mock.patch.object(rest.RESTClientObject, "__init__", init)
        patcher.start()
        return patcher


def _status(code: int, message: str) -> dict[str, Any]:
    return {"kind": "Status", "apiVersion": "v1", "status": "Failure", "message": message, "code": code}


def _answer(status: int, document: dict[str, Any]) -> urllib3.HTTPResponse:
    return urllib3.HTTPResponse(
        body=json.dumps(document).encode(),
        status=status,
        headers={"Content-Type": "application/json"},
        preload_content=True,
    )


def run_deployments(versions: list[str], output: Path) -> None:
    """Deploy each version (an s3:// artifact URI) with the active stack's deployer; write JSON."""
    from greenr.settings import get_settings
    from greenr.zenml_environment import prepare_zenml

    settings = get_settings()
    prepare_zenml(settings)
    capture = CapturedKubernetes()
    capture.install()

    from greenr.deployment.artifact import PublishedModel
    from greenr.deployment.control import active_deployer
    from greenr.deployment.tasks import deploy

    stack, deployer = active_deployer()
    records = []
    for version in versions:
        published = PublishedModel(
            name=settings.model_name,
            version=version,
            uri=f"s3://greenr/models/{settings.model_name}/v{version}",
            sha256="0" * 64,
            created=True,
        )
        records.append(deploy(settings, published, deployer, stack).model_dump())
    output.write_text(json.dumps({"records": records, "requests": capture.requests}, indent=1))


if __name__ == "__main__":
    # `python tests/kubernetes_capture.py OUTPUT VERSION...` from the repository root. ZenML needs
    # a main module file (its source root); the repository's greenr comes first on sys.path.
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
    run_deployments(sys.argv[2:], Path(sys.argv[1]))
