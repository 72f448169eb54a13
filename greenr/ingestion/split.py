"""Deterministic, stratified, stable train/validation/test split with near-duplicate groups.

- Deterministic: the order in which new groups are placed comes from a seeded hash of their
  content, never from file order or time.
- Stable: an image that already has a split keeps it; new images only fill the gaps, so adding
  photos never moves old ones (a model's test set stays a test set).
- Stratified: each class is filled toward the target fractions separately.
- Leak-free: images whose perceptual hashes are within `group_distance` bits form one group,
  and a group always lands in a single split.
- Restricted: a source may place its new images in some splits only (`open_splits`; feedback
  photos join train and validation, never test, so that the test split stays comparable across
  model versions).
"""

from __future__ import annotations

import hashlib
from collections import defaultdict
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass

from greenr.contracts import SPLITS, SplitFractions
from greenr.images.perceptual_hash import near_duplicate_groups


class ClosedSplitError(ValueError):
    """A new image can only go where its source may not place images (screening should refuse it)."""


@dataclass(frozen=True)
class SplitItem:
    """What the splitter needs to know about an image."""

    sha256: str
    label: str
    phash: str


def _order_key(seed: int, shas: Sequence[str]) -> str:
    return hashlib.sha256(f"{seed}:{min(shas)}".encode()).hexdigest()


def assign_splits(
    items: Sequence[SplitItem],
    existing: Mapping[str, str],
    fractions: SplitFractions,
    seed: int,
    group_distance: int,
    open_splits: Collection[str] = SPLITS,
) -> dict[str, str]:
    """Split of every item (sha256 -> split name); items in `existing` keep theirs.

    New items go only to `open_splits`; a new item grouped only with existing images of other
    splits raises ClosedSplitError (joining them would leak, moving them is not allowed).
    """
    allowed = [split for split in SPLITS if split in open_splits]
    if not allowed:
        raise ValueError(f"open_splits {sorted(open_splits)} names none of the splits {', '.join(SPLITS)}")
    groups = near_duplicate_groups([item.phash for item in items], group_distance)
    assignment: dict[str, str] = {
        item.sha256: existing[item.sha256] for item in items if item.sha256 in existing
    }
    counts: dict[str, dict[str, int]] = defaultdict(lambda: dict.fromkeys(SPLITS, 0))
    totals: dict[str, int] = defaultdict(int)
    for item in items:
        totals[item.label] += 1
        if item.sha256 in assignment:
            counts[item.label][assignment[item.sha256]] += 1

    pending: list[list[SplitItem]] = []
    for group in groups:
        members = [items[i] for i in group]
        held = sorted(assignment[m.sha256] for m in members if m.sha256 in assignment)
        newcomers = [member for member in members if member.sha256 not in assignment]
        if held and newcomers:
            # A new image close to an existing one joins that image's split, so no leak appears.
            joinable = [split for split in held if split in allowed]
            if not joinable:
                raise ClosedSplitError(
                    f"{newcomers[0].sha256} looks like images of the {held[0]} split, "
                    f"where this source may not place images (only {', '.join(allowed)})"
                )
            for member in newcomers:
                assignment[member.sha256] = joinable[0]
                counts[member.label][joinable[0]] += 1
        elif not held:
            pending.append(members)

    pending.sort(key=lambda members: _order_key(seed, [m.sha256 for m in members]))
    for members in pending:
        label = members[0].label
        deficits = {split: fractions.of(split) * totals[label] - counts[label][split] for split in allowed}
        # Largest deficit wins; SPLITS order breaks ties so the result never depends on dict order.
        chosen = max(allowed, key=lambda split: (deficits[split], -SPLITS.index(split)))
        for member in members:
            assignment[member.sha256] = chosen
            counts[member.label][chosen] += 1
    return assignment


def dataset_version_id(assignment: Mapping[str, str], labels: Mapping[str, str]) -> str:
    """Content id of a dataset version: the same members, labels and splits give the same id."""
    digest = hashlib.sha256()
    for sha in sorted(assignment):
        digest.update(f"{sha}:{labels[sha]}:{assignment[sha]}\n".encode())
    return "ds-" + digest.hexdigest()[:16]
