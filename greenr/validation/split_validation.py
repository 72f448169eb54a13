"""Validate a dataset version's train/validation/test split with Great Expectations 1.x.

The training pipeline checks the split it is about to train on, whatever produced it: split
sizes and class balance per split, and no image or near-duplicate group in two splits. Three
tables, one suite each (a GE suite validates one table; see `greenr/dataset/suites/`):

- `dataset_splits`: one row per (split, label), counts and shares;
- `split_members`: one row per member, so an image listed in two splits is caught;
- `split_groups`: one row per near-duplicate group, with the number of splits it lies in.

Near-duplicate groups are recomputed here with the splitter's own `near_duplicate_groups`
(greenr.images.perceptual_hash), so
"near-duplicate" means exactly what it meant when the split was made (given the same distance).
GE and pandas are imported inside the functions only (see `runner`).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from typing import TYPE_CHECKING

from pydantic import BaseModel, ConfigDict, Field

from greenr.contracts import SPLITS
from greenr.images.perceptual_hash import near_duplicate_groups
from greenr.validation.report import ValidationReport
from greenr.validation.runner import SuiteRun, run_suites

if TYPE_CHECKING:
    import pandas as pd

DATASET_SPLITS = "dataset_splits"
SPLIT_MEMBERS = "split_members"
SPLIT_GROUPS = "split_groups"

SPLIT_LABEL_COLUMNS = ["split", "label", "count", "split_share", "class_share"]
MEMBER_COLUMNS = ["sha256", "label", "split", "phash"]
GROUP_COLUMNS = ["group", "members", "splits", "n_splits"]


class SplitMember(BaseModel):
    """One image of a dataset version, as the catalog records it (member row joined with its image)."""

    model_config = ConfigDict(frozen=True)

    # Hash formats are checked here, not by GE: a malformed phash cannot be grouped at all, so it
    # is a caller's bug to stop on, not a data finding to report. Label and split stay free text:
    # an unknown value is a data finding, and the suites name it.
    sha256: str = Field(pattern=r"^[0-9a-f]{64}$")
    label: str
    split: str
    phash: str = Field(pattern=r"^[0-9a-f]{16}$")


def split_label_frame(members: Sequence[SplitMember]) -> pd.DataFrame:
    """One row per (observed split, observed label), count 0 for a pair with no image.

    Filling the empty pairs is what lets the suite name a class missing from a split ("0 for
    split test, label grass"); a split or label absent from the whole dataset has no rows, and
    the suite's split and label sets report it instead.
    """
    import pandas as pd

    counts = Counter((member.split, member.label) for member in members)
    per_split = Counter(member.split for member in members)
    total = len(members)
    # Known splits in pipeline order first, then any unknown split, so the report reads naturally.
    splits = sorted(
        per_split, key=lambda split: (SPLITS.index(split) if split in SPLITS else len(SPLITS), split)
    )
    labels = sorted({member.label for member in members})
    rows = [
        {
            "split": split,
            "label": label,
            "count": counts[split, label],
            "split_share": per_split[split] / total,
            "class_share": counts[split, label] / per_split[split],
        }
        for split in splits
        for label in labels
    ]
    return pd.DataFrame(rows, columns=SPLIT_LABEL_COLUMNS)


def members_frame(members: Sequence[SplitMember]) -> pd.DataFrame:
    """One row per member, in the order given."""
    import pandas as pd

    return pd.DataFrame([member.model_dump() for member in members], columns=MEMBER_COLUMNS)


def groups_frame(members: Sequence[SplitMember], group_distance: int) -> pd.DataFrame:
    """One row per near-duplicate group (single images included), named by its smallest sha256."""
    import pandas as pd

    rows = []
    for group in near_duplicate_groups([member.phash for member in members], group_distance):
        splits = sorted({members[i].split for i in group})
        rows.append(
            {
                "group": min(members[i].sha256 for i in group),
                "members": len(group),
                # "+" rather than ", ": report examples already separate their fields with commas.
                "splits": "+".join(splits),
                "n_splits": len(splits),
            }
        )
    rows.sort(key=lambda row: str(row["group"]))  # stable report order, whatever the input order
    return pd.DataFrame(rows, columns=GROUP_COLUMNS)


def validate_dataset_splits(members: Sequence[SplitMember], group_distance: int) -> ValidationReport:
    """Run the `dataset_splits`, `split_members` and `split_groups` suites on a dataset version.

    `group_distance` is the largest Hamming distance (bits of the 64-bit dHash) at which two
    images count as near-duplicates; pass the distance the split was made with.
    """
    if group_distance < 0:
        raise ValueError(f"group_distance must be >= 0, got {group_distance}")
    return run_suites(
        [
            SuiteRun(DATASET_SPLITS, split_label_frame(members), ("split", "label")),
            # The split names where each copy of a duplicated sha256 sits.
            SuiteRun(SPLIT_MEMBERS, members_frame(members), ("split", "label")),
            SuiteRun(SPLIT_GROUPS, groups_frame(members, group_distance), ("group", "splits")),
        ]
    )
