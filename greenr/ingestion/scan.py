"""Finding candidate files in a source folder laid out as one sub-folder per class."""

from __future__ import annotations

from collections.abc import Collection
from pathlib import Path

from pydantic import BaseModel, ConfigDict

from greenr.dataset.records import Rejection, RejectReason


class SourceError(RuntimeError):
    """The source folder is unusable as a whole (missing, empty, not a folder)."""


class SourceFile(BaseModel):
    """A file found under a class folder; `label` is that folder's name."""

    model_config = ConfigDict(frozen=True)

    path: Path
    label: str


class ScanResult(BaseModel):
    """Candidates to screen, files refused because of where they are, and missing class folders."""

    source: str
    files: list[SourceFile]
    rejections: list[Rejection]
    missing_labels: list[str]


def _not_a_file(path: Path) -> str:
    if path.is_symlink() and not path.exists():
        return "a broken symbolic link: nothing to read; remove it or point it at a photo"
    return "not a regular file (a device, a named pipe or a socket): not read; put the photo itself here"


def scan_source(root: Path, labels: Collection[str]) -> ScanResult:
    """List files under `root/<label>/`, sorted; files in other folders are rejected, and so are
    entries that are not regular files (never read).

    Files at the top of the source folder (a README, a list of source URLs) are documentation,
    not candidates, and hidden files (.DS_Store) are never photos: both are ignored.
    """
    if not root.exists():
        raise SourceError(f"source folder {root} does not exist: pass --source DIR or set GREENR_SOURCE_DIR")
    if not root.is_dir():
        raise SourceError(f"source {root} is not a folder: it must hold one sub-folder per class")
    files: list[SourceFile] = []
    rejections: list[Rejection] = []
    for path in sorted(root.rglob("*")):
        relative = path.relative_to(root)
        if any(part.startswith(".") for part in relative.parts) or len(relative.parts) == 1 or path.is_dir():
            continue
        folder = relative.parts[0]
        if not path.is_file():
            # Reading a symbolic link to /dev/zero or a named pipe would never end: say so, skip it.
            rejections.append(
                Rejection(
                    path=str(path),
                    reason=RejectReason.NOT_A_FILE,
                    detail=_not_a_file(path),
                    label=folder if folder in labels else None,
                )
            )
            continue
        if folder in labels:
            files.append(SourceFile(path=path, label=folder))
        else:
            rejections.append(
                Rejection(
                    path=str(path),
                    reason=RejectReason.UNKNOWN_CLASS,
                    detail=f"folder {folder!r} is not a known class ({', '.join(sorted(labels))}); "
                    "rename it or add the class to the validation suite",
                )
            )
    missing = sorted(label for label in labels if not (root / label).is_dir())
    if not files and not rejections:
        raise SourceError(
            f"source folder {root} holds no files: expected sub-folders {', '.join(sorted(labels))}"
        )
    return ScanResult(source=str(root), files=files, rejections=rejections, missing_labels=missing)
