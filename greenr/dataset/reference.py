"""The reference dataset on a machine that has none: fetched as an archive, every photo checked.

    python -m greenr.dataset.reference ensure     prints the folder to ingest (fetching if needed)

The default source (GREENR_SOURCE_DIR, else ../shared/data/greenr) is used when it exists. Else
the archive at GREENR_REFERENCE_DATASET_URL (default: btphan95/greenr-airflow at the pinned
commit, whose data/ folder is the reference dataset) is downloaded, and every photo named in
reference_sha256.txt (made from the 400 photos, `sha256  <class>/<name>`) must be in it with that
exact hash. Photos are extracted into a temporary folder that becomes <GREENR_HOME>/reference-dataset
only when all 400 are good, so a corrupted or truncated download leaves nothing to ingest.
"""

from __future__ import annotations

import hashlib
import shutil
import sys
import tarfile
import tempfile
import zipfile
import zlib
from collections.abc import Iterator
from pathlib import Path, PurePosixPath

import httpx

from greenr.settings import Settings, SettingsError, get_settings

SUMS_FILE = Path(__file__).with_name("reference_sha256.txt")
# The archive of the whole tutorial repository is a few MB; anything far larger is not it.
MAX_ARCHIVE_BYTES = 200_000_000


class ReferenceDatasetError(RuntimeError):
    """The reference dataset could not be fetched or verified (the message says what to do)."""


def expected_sums(path: Path = SUMS_FILE) -> dict[str, str]:
    """`<class>/<name>` -> sha256, from the committed list."""
    sums: dict[str, str] = {}
    for line in path.read_text().splitlines():
        if line.strip():
            digest, name = line.split(maxsplit=1)
            sums[name.strip()] = digest
    return sums


def ensure_source(settings: Settings, timeout_seconds: float = 60.0) -> Path:
    """The folder to ingest: the configured source when present, else the verified reference copy."""
    if settings.source_dir.is_dir():
        return settings.source_dir
    target = settings.home / "reference-dataset"
    sums = expected_sums()
    if target.is_dir() and _verified_folder(target, sums):
        return target
    fetch_reference(settings.reference_dataset_url, target, sums, timeout_seconds)
    return target


def fetch_reference(url: str, target: Path, sums: dict[str, str], timeout_seconds: float) -> None:
    """Download the archive at `url` and install its verified photos at `target` (all or nothing)."""
    target.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=target.parent, prefix=".reference-") as tmp:
        archive = Path(tmp) / "archive"
        _download(url, archive, timeout_seconds)
        staged = Path(tmp) / "photos"
        _extract_verified(archive, staged, sums)
        if target.exists():
            shutil.rmtree(target)
        staged.rename(target)


def _download(url: str, path: Path, timeout_seconds: float) -> None:
    try:
        with (
            httpx.stream("GET", url, timeout=timeout_seconds, follow_redirects=True) as response,
            path.open("wb") as out,
        ):
            if response.status_code != 200:
                raise ReferenceDatasetError(f"{url} answered HTTP {response.status_code}")
            size = 0
            for chunk in response.iter_bytes():
                size += len(chunk)
                if size > MAX_ARCHIVE_BYTES:
                    raise ReferenceDatasetError(f"{url} sent more than {MAX_ARCHIVE_BYTES} bytes")
                out.write(chunk)
    except httpx.HTTPError as error:
        raise ReferenceDatasetError(f"cannot download {url} ({type(error).__name__}: {error})") from None


def _members(archive: Path) -> Iterator[tuple[str, bytes]]:
    """(path inside the archive, bytes) of every regular file of a .tar(.gz) or .zip archive."""
    if zipfile.is_zipfile(archive):
        with zipfile.ZipFile(archive) as zipped:
            for info in zipped.infolist():
                if not info.is_dir():
                    yield info.filename, zipped.read(info)
        return
    with tarfile.open(archive) as tar:
        for member in tar:
            if member.isfile():
                handle = tar.extractfile(member)
                if handle is not None:
                    yield member.name, handle.read()


def _extract_verified(archive: Path, staged: Path, sums: dict[str, str]) -> None:
    """Write every listed photo to `staged/<class>/<name>`; refuse on any missing or wrong photo."""
    found: dict[str, bytes] = {}
    try:
        for name, data in _members(archive):
            # GitHub archives put everything under <repo>-<commit>/; the photos under data/<class>/.
            key = "/".join(PurePosixPath(name).parts[-2:])
            if key in sums:
                found[key] = data
    except (tarfile.TarError, zipfile.BadZipFile, zlib.error, EOFError, OSError) as error:
        problem = f"{type(error).__name__}: {error}"
        raise ReferenceDatasetError(f"the archive is corrupt or truncated ({problem})") from None
    missing = sorted(set(sums) - set(found))
    if missing:
        raise ReferenceDatasetError(
            f"the archive lacks {len(missing)} of {len(sums)} photos (first: {missing[0]})"
        )
    wrong = sorted(key for key, data in found.items() if hashlib.sha256(data).hexdigest() != sums[key])
    if wrong:
        raise ReferenceDatasetError(
            f"{len(wrong)} photos do not match reference_sha256.txt (first: {wrong[0]})"
        )
    for key, data in found.items():
        path = staged / key
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)


def _verified_folder(folder: Path, sums: dict[str, str]) -> bool:
    """True when `folder` holds exactly the listed photos with their hashes (a previous fetch)."""
    return all(
        (folder / key).is_file() and hashlib.sha256((folder / key).read_bytes()).hexdigest() == digest
        for key, digest in sums.items()
    )


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if args != ["ensure"]:
        print("usage: python -m greenr.dataset.reference ensure", file=sys.stderr)
        return 2
    try:
        settings = get_settings()
        print(ensure_source(settings))
    except SettingsError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    except ReferenceDatasetError as error:
        print(
            f"error: no photos at {settings.source_dir} and the reference dataset could not be fetched: "
            f"{error}; point the quickstart at your photos with --source DIR (one sub-folder per class: "
            "dandelion/, grass/) or set GREENR_REFERENCE_DATASET_URL",
            file=sys.stderr,
        )
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
