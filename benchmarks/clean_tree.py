"""Benchmarks describe committed code: each records the commit it measured and refuses a work tree
with uncommitted changes unless told (the JSON then says `-dirty`)."""

from __future__ import annotations


def check_clean_tree(commit: str | None, allow_dirty: bool) -> None:
    """Refuse results that no commit describes, unless told."""
    if commit is None:
        raise SystemExit("not a git work tree: the results could not name the code they measure")
    if commit.endswith("-dirty") and not allow_dirty:
        raise SystemExit(
            "the work tree has uncommitted changes: commit them first, or pass --allow-dirty "
            "for an exploratory run (its JSON is marked -dirty)"
        )
