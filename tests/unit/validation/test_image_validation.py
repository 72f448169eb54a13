"""Validation of image records with the repository's GE suites: real Great Expectations runs.

Thresholds come from the suite JSON files (through `ImageRules` or by reading the JSON), never
from literals here, so these tests keep meaning the same thing when a threshold is tuned.
"""

from __future__ import annotations

import hashlib
import json
import socket
import subprocess
import sys
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from greenr.dataset.records import ImageRecord
from greenr.dataset.rules import (
    CLASS_BALANCE_SUITE,
    RAW_IMAGES_SUITE,
    ImageRules,
    SuiteFormatError,
    find_expectation,
)
from greenr.validation.image_validation import (
    CLASS_BALANCE,
    MAX_EXAMPLES,
    RAW_IMAGES,
    ValidationFailed,
    ValidationReport,
    raise_on_failure,
    validate_images,
)
from greenr.validation.suites import load_suite

RULES = ImageRules.from_suite()
IN_SET = "expect_column_values_to_be_in_set"
BETWEEN = "expect_column_values_to_be_between"
UNIQUE = "expect_column_values_to_be_unique"
ROW_COUNT = "expect_table_row_count_to_be_between"
EQUAL_SET = "expect_column_distinct_values_to_equal_set"

Key = tuple[str, str, str | None]  # (suite, expectation type, column)


def suite_json(path: Path) -> dict[str, Any]:
    data: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    return data


def make_record(index: int, label: str, **changes: Any) -> ImageRecord:
    """A record that meets every per-image rule, unless `changes` breaks one."""
    values: dict[str, Any] = {
        "path": f"/data/{label}/{index:04d}.jpg",
        "label": label,
        "format": sorted(RULES.allowed_formats)[0],
        "mode": "RGB",
        "width": RULES.min_side * 4,
        "height": RULES.min_side * 3,
        "bytes": (RULES.min_bytes + RULES.max_bytes) // 2,
        "sha256": hashlib.sha256(f"{label}/{index}".encode()).hexdigest(),
        "phash": f"{index:016x}",
        "ingested_at": datetime(2025, 5, 1, tzinfo=UTC),
    }
    values.update(changes)
    return ImageRecord(**values)


def balanced(per_class: int = 20) -> list[ImageRecord]:
    return [make_record(i, label) for label in RULES.labels for i in range(per_class)]


def with_change(index: int, **changes: Any) -> list[ImageRecord]:
    records = balanced()
    records[index] = records[index].model_copy(update=changes)
    return records


def failed_keys(report: ValidationReport) -> set[Key]:
    return {(f.suite, f.expectation_type, f.column) for f in report.failures()}


def imbalanced() -> list[ImageRecord]:
    major, minor = RULES.labels[:2]
    return [make_record(i, major) for i in range(90)] + [make_record(i, minor) for i in range(10)]


def wrong_format() -> list[ImageRecord]:
    return with_change(0, format="GIF")


def small_side() -> list[ImageRecord]:
    return with_change(3, width=RULES.min_side - 1)


def too_many_bytes() -> list[ImageRecord]:
    return with_change(5, bytes=RULES.max_bytes + 1)


def unknown_label() -> list[ImageRecord]:
    return [*balanced(), make_record(0, "daisy")]


def duplicate_sha256() -> list[ImageRecord]:
    records = balanced()
    return with_change(len(records) - 1, sha256=records[0].sha256)


def too_few_rows() -> list[ImageRecord]:
    return balanced(per_class=5)


# (data, expectations that must fail, expectations that may also fail as a consequence)
FAILURE_CASES = [
    pytest.param(wrong_format, {(RAW_IMAGES, IN_SET, "format")}, set(), id="wrong-format"),
    pytest.param(small_side, {(RAW_IMAGES, BETWEEN, "width")}, set(), id="small-side"),
    pytest.param(too_many_bytes, {(RAW_IMAGES, BETWEEN, "bytes")}, set(), id="too-many-bytes"),
    pytest.param(
        unknown_label,
        {(RAW_IMAGES, IN_SET, "label"), (CLASS_BALANCE, EQUAL_SET, "label")},
        # one stray image is also a class with a tiny count and share
        {(CLASS_BALANCE, BETWEEN, "count"), (CLASS_BALANCE, BETWEEN, "share")},
        id="unknown-label",
    ),
    pytest.param(duplicate_sha256, {(RAW_IMAGES, UNIQUE, "sha256")}, set(), id="duplicate-sha256"),
    pytest.param(imbalanced, {(CLASS_BALANCE, BETWEEN, "share")}, set(), id="imbalance-90-10"),
    pytest.param(
        too_few_rows, {(RAW_IMAGES, ROW_COUNT, None)}, {(CLASS_BALANCE, BETWEEN, "count")}, id="too-few-rows"
    ),
]


def test_valid_balanced_set_passes() -> None:
    report = validate_images(balanced())

    assert report.success, report.failure_message()
    assert report.failures() == []
    assert [suite.name for suite in report.suites] == [RAW_IMAGES, CLASS_BALANCE]
    # Every expectation in the files was evaluated: none silently dropped on loading.
    for suite, path in zip(report.suites, [RAW_IMAGES_SUITE, CLASS_BALANCE_SUITE], strict=True):
        listed = [exp["type"] for exp in suite_json(path)["expectations"]]
        assert [exp.expectation_type for exp in suite.expectations] == listed
    raise_on_failure(report)  # does not raise


@pytest.mark.parametrize(("build", "must_fail", "may_fail"), FAILURE_CASES)
def test_each_broken_rule_fails_and_is_named(
    build: Callable[[], list[ImageRecord]], must_fail: set[Key], may_fail: set[Key]
) -> None:
    report = validate_images(build())

    assert not report.success
    failed = failed_keys(report)
    assert must_fail <= failed
    assert failed <= must_fail | may_fail, f"unrelated failures: {failed - must_fail - may_fail}"
    message = report.failure_message()
    for suite, type_, column in must_fail:
        target = f"{type_}({column})" if column else type_
        assert f"{suite}: {target} failed" in message
    with pytest.raises(ValidationFailed) as caught:
        raise_on_failure(report)
    assert caught.value.report == report
    assert str(caught.value) == message


def test_failure_message_says_what_was_observed_and_allowed() -> None:
    band = find_expectation(suite_json(CLASS_BALANCE_SUITE), BETWEEN, "share")
    major, minor = RULES.labels[:2]

    message = validate_images(imbalanced()).failure_message()

    assert message.startswith(f"{CLASS_BALANCE}: {BETWEEN}(share) failed: observed ")
    assert f"0.9 for label {major}" in message
    assert f"0.1 for label {minor}" in message
    assert f"allowed {band['min_value']:g}..{band['max_value']:g}" in message


def test_row_level_failure_names_the_file_and_caps_examples() -> None:
    records = balanced()
    for i in range(MAX_EXAMPLES + 5):
        records[i] = records[i].model_copy(update={"format": "GIF"})

    (failure,) = validate_images(records).failures()

    assert failure.unexpected_count == MAX_EXAMPLES + 5
    assert len(failure.unexpected_examples) == MAX_EXAMPLES
    assert failure.unexpected_examples[0] == f"GIF for path {records[0].path}"


def test_empty_input_fails_on_row_count_without_crashing() -> None:
    report = validate_images([])

    assert (RAW_IMAGES, ROW_COUNT, None) in failed_keys(report)
    assert all(exp.error is None for suite in report.suites for exp in suite.expectations)


def test_html_escapes_untrusted_values() -> None:
    evil = "/data/<script>alert('x')</script>.gif"
    records = with_change(0, path=evil, format="GIF")

    page = validate_images(records).to_html()

    assert page.startswith("<!DOCTYPE html>")
    assert "<script" not in page
    assert "&lt;script&gt;alert(&#x27;x&#x27;)&lt;/script&gt;.gif" in page
    assert '<tr class="fail">' in page
    assert '<tr class="ok">' in page


def test_report_json_round_trips() -> None:
    report = validate_images(imbalanced())

    text = report.to_json()

    assert json.loads(text)["success"] is False
    assert ValidationReport.model_validate_json(text) == report


def test_no_network_during_validation(monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse(*args: object, **kwargs: object) -> None:
        raise AssertionError(f"network access attempted: {args}")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket, "getaddrinfo", refuse)

    assert validate_images(balanced()).success


def test_importing_the_package_does_not_import_great_expectations() -> None:
    code = (
        "import sys, greenr.dataset.rules, greenr.validation.image_validation; "
        "print('great_expectations' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


def test_image_rules_are_read_from_the_suite_json() -> None:
    suite = suite_json(RAW_IMAGES_SUITE)
    size = find_expectation(suite, BETWEEN, "bytes")

    rules = ImageRules.from_suite(RAW_IMAGES_SUITE)

    assert rules.allowed_formats == set(find_expectation(suite, IN_SET, "format")["value_set"])
    assert rules.allowed_modes == set(find_expectation(suite, IN_SET, "mode")["value_set"])
    assert rules.labels == tuple(find_expectation(suite, IN_SET, "label")["value_set"])
    assert rules.min_side == find_expectation(suite, BETWEEN, "width")["min_value"]
    assert rules.min_side == find_expectation(suite, BETWEEN, "height")["min_value"]
    assert (rules.min_bytes, rules.max_bytes) == (size["min_value"], size["max_value"])
    assert "JPEG" in rules.allowed_formats  # sanity: the file is the one we think it is


def test_class_balance_labels_are_the_image_labels() -> None:
    label_set = find_expectation(suite_json(CLASS_BALANCE_SUITE), EQUAL_SET, "label")["value_set"]
    assert tuple(label_set) == RULES.labels


@pytest.mark.parametrize("path", [RAW_IMAGES_SUITE, CLASS_BALANCE_SUITE], ids=lambda p: p.stem)
def test_suite_files_are_great_expectations_suites(path: Path) -> None:
    stored = suite_json(path)

    dumped: dict[str, Any] = json.loads(json.dumps(load_suite(path.stem).to_json_dict()))

    assert dumped["name"] == stored["name"]
    # 32 == 32.0: GE dumps numeric bounds as floats, the files keep them readable as integers.
    assert [(e["type"], e["kwargs"]) for e in dumped["expectations"]] == [
        (e["type"], e["kwargs"]) for e in stored["expectations"]
    ]


def test_load_suite_refuses_an_expectation_ge_would_drop(tmp_path: Path) -> None:
    data = suite_json(RAW_IMAGES_SUITE)
    data["expectations"][0]["type"] = "expect_table_row_count_to_be_betwen"
    (tmp_path / "raw_images.json").write_text(json.dumps(data), encoding="utf-8")

    with pytest.raises(SuiteFormatError, match="expect_table_row_count_to_be_betwen"):
        load_suite("raw_images", suites_dir=tmp_path)


def test_from_suite_refuses_width_and_height_rules_that_disagree(tmp_path: Path) -> None:
    data = suite_json(RAW_IMAGES_SUITE)
    find_expectation(data, BETWEEN, "height")["min_value"] = RULES.min_side + 1
    path = tmp_path / "raw_images.json"
    path.write_text(json.dumps(data), encoding="utf-8")

    with pytest.raises(SuiteFormatError, match="height"):
        ImageRules.from_suite(path)
