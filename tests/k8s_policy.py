"""The security and operations rules every workload of k8s/ must follow, as plain functions
(each returns what a document breaks, so a test can also show that a broken one is caught)."""

from __future__ import annotations

from typing import Any

from k8s_build import pod_specs

PROBES = ("livenessProbe", "readinessProbe", "startupProbe")


def security_problems(document: dict[str, Any]) -> list[str]:
    """What breaks the restricted profile: non-root, seccomp RuntimeDefault, read-only root file
    system, no privilege escalation, every capability dropped."""
    name = f"{document['kind']}/{document['metadata']['name']}"
    problems = []
    for spec in pod_specs(document):
        pod = spec.get("securityContext", {})
        if pod.get("runAsNonRoot") is not True:
            problems.append(f"{name}: pod securityContext.runAsNonRoot is not true")
        if pod.get("seccompProfile", {}).get("type") != "RuntimeDefault":
            problems.append(f"{name}: pod seccompProfile is not RuntimeDefault")
        for container in spec.get("containers", []) + spec.get("initContainers", []):
            where = f"{name} container {container['name']}"
            context = container.get("securityContext", {})
            if context.get("readOnlyRootFilesystem") is not True:
                problems.append(f"{where}: readOnlyRootFilesystem is not true")
            if context.get("allowPrivilegeEscalation") is not False:
                problems.append(f"{where}: allowPrivilegeEscalation is not false")
            if context.get("capabilities", {}).get("drop") != ["ALL"]:
                problems.append(f"{where}: capabilities.drop is not [ALL]")
            if context.get("privileged"):
                problems.append(f"{where}: privileged")
    return problems


def operations_problems(document: dict[str, Any]) -> list[str]:
    """What a container lacks to be scheduled and watched: requests and limits of CPU and memory,
    and (for servers, not Jobs) liveness, readiness and startup probes."""
    name = f"{document['kind']}/{document['metadata']['name']}"
    problems = []
    for spec in pod_specs(document):
        for container in spec.get("containers", []):
            where = f"{name} container {container['name']}"
            resources = container.get("resources", {})
            for kind in ("requests", "limits"):
                missing = {"cpu", "memory"} - set(resources.get(kind, {}))
                if missing:
                    problems.append(f"{where}: no {kind} for {sorted(missing)}")
            # Seldon adds the probes of its own container; Jobs end.
            if document["kind"] not in {"Job", "SeldonDeployment"}:
                problems.extend(f"{where}: no {probe}" for probe in PROBES if probe not in container)
    return problems
