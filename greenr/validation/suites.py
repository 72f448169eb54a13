"""The expectation suites as Great Expectations objects, loaded from greenr/dataset/suites/.

GE is imported inside `load_suite` only: it costs about two seconds, and the modules that build
frames (image and split validation) are imported by steps long before they validate.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from greenr.dataset.rules import SUITES_DIR, SuiteFormatError, read_suite_json

if TYPE_CHECKING:
    import great_expectations as gx


def available_suites(suites_dir: Path = SUITES_DIR) -> list[str]:
    """Names of the suites kept in `suites_dir` (file stems)."""
    return sorted(p.stem for p in suites_dir.glob("*.json"))


def load_suite(name: str, *, suites_dir: Path = SUITES_DIR) -> gx.ExpectationSuite:
    """Load the named suite from its JSON file into a GE `ExpectationSuite` (not added to a context).

    Raises `SuiteFormatError` if any expectation in the file cannot be built: GE's own
    constructor only logs an unknown expectation type and drops it, which would silently weaken
    the validation.
    """
    if name not in available_suites(suites_dir):
        raise SuiteFormatError(
            f"no suite {name!r} in {suites_dir}; available: {available_suites(suites_dir)}"
        )
    path = suites_dir / f"{name}.json"
    data = read_suite_json(path)
    if data.get("name") != name:
        raise SuiteFormatError(f"{path} is named {data.get('name')!r}, expected {name!r}")

    import great_expectations as gx  # deferred: see the module docstring
    from great_expectations.exceptions.exceptions import GreatExpectationsError

    try:
        suite = gx.ExpectationSuite(
            name=name,
            expectations=data["expectations"],
            suite_parameters=data.get("suite_parameters"),
            meta=data.get("meta"),
            notes=data.get("notes"),
        )
    # Invalid kwargs surface as pydantic (v1) validation errors, which subclass ValueError.
    except (GreatExpectationsError, ValueError, TypeError) as exc:
        raise SuiteFormatError(f"{path}: invalid expectation: {exc}") from exc
    if len(suite.expectations) != len(data["expectations"]):
        built = {exp.expectation_type for exp in suite.expectations}
        dropped = [e.get("type") for e in data["expectations"] if e.get("type") not in built]
        raise SuiteFormatError(f"{path}: GE could not build expectation(s) {dropped}")
    return suite
