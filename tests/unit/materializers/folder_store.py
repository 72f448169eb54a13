"""The one artifact-store call our materializers make (`open`), on a local folder.

Pipelines use ZenML's real artifact stores (local folder or S3: tests/integration); this keeps the
materializer tests about the files they write and read.
"""

from __future__ import annotations

from typing import IO, Any, cast

from zenml.artifact_stores import BaseArtifactStore


class FolderStore:
    def open(self, path: str, mode: str = "r") -> IO[Any]:
        return open(path, mode)


def folder_store() -> BaseArtifactStore:
    return cast(BaseArtifactStore, FolderStore())
