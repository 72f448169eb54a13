"""The import graph has no arrows running back up (STYLE.md, habit 13), read from the source with ast.

Every import counts, wherever it is written: at the top, inside a function, under TYPE_CHECKING.
Each greenr package sits on a floor and imports only from lower floors; so two packages on one
floor (ingestion and validation) never import each other, and a new package must be given a
floor here before anything imports it. The rules the issue named are also spelled out one by one,
so a failure says which one broke.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from functools import cache
from pathlib import Path

import pytest

from greenr.settings import REPO_ROOT

TOP_LEVEL = ("greenr", "serving", "ui", "steps", "pipelines", "materializers", "stacks")

# Lower numbers are lower floors. A module of greenr that is not a package is its own "package".
FLOORS: dict[str, int] = {
    # Facts and settings, read by everything; import nothing of greenr.
    "greenr.contracts": 0,
    "greenr.settings": 0,
    "greenr.provenance": 0,
    # Reading run-parameter YAML files into validated models, with one-line errors (PyYAML, pydantic).
    "greenr.config_files": 0,
    # The shape of a log line and the request id, for every service (standard library only).
    "greenr.json_logging": 0,
    # numpy + Pillow only: the model server's environment imports it.
    "greenr.images": 0,
    # The feature definitions (standard library + PyYAML; the model server reads them) and the
    # reference format.
    "greenr.features": 0,
    # The open-set score and its file (numpy only; the model server applies it).
    "greenr.open_set": 0,
    # What a dataset is made of; the object store; the network; the ONNX export and runtime.
    "greenr.dataset": 1,
    "greenr.storage": 1,
    "greenr.model": 1,
    "greenr.export": 1,
    "greenr.registry": 1,
    # What scripts/services.sh asks of Python: S3 keys and readiness probes.
    "greenr.local_services": 1,
    # What scripts/container_test.sh asks of Python: build, run and probe the images (contracts,
    # settings and provenance only).
    "greenr.containers": 1,
    # Running a server in the background: process groups, pid files, readiness (settings only).
    "greenr.supervision": 1,
    # The quickstart's closing summary (settings only).
    "greenr.quickstart_summary": 1,
    # One resolved setting for the shell scripts (settings only).
    "greenr.settings_cli": 1,
    # Pushed metric names, pushing, and the monitoring servers' configs (settings only).
    "greenr.observability": 1,
    # The catalog stores the dataset's records.
    "greenr.catalog": 2,
    "greenr.resources": 3,
    # Building datasets and checking them: side by side, neither imports the other.
    "greenr.ingestion": 4,
    "greenr.validation": 4,
    "greenr.training": 5,
    # Production windows against the references, feedback, the retrain policy; the API reads it.
    "greenr.monitoring": 5,
    "greenr.deployment": 6,
    # Explanations (Grad-CAM of the Keras model that training saved); the API serves them.
    "greenr.explain": 6,
    "greenr.api": 7,
    # What the entry points need: user errors from every stage, ZenML set-up, run failures.
    "greenr.errors": 7,
    "greenr.zenml_environment": 7,
    "greenr.pipeline_failures": 7,
}


def module_name(path: Path) -> str:
    parts = list(path.relative_to(REPO_ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts = parts[:-1]
    return ".".join(parts)


def imported_modules(path: Path) -> Iterator[str]:
    """Every module an import statement of the file names (relative imports resolved)."""
    package = module_name(path).split(".")
    if path.name != "__init__.py":
        package = package[:-1]
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), filename=str(path))):
        if isinstance(node, ast.Import):
            yield from (alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = ".".join(package[: len(package) - node.level + 1]) if node.level else ""
            module = ".".join(part for part in (base, node.module or "") if part)
            yield module
            # `from greenr import contracts` imports greenr.contracts.
            yield from (f"{module}.{alias.name}" for alias in node.names)


@cache
def import_graph() -> dict[str, frozenset[str]]:
    """Module -> the project modules it imports, for every project module."""
    graph: dict[str, frozenset[str]] = {}
    for top in TOP_LEVEL:
        for path in sorted((REPO_ROOT / top).rglob("*.py")):
            if "migrations" in path.parts and path.parts[-2] == "versions":
                continue
            names = {name for name in imported_modules(path) if name.split(".")[0] in TOP_LEVEL}
            graph[module_name(path)] = frozenset(names)
    return graph


def within(name: str, prefix: str) -> bool:
    return name == prefix or name.startswith(prefix + ".")


def floor_package(name: str) -> str | None:
    """The FLOORS key a greenr module belongs to (None for greenr itself)."""
    parts = name.split(".")
    return ".".join(parts[:2]) if len(parts) >= 2 else None


def edges(source: str, target: str) -> list[tuple[str, str]]:
    """(importer, imported) for each import of `target` (or below) by `source` (or below)."""
    return sorted(
        (module, imported)
        for module, imports in import_graph().items()
        if within(module, source)
        for imported in imports
        if within(imported, target)
    )


def test_the_graph_is_read() -> None:
    graph = import_graph()
    assert "greenr.contracts" in graph["greenr.api.schemas"]
    assert "greenr.images.preprocess" in graph["serving.inference"]


def test_every_greenr_package_has_a_floor() -> None:
    packages = {floor_package(module) for module in import_graph() if within(module, "greenr")}
    missing = sorted(package for package in packages - set(FLOORS) if package is not None)
    assert not missing, f"give these packages a floor in FLOORS: {missing}"


def test_greenr_imports_only_from_lower_floors() -> None:
    upward = []
    for module, imports in import_graph().items():
        source = floor_package(module)
        # `python -m greenr.<package>` commands are entry points, like run.py: they stand above
        # every floor (greenr.deployment's sets ZenML up before asking the stack's deployer).
        if source is None or source not in FLOORS or module.endswith(".__main__"):
            continue
        for imported in imports:
            target = floor_package(imported)
            if imported.split(".")[0] != "greenr":
                upward.append((module, imported))  # greenr never imports the entry points
            elif target is not None and target != source and FLOORS[target] >= FLOORS[source]:
                upward.append((module, imported))
    assert not upward, f"imports running up or sideways: {upward}"


@pytest.mark.parametrize(
    ("source", "target"),
    [
        ("greenr.catalog", "greenr.ingestion"),
        ("greenr.ingestion", "greenr.validation"),
        ("greenr.validation", "greenr.ingestion"),
        ("greenr.storage", "greenr.catalog"),
        ("greenr.dataset", "greenr.catalog"),
        ("greenr.contracts", "greenr"),
    ],
)
def test_forbidden_arrow_is_absent(source: str, target: str) -> None:
    found = [(module, imported) for module, imported in edges(source, target) if not within(imported, source)]
    assert not found, f"{source} must not import {target}: {found}"


def test_the_model_server_imports_only_greenr_images_features_open_set_and_json_logging() -> None:
    # Its environment has numpy, Pillow, PyYAML, onnxruntime, boto3 and seldon-core: nothing else
    # of greenr but the image decoding, the feature columns and the log line's shape (standard
    # library only). Not the reference format: it needs pydantic.
    found = [(module, imported) for module, imported in edges("serving", "greenr") if imported != "greenr"]
    assert found, "the model server decodes images with greenr.images"
    allowed = ("greenr.images", "greenr.features", "greenr.open_set", "greenr.json_logging")
    assert all(any(within(imported, a) for a in allowed) for _, imported in found), found
    assert not [(m, i) for m, i in found if within(i, "greenr.features.reference")], found
    # (serving/environment_check.py checks, in the server's environment, that they pull in no pydantic.)


def test_greenr_images_imports_nothing_else_of_the_project() -> None:
    graph = import_graph()
    for module, imports in graph.items():
        if within(module, "greenr.images"):
            assert all(within(imported, "greenr.images") for imported in imports), (module, imports)


def test_the_web_app_reaches_greenr_only_for_contracts_settings_log_lines_and_supervision() -> None:
    # It talks to the API over HTTP: no catalog, no model, no API internals. `ui.daemon` runs it
    # in the background with the project's supervisor.
    allowed = ("greenr.contracts", "greenr.settings", "greenr.json_logging", "greenr.supervision")
    found = [(m, i) for m, i in edges("ui", "greenr") if not any(within(i, a) for a in allowed)]
    assert not found, found


def test_trained_models_travel_as_artifacts_not_object_store_keys() -> None:
    # The trained model is a ZenML artifact (materializers/trained_model_materializer.py); nothing
    # writes it under models/runs/<run>/ and passes the key string along any more.
    for top in ("greenr", "steps", "pipelines"):
        for path in (REPO_ROOT / top).rglob("*.py"):
            assert "models/runs" not in path.read_text(encoding="utf-8"), path
