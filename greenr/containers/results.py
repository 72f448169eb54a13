"""The record of a run: build time and size of each image, what each run saw, the commit."""

from __future__ import annotations

import json
import platform
from dataclasses import asdict
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from greenr.containers.images import BuildResult
from greenr.containers.runs import RunReport
from greenr.containers.stand_in_base import BaseResult


def results_document(
    commit: str | None,
    storage: str,
    base: BaseResult,
    builds: list[BuildResult],
    runs: list[RunReport],
    total_seconds: float,
) -> dict[str, Any]:
    """The JSON written after a run (sizes in MB of 10^6 bytes, as podman prints them)."""
    return {
        "commit": commit,
        "measured_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": f"{platform.node()} ({platform.machine()})",
        "storage": storage,
        "base": {**asdict(base), "seconds": round(base.seconds, 1), "size_mb": mb(base.size_bytes)},
        "images": [
            {"image": build.image, "build_seconds": round(build.seconds, 1), "size_mb": mb(build.size_bytes)}
            for build in builds
        ],
        "runs": [asdict(run) for run in runs],
        "total_seconds": round(total_seconds, 1),
    }


def mb(size_bytes: int) -> float:
    return round(size_bytes / 1e6, 1)


def table(document: dict[str, Any]) -> str:
    """The images' lines of the results, as printed at the end of a run."""
    base = document["base"]
    lines = [
        f"{'image':<48} {'build s':>8} {'size MB':>8}",
        f"{base['image'] + ' (' + base['origin'] + ')':<48} {base['seconds']:>8.1f} {base['size_mb']:>8.1f}",
    ]
    lines += [f"{i['image']:<48} {i['build_seconds']:>8.1f} {i['size_mb']:>8.1f}" for i in document["images"]]
    lines.append(f"total {document['total_seconds']:.1f} s (commit {document['commit']})")
    return "\n".join(lines)


def write_results(path: Path, document: dict[str, Any]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(document, indent=2) + "\n")
