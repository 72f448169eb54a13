"""Questions the Airflow DAGs ask between pipeline runs, answered by exit status.

    python -m greenr.ingestion.landing pending SOURCE
        exit 0 and print the latest dataset version id ("none" before the first) when SOURCE holds
        photos the catalog has never judged; exit 99 when there is nothing new
    python -m greenr.ingestion.landing new-training-photos SINCE
        exit 0 and print how many when the latest dataset version is not SINCE and has training
        photos SINCE did not have; exit 99 otherwise

99 is what Airflow's BashOperator reads as "skip this task" (its `skip_on_exit_code`), so a DAG
with nothing to do ends skipped instead of failed, and runs nothing downstream.
A URL list is always "pending": finding out would mean downloading it, which is the ingestion.
"""

from __future__ import annotations

import argparse
import hashlib
import sys
from collections.abc import Collection
from pathlib import Path

from greenr.catalog.database import CatalogUnavailable
from greenr.catalog.repository import get_dataset_version, known_content_hashes, latest_dataset_version
from greenr.dataset.rules import ImageRules
from greenr.ingestion.scan import SourceError
from greenr.ingestion.sources import source_kind, stage_source
from greenr.resources import catalog_engine
from greenr.settings import Settings, SettingsError, get_settings
from greenr.storage.object_store import StorageUnavailable

NOTHING_TO_DO = 99


def unjudged_photos(folder: Path, labels: Collection[str], known: set[str]) -> list[Path]:
    """Files under `folder/<label>/` whose content the catalog has not seen."""
    return [
        path
        for label in sorted(labels)
        for path in sorted((folder / label).glob("*"))
        if path.is_file()
        and not path.name.startswith(".")
        and hashlib.sha256(path.read_bytes()).hexdigest() not in known
    ]


def landing_hint(folder: Path, labels: Collection[str]) -> str | None:
    """Why a local landing folder offers nothing, when a person may not expect that; else None.

    Nothing new is the normal state of a landing area, so these are hints, not errors: a folder
    that does not exist (a typo in GREENR_LANDING_SOURCE, or no drop yet) and photos left outside
    the label folders, which ingestion never reads.
    """
    where = " or ".join(f"{folder / label}/" for label in sorted(labels))
    if not folder.is_dir():
        return f"the landing folder {folder} does not exist: photos dropped under {where} are ingested"
    outside = [
        path.name for path in sorted(folder.iterdir()) if path.is_file() and not path.name.startswith(".")
    ]
    if outside:
        shown = ", ".join(outside[:3]) + (f" and {len(outside) - 3} more" if len(outside) > 3 else "")
        return (
            f"{len(outside)} file(s) in {folder} are outside the label folders ({shown}): "
            f"move them under {where}"
        )
    return None


def pending(settings: Settings, source: str) -> tuple[bool, str]:
    """(are there photos to ingest, the latest dataset version id or 'none')."""
    engine = catalog_engine(settings)
    latest = latest_dataset_version(engine)
    latest_id = latest.id if latest is not None else "none"
    if source_kind(source) == "urls":
        return True, latest_id
    rules = ImageRules.from_suite()
    staged = stage_source(source, settings, rules.labels, rules.max_bytes)
    return bool(unjudged_photos(staged.folder, rules.labels, known_content_hashes(engine))), latest_id


def new_training_photos(settings: Settings, since: str) -> int:
    """Training photos of the latest dataset version that version `since` did not have."""
    engine = catalog_engine(settings)
    latest = latest_dataset_version(engine)
    if latest is None or latest.id == since:
        return 0
    before = get_dataset_version(engine, since) if since != "none" else None
    had = set(before.members) if before is not None else set()
    return sum(1 for sha, split in latest.members.items() if split == "train" and sha not in had)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("pending").add_argument("source")
    commands.add_parser("new-training-photos").add_argument("since")
    args = parser.parse_args(argv)
    try:
        settings = get_settings()
        if args.command == "pending":
            found, latest_id = pending(settings, args.source)
            print(latest_id)
            if not found and source_kind(args.source) == "folder":
                hint = landing_hint(Path(args.source), ImageRules.from_suite().labels)
                if hint is not None:  # into the task's log, where a person looks for the reason
                    print(f"nothing to ingest: {hint}", file=sys.stderr)
            return 0 if found else NOTHING_TO_DO
        count = new_training_photos(settings, args.since)
        print(count)
        return 0 if count else NOTHING_TO_DO
    except SettingsError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    except (CatalogUnavailable, SourceError, StorageUnavailable) as error:
        print(f"error: {error}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
