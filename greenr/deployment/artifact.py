"""The serving artifact of a registered version: model.onnx + metadata.json (serving/README.md),
and the version's feature reference files next to them (feature_reference.json, read by the
monitoring pipeline; embedding_reduction.json and open_set.json, read by the model server).

metadata.json is `greenr.contracts.ServingMetadata`; its input size is read from the ONNX graph
itself, so a model trained at any `image_size` is announced at the size it takes.
"""

from __future__ import annotations

import hashlib
import logging
import math
import tempfile
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

from pydantic import BaseModel

from greenr.contracts import MODEL_CARD_FILE, ServingMetadata, artifact_prefix
from greenr.features.embedding_reduction import REDUCTION_FILE
from greenr.features.reference import REFERENCE_FILE
from greenr.open_set.scorer import OPEN_SET_FILE
from greenr.registry import model_registry
from greenr.registry.model_registry import VersionInfo
from greenr.storage.object_store import ObjectStore
from greenr.training.feature_reference import REFERENCE_ARTIFACT_PATH
from greenr.training.model_card import MODEL_CARD_ARTIFACT_PATH
from greenr.training.open_set import OPEN_SET_ARTIFACT_PATH

if TYPE_CHECKING:
    import onnx

log = logging.getLogger(__name__)


class PublishedModel(BaseModel):
    """Where the model server finds a version, and what it is."""

    name: str
    version: str
    uri: str
    sha256: str
    created: bool


class ModelSignatureError(ValueError):
    """The ONNX graph does not take what the model server feeds: float32 N x S x S x 3."""


def onnx_input_size(model: onnx.ModelProto) -> int:
    """S of the graph's one input, float32 N x S x S x 3 (N free): the size the model was trained at.

    Raises:
        ModelSignatureError: not one input, or not a fixed square RGB shape.
    """
    # Older exporters list the weights among the inputs too.
    weights = {initializer.name for initializer in model.graph.initializer}
    inputs = [value for value in model.graph.input if value.name not in weights]
    if len(inputs) != 1:
        raise ModelSignatureError(f"the ONNX graph has {len(inputs)} inputs, expected 1 (the image batch)")
    shape = inputs[0].type.tensor_type.shape.dim
    dims = [dim.dim_value if dim.HasField("dim_value") else None for dim in shape]
    if len(dims) != 4 or dims[1] is None or dims[1] != dims[2] or dims[3] != 3:
        raise ModelSignatureError(f"the ONNX graph's input has shape {dims}, expected [N, S, S, 3]")
    return int(dims[1])


def metadata_document(
    info: VersionInfo, alias: str, labels: Sequence[str], onnx_sha256: str, input_size: int
) -> ServingMetadata:
    """metadata.json of the serving artifact, from the version's registry tags and its graph."""
    metrics = {
        key: float(value) for key, value in info.tags.items() if key.startswith("test_") and _is_number(value)
    }
    return ServingMetadata(
        model_name=info.name,
        version=info.version,
        alias=alias,
        labels=tuple(labels),
        input_size=input_size,
        metrics=metrics,
        dataset_version=info.tags.get("dataset_version", "unknown"),
        exported_at=datetime.now(UTC).isoformat(timespec="seconds"),
        sha256=onnx_sha256,
    )


def _is_number(value: str) -> bool:
    # Finite only: JSON has no NaN (pydantic writes it as null, which the schema refuses).
    try:
        return math.isfinite(float(value))
    except ValueError:
        return False


def registered_onnx(tracking_uri: str, info: VersionInfo) -> onnx.ModelProto:
    """The ONNX model of a registered version, downloaded from the registry."""
    with tempfile.TemporaryDirectory() as tmp:
        local = model_registry.download_version(tracking_uri, info.name, info.version, Path(tmp))
        onnx_files = list(local.rglob("*.onnx"))
        if len(onnx_files) != 1:
            raise model_registry.RegistryError(
                f"{info.name} version {info.version} holds {len(onnx_files)} ONNX files, expected 1"
            )
        # Loaded through onnx so weights kept as external data end up inside the one file the
        # model server loads. Imported here: `python -m greenr.deployment status` reads this module
        # and never loads a model.
        import onnx

        return onnx.load(str(onnx_files[0]))


# Files of the training run published next to model.onnx: (artifact folder in the run, file name).
COMPANION_FILES = (
    (REFERENCE_ARTIFACT_PATH, REFERENCE_FILE),
    (REFERENCE_ARTIFACT_PATH, REDUCTION_FILE),
    (MODEL_CARD_ARTIFACT_PATH, MODEL_CARD_FILE),
    (OPEN_SET_ARTIFACT_PATH, OPEN_SET_FILE),
)


def reference_files_of(tracking_uri: str, info: VersionInfo) -> dict[str, bytes]:
    """The version's companion files (feature reference, embedding reduction, model card, open-set
    scorer) from its
    training run's MLflow artifacts (file name -> bytes); those the run lacks are left out (versions
    trained before them), and all of them for a version registered without a run."""
    if info.run_id is None:
        return {}
    files = {}
    for folder, name in COMPANION_FILES:
        data = model_registry.download_run_file(tracking_uri, info.run_id, f"{folder}/{name}")
        if data is not None:
            files[name] = data
    return files


def publish_version(
    tracking_uri: str,
    store: ObjectStore,
    info: VersionInfo,
    alias: str,
    labels: Sequence[str],
    onnx_file: bytes | None = None,
    reference_files: dict[str, bytes] | None = None,
) -> PublishedModel:
    """Copy a registered version into the store as a serving artifact (skipped when present): its
    ONNX file when the caller has it (`onnx_file`), else the one downloaded from the registry; its
    feature reference files likewise (`reference_files`: file name -> bytes, else the training
    run's, see `reference_files_of`), added to an artifact published before them.

    model.onnx and the reference files are written before metadata.json, so a reader never finds
    metadata announcing a model that is not there yet.
    """
    prefix = artifact_prefix(info.name, info.version)
    present = store.existing_keys(prefix)
    wanted = {f"{prefix}/{name}" for _, name in COMPANION_FILES}
    if not wanted <= present:
        files = reference_files if reference_files is not None else reference_files_of(tracking_uri, info)
        if REFERENCE_FILE not in files and f"{prefix}/{REFERENCE_FILE}" not in present:
            log.warning(
                "%s version %s has no feature reference (trained before them): monitoring cannot compare "
                "its predictions, and their embedding columns stay empty",
                info.name,
                info.version,
            )
        if MODEL_CARD_FILE not in files and f"{prefix}/{MODEL_CARD_FILE}" not in present:
            log.warning("%s version %s has no model card (trained before them)", info.name, info.version)
        for name, data in sorted(files.items()):
            if f"{prefix}/{name}" not in present:
                store.put(f"{prefix}/{name}", data)
    if {f"{prefix}/model.onnx", f"{prefix}/metadata.json"} <= present:
        metadata = ServingMetadata.model_validate_json(store.get(f"{prefix}/metadata.json"))
        return PublishedModel(
            name=info.name,
            version=info.version,
            uri=store.uri(prefix),
            sha256=metadata.sha256,
            created=False,
        )
    import onnx

    model = onnx.load_from_string(onnx_file) if onnx_file is not None else registered_onnx(tracking_uri, info)
    data = model.SerializeToString()
    sha = hashlib.sha256(data).hexdigest()
    document = metadata_document(info, alias, labels, sha, onnx_input_size(model))
    store.put(f"{prefix}/model.onnx", data)
    store.put(f"{prefix}/metadata.json", document.model_dump_json(indent=1).encode())
    return PublishedModel(
        name=info.name, version=info.version, uri=store.uri(prefix), sha256=sha, created=True
    )
