"""Client-side upload limits: refuse what the API would refuse anyway, before sending it."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

# What the browser reports for each refused file (see REJECTED_JS_HANDLER in ui.app).
RejectedEntry = Mapping[str, Any]


def human_size(size: int) -> str:
    """Bytes in the unit a person reads (decimal, like file managers): 10 MB, 512 KB, 900 bytes."""
    if size >= 1_000_000:
        return f"{size / 1_000_000:.3g} MB"
    if size >= 1_000:
        return f"{size / 1_000:.3g} KB"
    return f"{size} bytes"


def oversize_message(name: str, size: int, limit: int) -> str:
    """Why a file was not sent: it is larger than the limit."""
    return f"{name} was not sent: it is {human_size(size)}, the limit is {human_size(limit)} per photo."


def too_many_message(count: int, limit: int) -> str:
    """Why a batch was not sent: too many files."""
    return f"{count} photos were selected; send at most {limit} at once."


def refusals(files: Sequence[tuple[str, int]], *, max_bytes: int, max_files: int) -> list[str]:
    """Why (name, size) files must not be sent; empty when they may.

    The browser already refuses such files; this check also covers clients that bypass it.
    """
    if len(files) > max_files:
        return [too_many_message(len(files), max_files)]
    return [oversize_message(name, size, max_bytes) for name, size in files if size > max_bytes]


def rejection_message(entries: Sequence[RejectedEntry], *, max_bytes: int, max_files: int) -> str:
    """One line for the files the browser refused to queue (too large, too many, wrong type)."""
    too_large = [entry for entry in entries if entry.get("reason") == "max-file-size"]
    if too_large:
        names = ", ".join(str(entry.get("name") or "a file") for entry in too_large)
        return f"Not sent (larger than {human_size(max_bytes)} per photo): {names}."
    if any(entry.get("reason") == "max-files" for entry in entries):
        return f"Too many photos: send at most {max_files} at once."
    names = ", ".join(str(entry.get("name") or "a file") for entry in entries)
    return f"Not sent (not an image file): {names}." if names else "Some files were not sent."
