"""Image thresholds, read from the Great Expectations suite JSON files kept next to this module.

The suites under `suites/` are the single source of truth: the Python screening that runs before
Great Expectations (greenr.ingestion) reads its thresholds through `ImageRules.from_suite`, and GE
validates the accepted set with the very same files (greenr.validation.suites.load_suite).
Changing a threshold means editing one JSON file. The suites' label sets and split bands are
copies of greenr.contracts, checked by tests/unit/test_contracts.py.

Reading the rules only needs `json`: importing Great Expectations costs about two seconds.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

SUITES_DIR = Path(__file__).resolve().parent / "suites"
RAW_IMAGES_SUITE = SUITES_DIR / "raw_images.json"
CLASS_BALANCE_SUITE = SUITES_DIR / "class_balance.json"


class SuiteFormatError(ValueError):
    """A suite file is missing, malformed, or does not contain the expectation a rule needs."""


def read_suite_json(path: Path) -> dict[str, Any]:
    """The suite file's JSON object, as GE's `ExpectationSuite.to_json_dict()` writes it."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as exc:
        raise SuiteFormatError(f"cannot read expectation suite {path}: {exc}") from exc
    if not isinstance(data, dict) or not isinstance(data.get("expectations"), list):
        raise SuiteFormatError(f"{path} is not an expectation suite: no 'expectations' list")
    return data


def find_expectation(suite: Mapping[str, Any], type_: str, column: str | None = None) -> dict[str, Any]:
    """The kwargs of the one expectation of `type_` on `column`; a rule is ambiguous otherwise."""
    matches = [
        exp.get("kwargs", {})
        for exp in suite["expectations"]
        if exp.get("type") == type_ and exp.get("kwargs", {}).get("column") == column
    ]
    where = f"{type_}({column})" if column else type_
    if len(matches) != 1:
        raise SuiteFormatError(f"suite {suite.get('name')!r} needs exactly one {where}, found {len(matches)}")
    kwargs = matches[0]
    if not isinstance(kwargs, dict):
        raise SuiteFormatError(f"suite {suite.get('name')!r}: kwargs of {where} is not an object")
    return kwargs


def _int_kwarg(kwargs: Mapping[str, Any], key: str, where: str) -> int:
    # GE serialises numeric bounds as floats (32 -> 32.0), so accept any integral number.
    value = kwargs.get(key)
    if isinstance(value, bool) or not isinstance(value, int | float) or not float(value).is_integer():
        raise SuiteFormatError(f"{where}: {key} must be a whole number, got {value!r}")
    return int(value)


def _str_set_kwarg(kwargs: Mapping[str, Any], where: str) -> tuple[str, ...]:
    values = kwargs.get("value_set")
    if not isinstance(values, list) or not values or not all(isinstance(v, str) for v in values):
        raise SuiteFormatError(f"{where}: value_set must be a non-empty list of strings, got {values!r}")
    return tuple(values)


@dataclass(frozen=True)
class ImageRules:
    """Per-image thresholds shared by Python screening and the `raw_images` GE suite."""

    allowed_formats: frozenset[str]
    allowed_modes: frozenset[str]
    min_side: int
    min_bytes: int
    max_bytes: int
    labels: tuple[str, ...]  # ordered as in the suite, so reports and class indices are stable

    def __post_init__(self) -> None:
        if not 0 < self.min_bytes <= self.max_bytes:
            raise SuiteFormatError(f"need 0 < min_bytes <= max_bytes, got {self.min_bytes}, {self.max_bytes}")
        if self.min_side < 1:
            raise SuiteFormatError(f"min_side must be positive, got {self.min_side}")
        if len(set(self.labels)) != len(self.labels) or len(self.labels) < 2:
            raise SuiteFormatError(f"labels must be at least two distinct names, got {self.labels}")

    @classmethod
    def from_suite(cls, path: Path = RAW_IMAGES_SUITE) -> ImageRules:
        """Read the thresholds out of the `raw_images` suite JSON (no Great Expectations import)."""
        suite = read_suite_json(path)
        in_set = "expect_column_values_to_be_in_set"
        between = "expect_column_values_to_be_between"

        # One "min side" rule is two GE expectations (width and height); they must agree, or the
        # screening would silently apply one of them and GE the other.
        width_min = _int_kwarg(find_expectation(suite, between, "width"), "min_value", f"{path}: width")
        height_min = _int_kwarg(find_expectation(suite, between, "height"), "min_value", f"{path}: height")
        if width_min != height_min:
            raise SuiteFormatError(f"{path}: width min_value {width_min} != height min_value {height_min}")

        size = find_expectation(suite, between, "bytes")
        return cls(
            allowed_formats=frozenset(_str_set_kwarg(find_expectation(suite, in_set, "format"), "format")),
            allowed_modes=frozenset(_str_set_kwarg(find_expectation(suite, in_set, "mode"), "mode")),
            min_side=width_min,
            min_bytes=_int_kwarg(size, "min_value", f"{path}: bytes"),
            max_bytes=_int_kwarg(size, "max_value", f"{path}: bytes"),
            labels=_str_set_kwarg(find_expectation(suite, in_set, "label"), "label"),
        )
