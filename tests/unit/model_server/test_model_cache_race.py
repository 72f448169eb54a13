"""Two model server workers fetching the same artifact at once (gunicorn starts them together)."""

from __future__ import annotations

import shutil
from pathlib import Path

from model_server_kit import write_artifact
from trained_model_kit import tiny_onnx_model

from serving.inference import check_model
from serving.model_store import LocalSource, _fetch_into_cache, parse_metadata


class _SlowerThanTheOtherWorker(LocalSource):
    """Downloads the model, but another worker moves the same content into the cache meanwhile."""

    def __init__(self, uri: str, root: Path, cache: Path, other_worker_copy: Path) -> None:
        super().__init__(uri, root)
        self._cache = cache
        self._other = other_worker_copy
        self.placed_inode: int | None = None  # of the model file the other worker put in place

    def download(self, name: str, destination: Path) -> None:
        super().download(name, destination)
        target = self._cache / "artifacts" / self._other.name
        if not target.exists():
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copytree(self._other, target)
            self.placed_inode = (target / name).stat().st_ino


def test_a_complete_copy_another_worker_made_meanwhile_is_kept_in_place(tmp_path: Path) -> None:
    published = write_artifact(tmp_path / "published", tiny_onnx_model(8, embedding=True), input_size=8)
    sha256 = parse_metadata((published / "metadata.json").read_bytes()).sha256
    other_worker_copy = tmp_path / "other" / sha256
    shutil.copytree(published, other_worker_copy)
    cache = tmp_path / "cache"
    source = _SlowerThanTheOtherWorker(str(published), published, cache, other_worker_copy)

    resolved = _fetch_into_cache(source, cache, check_model)

    model = cache / "artifacts" / sha256 / "model.onnx"
    assert resolved.model_path == model
    # The other worker may be loading this very file: it was neither deleted nor replaced.
    assert source.placed_inode is not None
    assert model.stat().st_ino == source.placed_inode
    assert list((cache / "incoming").iterdir()) == []  # this worker's download was dropped
