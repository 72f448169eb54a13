"""Benchmarks describe committed code: each records the commit it measured and refuses a work tree
with uncommitted changes unless told (the JSON then says `-dirty`).

Every benchmark's command line takes `--allow-dirty` (`add_allow_dirty`) and starts with
`commit = measured_commit(args.allow_dirty)`.
"""

from __future__ import annotations

import argparse

from greenr.provenance import git_commit
from greenr.settings import REPO_ROOT


def add_allow_dirty(parser: argparse.ArgumentParser) -> None:
    """The `--allow-dirty` flag every benchmark takes."""
    parser.add_argument(
        "--allow-dirty",
        action="store_true",
        help="run on a work tree with uncommitted changes (the JSON's commit is then marked -dirty)",
    )


def measured_commit(allow_dirty: bool) -> str:
    """The commit the results describe (`<sha>-dirty` only when allowed); exits otherwise."""
    return check_clean_tree(git_commit(REPO_ROOT), allow_dirty)


def check_clean_tree(commit: str | None, allow_dirty: bool) -> str:
    """`commit`, unless no commit describes the results (and dirty is not allowed): then exit."""
    if commit is None:
        raise SystemExit("not a git work tree: the results could not name the code they measure")
    if commit.endswith("-dirty") and not allow_dirty:
        raise SystemExit(
            "the work tree has uncommitted changes: commit them first, or pass --allow-dirty "
            "for an exploratory run (its JSON is marked -dirty)"
        )
    return commit
