"""The split is stratified, deterministic, stable when images are added, and leak-free."""

from __future__ import annotations

import hashlib
from collections import Counter

import pytest

from greenr.contracts import SplitFractions
from greenr.ingestion.split import ClosedSplitError, SplitItem, assign_splits, dataset_version_id

FRACTIONS = SplitFractions()


def items(n_per_class: int, start: int = 0) -> list[SplitItem]:
    out = []
    for label in ("dandelion", "grass"):
        for i in range(start, start + n_per_class):
            sha = hashlib.sha256(f"{label}{i}".encode()).hexdigest()
            # Hashes far apart from each other (distinct pictures): spread bits from the sha.
            out.append(SplitItem(sha256=sha, label=label, phash=sha[:16]))
    return out


def test_stratified_70_15_15() -> None:
    data = items(200)
    assignment = assign_splits(data, {}, FRACTIONS, seed=42, group_distance=0)
    for label in ("dandelion", "grass"):
        counts = Counter(assignment[i.sha256] for i in data if i.label == label)
        assert counts == {"train": 140, "validation": 30, "test": 30}


def test_deterministic_for_a_seed_and_independent_of_order() -> None:
    data = items(50)
    first = assign_splits(data, {}, FRACTIONS, seed=1, group_distance=0)
    again = assign_splits(list(reversed(data)), {}, FRACTIONS, seed=1, group_distance=0)
    other_seed = assign_splits(data, {}, FRACTIONS, seed=2, group_distance=0)
    assert first == again
    assert first != other_seed


def test_existing_images_keep_their_split_when_images_are_added() -> None:
    old = items(100)
    before = assign_splits(old, {}, FRACTIONS, seed=42, group_distance=0)
    grown = old + items(20, start=100)
    after = assign_splits(grown, before, FRACTIONS, seed=42, group_distance=0)
    assert all(after[sha] == split for sha, split in before.items())
    per_split = Counter(after.values())
    assert per_split["train"] == pytest.approx(0.70 * len(grown), abs=2)
    assert per_split["test"] == pytest.approx(0.15 * len(grown), abs=2)


def test_near_duplicates_share_a_split() -> None:
    data = items(40)
    base = data[0]
    # Twins differing from `base` by one bit of perceptual hash.
    twins = [
        SplitItem(sha256=f"{k:064x}", label=base.label, phash=f"{int(base.phash, 16) ^ (1 << k):016x}")
        for k in range(5)
    ]
    assignment = assign_splits(data + twins, {}, FRACTIONS, seed=42, group_distance=2)
    assert {assignment[t.sha256] for t in twins} == {assignment[base.sha256]}


def test_new_near_duplicate_joins_the_existing_images_split() -> None:
    data = items(40)
    before = assign_splits(data, {}, FRACTIONS, seed=3, group_distance=0)
    test_item = next(i for i in data if before[i.sha256] == "test")
    twin = SplitItem(sha256="f" * 64, label=test_item.label, phash=f"{int(test_item.phash, 16) ^ 1:016x}")
    after = assign_splits([*data, twin], before, FRACTIONS, seed=3, group_distance=2)
    assert after[twin.sha256] == "test"


def test_fractions_must_sum_to_one() -> None:
    with pytest.raises(ValueError, match="sum to 1"):
        SplitFractions(train=0.8, validation=0.15, test=0.15)


def test_version_id_depends_on_content_only() -> None:
    labels = {"a": "grass", "b": "dandelion"}
    assert dataset_version_id({"a": "train", "b": "test"}, labels) == dataset_version_id(
        {"b": "test", "a": "train"}, labels
    )
    assert dataset_version_id({"a": "train", "b": "test"}, labels) != dataset_version_id(
        {"a": "test", "b": "train"}, labels
    )


FEEDBACK_SPLITS = ("train", "validation")


def test_a_source_restricted_to_train_and_validation_never_fills_test() -> None:
    old = items(100)
    before = assign_splits(old, {}, FRACTIONS, seed=42, group_distance=0)
    new = items(30, start=100)
    after = assign_splits(old + new, before, FRACTIONS, 42, group_distance=0, open_splits=FEEDBACK_SPLITS)
    assert all(after[sha] == split for sha, split in before.items())
    placed = Counter(after[item.sha256] for item in new)
    assert set(placed) == {"train", "validation"}
    # Train and validation are filled toward their own fractions (70:15), test's share stays unfilled.
    assert placed["train"] > 3 * placed["validation"]


def test_a_restricted_image_close_to_a_test_image_is_refused_not_leaked() -> None:
    data = items(40)
    before = assign_splits(data, {}, FRACTIONS, seed=3, group_distance=0)
    test_item = next(i for i in data if before[i.sha256] == "test")
    twin = SplitItem(sha256="f" * 64, label=test_item.label, phash=f"{int(test_item.phash, 16) ^ 1:016x}")
    with pytest.raises(ClosedSplitError, match="test split"):
        assign_splits([*data, twin], before, FRACTIONS, seed=3, group_distance=2, open_splits=FEEDBACK_SPLITS)


def test_a_restricted_image_joins_an_open_split_of_its_group() -> None:
    train_item = SplitItem(sha256="a" * 64, label="grass", phash="0" * 16)
    test_item = SplitItem(sha256="b" * 64, label="grass", phash=f"{0b11:016x}")
    twin = SplitItem(sha256="c" * 64, label="grass", phash=f"{0b1:016x}")  # one bit from both
    existing = {train_item.sha256: "train", test_item.sha256: "test"}
    group = [train_item, test_item, twin]
    after = assign_splits(group, existing, FRACTIONS, seed=1, group_distance=2, open_splits=FEEDBACK_SPLITS)
    assert after[twin.sha256] == "train"


def test_open_splits_must_name_a_split() -> None:
    with pytest.raises(ValueError, match="none of the splits"):
        assign_splits(items(2), {}, FRACTIONS, seed=1, group_distance=0, open_splits=("holdout",))
