"""Validation of a dataset version's split with the repository's GE suites: real Great Expectations runs.

Thresholds come from the suite JSON files (read with `find_expectation`), never from literals
here, so these tests keep meaning the same thing when a threshold is tuned. The data is built so
that exactly one rule breaks (plus the rules that must break with it, listed per case).
"""

from __future__ import annotations

import hashlib
import json
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from pydantic import ValidationError

from greenr.contracts import SPLITS, SplitFractions
from greenr.dataset.rules import SUITES_DIR, ImageRules, find_expectation
from greenr.validation.image_validation import ValidationFailed, ValidationReport, raise_on_failure
from greenr.validation.split_validation import (
    DATASET_SPLITS,
    SPLIT_GROUPS,
    SPLIT_MEMBERS,
    SplitMember,
    groups_frame,
    split_label_frame,
    validate_dataset_splits,
)
from greenr.validation.suites import load_suite

BETWEEN = "expect_column_values_to_be_between"
UNIQUE = "expect_column_values_to_be_unique"
EQUAL_SET = "expect_column_distinct_values_to_equal_set"
NOT_IN_SET = "expect_column_values_to_not_be_in_set"
GROUP_DISTANCE = 4  # configs/ingestion.yaml's distance; the near-duplicate case is 1 bit apart

SUITE_PATHS = [SUITES_DIR / f"{name}.json" for name in (DATASET_SPLITS, SPLIT_MEMBERS, SPLIT_GROUPS)]
LABELS = ImageRules.from_suite().labels

Key = tuple[str, str, str | None]  # (suite, expectation type, column)


def suite_json(name: str) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((SUITES_DIR / f"{name}.json").read_text(encoding="utf-8"))
    return data


MIN_COUNT = int(find_expectation(suite_json(DATASET_SPLITS), BETWEEN, "count")["min_value"])
CLASS_BAND = find_expectation(suite_json(DATASET_SPLITS), BETWEEN, "class_share")


def member(index: int, label: str, split: str, phash: str | None = None) -> SplitMember:
    """A distinct image; its phash comes from its sha256, so two images are ~32 bits apart."""
    sha = hashlib.sha256(f"{label}/{index}".encode()).hexdigest()
    return SplitMember(sha256=sha, label=label, split=split, phash=phash or sha[:16])


def class_members(label: str, counts: dict[str, int], start: int = 0) -> list[SplitMember]:
    members = []
    index = start
    for split, count in counts.items():
        for _ in range(count):
            members.append(member(index, label, split))
            index += 1
    return members


GOOD_COUNTS = {"train": 70, "validation": 15, "test": 15}


def good_split() -> list[SplitMember]:
    """200 images: 70/15/15 for each of the two classes, no duplicates."""
    return [m for label in LABELS for m in class_members(label, GOOD_COUNTS)]


def flip_bit(phash: str) -> str:
    return f"{int(phash, 16) ^ 1:016x}"


def failed_keys(report: ValidationReport) -> set[Key]:
    return {(f.suite, f.expectation_type, f.column) for f in report.failures()}


def class_missing_from_test() -> list[SplitMember]:
    major, minor = LABELS[:2]
    # The minor class has no test image; the major class has more, so split shares stay 70/17.5/12.5.
    return class_members(major, {"train": 60, "validation": 15, "test": 25}) + class_members(
        minor, {"train": 80, "validation": 20}
    )


def train_share_half() -> list[SplitMember]:
    return [m for label in LABELS for m in class_members(label, {"train": 50, "validation": 25, "test": 25})]


def one_class_dominates_a_split() -> list[SplitMember]:
    major, minor = LABELS[:2]
    # Validation is 90/10 (18 vs 2 would also break the minimum count, so use 45 vs 5), while
    # split shares and per-split counts stay within their rules.
    return class_members(major, {"train": 100, "validation": 45, "test": 25}) + class_members(
        minor, {"train": 130, "validation": 5, "test": 25}
    )


def same_sha_in_two_splits() -> list[SplitMember]:
    members = good_split()
    first = members[0]  # a train image
    return [*members, first.model_copy(update={"split": "test"})]


def near_duplicates_in_two_splits() -> list[SplitMember]:
    members = good_split()
    train_image = members[0]
    test_image = next(m for m in members if m.split == "test")
    # The test image becomes a 1-bit variant of the train image: the same photo, recompressed.
    members[members.index(test_image)] = test_image.model_copy(update={"phash": flip_bit(train_image.phash)})
    return members


def too_few_in_a_split() -> list[SplitMember]:
    # Each class keeps MIN_COUNT - 1 validation and test images, in the usual proportions.
    few = MIN_COUNT - 1
    counts = {"train": 5 * few, "validation": few, "test": few}
    return [m for label in LABELS for m in class_members(label, counts)]


# (data, expectations that must fail, expectations that may also fail as a consequence)
FAILURE_CASES = [
    pytest.param(
        class_missing_from_test,
        {(DATASET_SPLITS, NOT_IN_SET, "count")},
        # an empty pair is also below the minimum, and leaves one class alone in its split
        {(DATASET_SPLITS, BETWEEN, "count"), (DATASET_SPLITS, BETWEEN, "class_share")},
        id="class-missing-from-test",
    ),
    pytest.param(train_share_half, {(DATASET_SPLITS, BETWEEN, "split_share")}, set(), id="train-share-0.5"),
    pytest.param(
        one_class_dominates_a_split, {(DATASET_SPLITS, BETWEEN, "class_share")}, set(), id="split-90-10"
    ),
    pytest.param(
        same_sha_in_two_splits,
        {(SPLIT_MEMBERS, UNIQUE, "sha256")},
        # identical bytes have identical phashes, so they are also a group in two splits
        {(SPLIT_GROUPS, BETWEEN, "n_splits")},
        id="same-sha-in-two-splits",
    ),
    pytest.param(
        near_duplicates_in_two_splits, {(SPLIT_GROUPS, BETWEEN, "n_splits")}, set(), id="near-duplicates"
    ),
    pytest.param(too_few_in_a_split, {(DATASET_SPLITS, BETWEEN, "count")}, set(), id="too-few-in-a-split"),
]


def test_good_split_passes() -> None:
    report = validate_dataset_splits(good_split(), GROUP_DISTANCE)

    assert report.success, report.failure_message()
    assert [suite.name for suite in report.suites] == [DATASET_SPLITS, SPLIT_MEMBERS, SPLIT_GROUPS]
    # Every expectation in the files was evaluated, in file order: none silently dropped.
    for suite in report.suites:
        listed = [exp["type"] for exp in suite_json(suite.name)["expectations"]]
        assert [exp.expectation_type for exp in suite.expectations] == listed
    assert all(exp.error is None for suite in report.suites for exp in suite.expectations)
    raise_on_failure(report)  # does not raise


@pytest.mark.parametrize(("build", "must_fail", "may_fail"), FAILURE_CASES)
def test_each_broken_rule_fails_and_is_named(
    build: Callable[[], list[SplitMember]], must_fail: set[Key], may_fail: set[Key]
) -> None:
    report = validate_dataset_splits(build(), GROUP_DISTANCE)

    assert not report.success
    failed = failed_keys(report)
    assert must_fail <= failed
    assert failed <= must_fail | may_fail, f"unrelated failures: {failed - must_fail - may_fail}"
    message = report.failure_message()
    for suite, type_, column in must_fail:
        assert f"{suite}: {type_}({column}) failed" in message
    with pytest.raises(ValidationFailed) as caught:
        raise_on_failure(report)
    assert str(caught.value) == message


def test_missing_class_names_the_split_and_label() -> None:
    minor = LABELS[1]

    message = validate_dataset_splits(class_missing_from_test(), GROUP_DISTANCE).failure_message()

    assert (
        f"{DATASET_SPLITS}: {NOT_IN_SET}(count) failed: observed 0 for split test, label {minor}" in message
    )
    assert "allowed not in {0}" in message


def share_bands() -> dict[str, dict[str, Any]]:
    """The split_share expectations' kwargs by split (one per split, told apart by row condition)."""
    return {
        exp["kwargs"]["row_condition"]["parameter"]: exp["kwargs"]
        for exp in suite_json(DATASET_SPLITS)["expectations"]
        if exp["kwargs"].get("column") == "split_share"
    }


def test_split_share_failure_says_which_band() -> None:
    train = share_bands()["train"]

    failures = validate_dataset_splits(train_share_half(), GROUP_DISTANCE).failures()

    # 50/25/25 breaks all three bands; each outcome names its split and its own band.
    assert [f.column for f in failures] == ["split_share"] * len(SPLITS)
    assert failures[0].describe() == (
        f"{DATASET_SPLITS}: {BETWEEN}(split_share) failed: observed 0.5 for split train, label {LABELS[0]}, "
        f"0.5 for split train, label {LABELS[1]}, "
        f"allowed {train['min_value']:g}..{train['max_value']:g} where split == train"
    )
    assert [f.expected.rsplit(" ", 1)[-1] for f in failures] == list(SPLITS)


def test_class_share_failure_names_the_split_and_values() -> None:
    major, minor = LABELS[:2]

    message = validate_dataset_splits(one_class_dominates_a_split(), GROUP_DISTANCE).failure_message()

    assert message.startswith(f"{DATASET_SPLITS}: {BETWEEN}(class_share) failed: observed ")
    assert f"0.9 for split validation, label {major}" in message
    assert f"0.1 for split validation, label {minor}" in message
    assert f"allowed {CLASS_BAND['min_value']:g}..{CLASS_BAND['max_value']:g}" in message


def test_near_duplicate_failure_names_the_group_and_its_splits() -> None:
    members = near_duplicates_in_two_splits()
    pair = sorted(m.sha256 for m in members if m.phash in (members[0].phash, flip_bit(members[0].phash)))

    report = validate_dataset_splits(members, GROUP_DISTANCE)

    (failure,) = report.failures()
    assert failure.describe() == (
        f"{SPLIT_GROUPS}: {BETWEEN}(n_splits) failed: observed 2 for group {pair[0]}, splits test+train, "
        "allowed 1..1"
    )


def test_duplicate_sha_failure_names_both_splits() -> None:
    members = same_sha_in_two_splits()
    sha, label = members[0].sha256, members[0].label

    failure = next(
        f for f in validate_dataset_splits(members, GROUP_DISTANCE).failures() if f.column == "sha256"
    )

    assert failure.unexpected_examples == [
        f"{sha} for split train, label {label}",
        f"{sha} for split test, label {label}",
    ]


def test_group_distance_decides_what_a_near_duplicate_is() -> None:
    members = near_duplicates_in_two_splits()

    # At distance 0 the 1-bit variant is a different image: no group spans two splits.
    assert validate_dataset_splits(members, 0).success
    with pytest.raises(ValueError, match="group_distance"):
        validate_dataset_splits(members, -1)


def test_unknown_split_and_missing_split_are_named() -> None:
    members = [m.model_copy(update={"split": "tset"}) if m.split == "test" else m for m in good_split()]

    report = validate_dataset_splits(members, GROUP_DISTANCE)

    assert failed_keys(report) == {(DATASET_SPLITS, EQUAL_SET, "split")}
    (failure,) = report.failures()
    assert failure.observed == "unexpected {tset} and missing {test}"


def test_empty_input_fails_without_crashing() -> None:
    report = validate_dataset_splits([], GROUP_DISTANCE)

    assert failed_keys(report) == {(DATASET_SPLITS, EQUAL_SET, "split"), (DATASET_SPLITS, EQUAL_SET, "label")}
    assert all(exp.error is None for suite in report.suites for exp in suite.expectations)


def test_html_report_escapes_values() -> None:
    evil = "<script>alert('x')</script>"
    members = [m.model_copy(update={"label": evil}) if i == 0 else m for i, m in enumerate(good_split())]

    page = validate_dataset_splits(members, GROUP_DISTANCE).to_html()

    assert page.startswith("<!DOCTYPE html>")
    assert "<script" not in page
    assert "&lt;script&gt;alert(&#x27;x&#x27;)&lt;/script&gt;" in page
    assert '<tr class="fail">' in page
    assert '<tr class="ok">' in page


def test_report_json_round_trips() -> None:
    report = validate_dataset_splits(train_share_half(), GROUP_DISTANCE)

    assert ValidationReport.model_validate_json(report.to_json()) == report


def test_split_label_frame_fills_empty_pairs_and_orders_splits() -> None:
    frame = split_label_frame(class_missing_from_test())

    assert list(dict.fromkeys(frame["split"])) == list(SPLITS)
    empty = frame[frame["count"] == 0]
    assert [(row.split, row.label) for row in empty.itertuples()] == [("test", LABELS[1])]
    assert empty["class_share"].tolist() == [0.0]


def test_groups_frame_has_one_row_per_group() -> None:
    members = near_duplicates_in_two_splits()

    frame = groups_frame(members, GROUP_DISTANCE)

    assert len(frame) == len(members) - 1
    assert frame["members"].sum() == len(members)
    assert frame["n_splits"].max() == 2


def test_split_member_refuses_malformed_hashes() -> None:
    sha = "a" * 64
    with pytest.raises(ValidationError, match="phash"):
        SplitMember(sha256=sha, label=LABELS[0], split="train", phash="xyz")
    with pytest.raises(ValidationError, match="sha256"):
        SplitMember(sha256="ABC", label=LABELS[0], split="train", phash="0" * 16)


def test_suites_agree_with_the_rest_of_the_project() -> None:
    suite = suite_json(DATASET_SPLITS)

    assert tuple(find_expectation(suite, EQUAL_SET, "label")["value_set"]) == LABELS
    assert tuple(find_expectation(suite, EQUAL_SET, "split")["value_set"]) == SPLITS
    # One share band per split, and the splitter's target lies inside each of them.
    bands = share_bands()
    assert set(bands) == set(SPLITS)
    targets = SplitFractions()
    for split, band in bands.items():
        assert band["min_value"] < targets.of(split) < band["max_value"], split
    # The per-split class band is the dataset-wide one: a balanced dataset split stratified passes.
    overall = find_expectation(suite_json("class_balance"), BETWEEN, "share")
    assert (CLASS_BAND["min_value"], CLASS_BAND["max_value"]) == (overall["min_value"], overall["max_value"])
    # Every rule says why it exists.
    for name in (DATASET_SPLITS, SPLIT_MEMBERS, SPLIT_GROUPS):
        assert all(exp.get("notes") for exp in suite_json(name)["expectations"]), name


@pytest.mark.parametrize("path", SUITE_PATHS, ids=lambda p: p.stem)
def test_suite_files_are_great_expectations_suites(path: Path) -> None:
    stored = json.loads(path.read_text(encoding="utf-8"))

    dumped: dict[str, Any] = json.loads(json.dumps(load_suite(path.stem).to_json_dict()))

    assert dumped["name"] == stored["name"]
    assert [(e["type"], e["kwargs"]) for e in dumped["expectations"]] == [
        (e["type"], e["kwargs"]) for e in stored["expectations"]
    ]


def test_importing_split_validation_does_not_import_great_expectations() -> None:
    code = "import sys, greenr.validation.split_validation; print('great_expectations' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"
