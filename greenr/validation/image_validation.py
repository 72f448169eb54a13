"""Validate an accepted set of images with Great Expectations 1.x, and report it readably.

Two suites run (see `suites/`): `raw_images` on one row per image, and `class_balance` on one
row per class. The result is a `ValidationReport`, a plain pydantic model that can be stored as
JSON, rendered as HTML, or turned into an exception by `raise_on_failure`.

ZenML's GE integration requires GE < 1.0, so this module calls the GE 1.x API directly with an
ephemeral (in-memory) context. GE and pandas are imported inside `validate_images` only: the
report models are used by code that never validates (UI, API, steps reading stored reports), and
importing GE costs about two seconds.
"""

from __future__ import annotations

import html
import json
import math
import numbers
import threading
from collections import Counter
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel, ConfigDict, JsonValue, model_validator

from greenr.ingestion.records import ImageRecord
from greenr.validation.rules import load_suite

if TYPE_CHECKING:
    import great_expectations as gx
    import pandas as pd
    from great_expectations.core.expectation_validation_result import (
        ExpectationSuiteValidationResult,
        ExpectationValidationResult,
    )
    from great_expectations.data_context.data_context.ephemeral_data_context import EphemeralDataContext

RAW_IMAGES = "raw_images"
CLASS_BALANCE = "class_balance"

MAX_EXAMPLES = 10
_MAX_VALUE_CHARS = 80
_OBSERVED_EXAMPLES = 3

# GE 1.x keeps "the current project" in a module-level singleton that get_context() replaces, and
# suites not added to a context resolve through it; serialise our use so threads don't mix contexts.
_GE_LOCK = threading.Lock()


class ExpectationOutcome(BaseModel):
    """The result of one expectation, reduced to what a person needs to act on it."""

    model_config = ConfigDict(frozen=True)

    suite: str
    expectation_type: str
    column: str | None
    # Not named `kwargs`: pydantic's mypy plugin then breaks the model's __init__ signature.
    expectation_kwargs: dict[str, JsonValue]
    success: bool
    expected: str  # the rule in words, e.g. "0.35..0.65" or "in {JPEG, PNG, WEBP}"
    observed: str  # short; for row-level rules, the offending values with the row they belong to
    unexpected_count: int = 0
    unexpected_examples: list[str] = []  # at most MAX_EXAMPLES
    error: str | None = None  # set when GE raised instead of evaluating (e.g. a missing column)

    def describe(self) -> str:
        """One clause: what was checked, whether it held, what was observed and what is allowed."""
        target = f"{self.expectation_type}({self.column})" if self.column else self.expectation_type
        if self.error is not None:
            return f"{self.suite}: {target} could not be evaluated: {self.error}"
        verdict = "passed" if self.success else "failed"
        return f"{self.suite}: {target} {verdict}: observed {self.observed}, allowed {self.expected}"


class SuiteResult(BaseModel):
    """All outcomes of one expectation suite, in the order the suite lists them."""

    model_config = ConfigDict(frozen=True)

    name: str
    success: bool
    expectations: list[ExpectationOutcome]

    @model_validator(mode="after")
    def _success_matches_outcomes(self) -> SuiteResult:
        # GE's suite success is "every expectation succeeded"; a stored report must agree.
        if self.success != all(exp.success for exp in self.expectations):
            raise ValueError(f"suite {self.name}: success={self.success} contradicts its expectations")
        return self


class ValidationReport(BaseModel):
    """Outcome of validating one set of images against every suite."""

    model_config = ConfigDict(frozen=True)

    success: bool
    suites: list[SuiteResult]

    @model_validator(mode="after")
    def _success_matches_suites(self) -> ValidationReport:
        if self.success != all(suite.success for suite in self.suites):
            raise ValueError(f"success={self.success} contradicts the suite results")
        return self

    def failures(self) -> list[ExpectationOutcome]:
        """Failed expectations of all suites, in suite order."""
        return [exp for suite in self.suites for exp in suite.expectations if not exp.success]

    def failure_message(self) -> str:
        """One sentence naming each failed expectation, its column, what was observed and allowed."""
        failures = self.failures()
        if not failures:
            total = sum(len(suite.expectations) for suite in self.suites)
            return f"All {total} expectations passed."
        sentence = "; ".join(exp.describe() for exp in failures)
        return sentence if sentence.endswith(".") else sentence + "."

    def to_json(self) -> str:
        return self.model_dump_json(indent=2)

    def to_html(self) -> str:
        """A self-contained page (inline CSS, no scripts): one table per suite, green/red rows."""
        esc = _escape
        verdict = "passed" if self.success else "FAILED"
        sections = []
        for suite in self.suites:
            passed = sum(exp.success for exp in suite.expectations)
            rows = "\n".join(_html_row(exp) for exp in suite.expectations)
            sections.append(
                f'<section>\n<h2 class="{"ok" if suite.success else "fail"}">{esc(suite.name)}: '
                f"{passed} of {len(suite.expectations)} expectations passed</h2>\n"
                "<table>\n<thead><tr><th>Result</th><th>Expectation</th><th>Column</th>"
                "<th>Allowed</th><th>Observed</th><th>Unexpected</th><th>Examples</th></tr></thead>\n"
                f"<tbody>\n{rows}\n</tbody>\n</table>\n</section>"
            )
        body = "\n".join(sections)
        return (
            '<!DOCTYPE html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n'
            f"<title>greenr data validation: {verdict}</title>\n<style>{_CSS}</style>\n</head>\n<body>\n"
            f'<h1 class="{"ok" if self.success else "fail"}">Data validation {verdict}</h1>\n'
            f'<p class="summary">{esc(self.failure_message())}</p>\n{body}\n</body>\n</html>\n'
        )


class ValidationFailed(RuntimeError):
    """The images did not meet the expectation suites; `report` says which and why."""

    def __init__(self, report: ValidationReport) -> None:
        super().__init__(report.failure_message())
        self.report = report


def raise_on_failure(report: ValidationReport) -> None:
    """Raise `ValidationFailed` carrying the report if any expectation failed."""
    if not report.success:
        raise ValidationFailed(report)


def records_frame(records: Sequence[ImageRecord]) -> pd.DataFrame:
    """One row per image, one column per ImageRecord field (columns exist even with no records)."""
    import pandas as pd

    columns = list(ImageRecord.model_fields)
    return pd.DataFrame([record.model_dump() for record in records], columns=columns)


def class_balance_frame(records: Sequence[ImageRecord]) -> pd.DataFrame:
    """One row per label present in `records`: label, count, share of all records.

    Only observed labels get a row: a missing class is reported by the suite's label-set
    expectation, and an unknown label shows up with its own count and share.
    """
    import pandas as pd

    counts = Counter(record.label for record in records)
    total = sum(counts.values())
    rows = [
        {"label": label, "count": count, "share": count / total} for label, count in sorted(counts.items())
    ]
    return pd.DataFrame(rows, columns=["label", "count", "share"])


def validate_images(records: Sequence[ImageRecord]) -> ValidationReport:
    """Run the `raw_images` and `class_balance` suites on `records` and report every expectation."""
    # (suite, data, column that identifies a row in examples: a path or a label)
    runs = [
        (RAW_IMAGES, records_frame(records), "path"),
        (CLASS_BALANCE, class_balance_frame(records), "label"),
    ]
    suites = [(load_suite(name), frame, id_column) for name, frame, id_column in runs]
    with _GE_LOCK:
        context = _ephemeral_context()
        source = context.data_sources.add_pandas(name="greenr")
        results = []
        for suite, frame, id_column in suites:
            asset = source.add_dataframe_asset(name=suite.name)
            batch = asset.add_batch_definition_whole_dataframe(name=suite.name).get_batch(
                batch_parameters={"dataframe": frame}
            )
            outcome = batch.validate(
                suite,
                result_format={
                    "result_format": "SUMMARY",
                    "partial_unexpected_count": MAX_EXAMPLES,
                    # Lets each unexpected value name its row ("0.9 for label grass").
                    "unexpected_index_column_names": [id_column],
                },
            )
            results.append(_suite_result(suite, outcome))
    return ValidationReport(success=all(result.success for result in results), suites=results)


def _ephemeral_context() -> EphemeralDataContext:
    import great_expectations as gx
    from great_expectations.data_context.types.base import (
        DataContextConfig,
        InMemoryStoreBackendDefaults,
        ProgressBarsConfig,
    )

    # GE 1.24 has no analytics client left (GX_ANALYTICS_ENABLED is only read by older 1.x), but
    # say so in the config in case a later version brings one back. The explicit store defaults
    # avoid the default ephemeral config's temporary data-docs directory; progress bars off keep
    # tqdm output out of pipeline logs.
    config = DataContextConfig(
        store_backend_defaults=InMemoryStoreBackendDefaults(init_temp_docs_sites=False),
        analytics_enabled=False,
        progress_bars=ProgressBarsConfig(globally=False, metric_calculations=False),
    )
    return gx.get_context(mode="ephemeral", project_config=config)


def _suite_result(suite: gx.ExpectationSuite, outcome: ExpectationSuiteValidationResult) -> SuiteResult:
    order = {
        _config_key(exp.expectation_type, exp.configuration.kwargs): i
        for i, exp in enumerate(suite.expectations)
    }
    outcomes = [_outcome(suite.name, result) for result in outcome.results]
    if len(outcomes) != len(suite.expectations):
        raise RuntimeError(
            f"GE returned {len(outcomes)} results for {len(suite.expectations)} expectations ({suite.name})"
        )
    # GE returns results in its own evaluation order; report them in the suite's order.
    outcomes.sort(
        key=lambda exp: order.get(_config_key(exp.expectation_type, exp.expectation_kwargs), len(order))
    )
    return SuiteResult(name=suite.name, success=bool(outcome.success), expectations=outcomes)


def _config_key(type_: str, kwargs: Mapping[str, Any]) -> str:
    clean = {key: value for key, value in kwargs.items() if key != "batch_id"}
    return type_ + json.dumps(_jsonable(clean), sort_keys=True)


def _outcome(suite_name: str, result: ExpectationValidationResult) -> ExpectationOutcome:
    config = result.expectation_config
    if config is None:  # typed Optional by GE, but batch.validate always sets it
        raise RuntimeError(f"GE returned a result without its expectation in suite {suite_name}")
    type_: str = config.type
    kwargs = {key: _jsonable(value) for key, value in config.kwargs.items() if key != "batch_id"}
    column_kwarg = kwargs.get("column")
    column = column_kwarg if isinstance(column_kwarg, str) else None
    details: Mapping[str, Any] = result.result or {}
    error = _exception_message(result.exception_info)
    examples = _examples(details, column)
    unexpected = details.get("unexpected_count")
    return ExpectationOutcome(
        suite=suite_name,
        expectation_type=type_,
        column=column,
        expectation_kwargs=kwargs,
        success=bool(result.success),
        expected=_expected(type_, kwargs),
        observed=f"error: {error}" if error is not None else _observed(details, examples),
        unexpected_count=int(unexpected) if isinstance(unexpected, numbers.Integral) else 0,
        unexpected_examples=examples,
        error=error,
    )


def _exception_message(info: Any) -> str | None:
    # A flat {"raised_exception": ...} dict for expectation errors, or one such dict per metric
    # (keyed by metric id) when a metric failed, e.g. a column that does not exist.
    if not isinstance(info, Mapping):
        return None
    entries = [info] if "raised_exception" in info else [v for v in info.values() if isinstance(v, Mapping)]
    messages = [str(e.get("exception_message")) for e in entries if e.get("raised_exception")]
    return "; ".join(dict.fromkeys(messages)) or None


def _examples(details: Mapping[str, Any], column: str | None) -> list[str]:
    # With unexpected_index_column_names, GE gives {column: value, id_column: id} per bad row.
    indexed = details.get("partial_unexpected_index_list")
    if isinstance(indexed, list) and indexed and all(isinstance(row, Mapping) for row in indexed):
        examples = []
        for row in indexed[:MAX_EXAMPLES]:
            value = _short(row.get(column)) if column in row else "?"
            owner = [f"{key} {_short(val)}" for key, val in row.items() if key != column]
            examples.append(f"{value} for {', '.join(owner)}" if owner else value)
        return examples
    values = details.get("partial_unexpected_list")
    if isinstance(values, list):
        return [_short(value) for value in values[:MAX_EXAMPLES]]
    return []


def _observed(details: Mapping[str, Any], examples: list[str]) -> str:
    if "partial_missing_list" in details:
        # Distinct-value set expectations: GE 1.24 always reports observed_value None for these.
        parts = []
        if details.get("partial_unexpected_list"):
            parts.append("unexpected " + _as_set(details["partial_unexpected_list"]))
        if details.get("partial_missing_list"):
            parts.append("missing " + _as_set(details["partial_missing_list"]))
        return " and ".join(parts) or "the expected values"
    if details.get("observed_value") is not None:
        return _short(details["observed_value"])
    if "element_count" in details:
        count = int(details.get("unexpected_count") or 0)
        rows = int(details["element_count"])
        if count == 0:
            return f"no unexpected value in {rows} rows"
        shown = ", ".join(examples[:_OBSERVED_EXAMPLES])
        if count <= _OBSERVED_EXAMPLES and len(examples) >= count:
            return shown
        return f"{count} of {rows} rows unexpected, e.g. {shown}"
    return "nothing reported"


def _expected(type_: str, kwargs: Mapping[str, JsonValue]) -> str:
    value_set = kwargs.get("value_set")
    if isinstance(value_set, list):
        text = ("exactly " if type_.endswith("_to_equal_set") else "in ") + _as_set(value_set)
    elif kwargs.get("min_value") is not None or kwargs.get("max_value") is not None:
        low, high = kwargs.get("min_value"), kwargs.get("max_value")
        if low is not None and high is not None:
            text = f"{_short(low)}..{_short(high)}"
        elif low is not None:
            text = f"{'>' if kwargs.get('strict_min') else '>='} {_short(low)}"
        else:
            text = f"{'<' if kwargs.get('strict_max') else '<='} {_short(high)}"
    elif type_.endswith("_to_be_unique"):
        text = "unique values"
    elif type_.endswith("_to_not_be_null"):
        text = "no null values"
    else:
        rest = {key: value for key, value in kwargs.items() if key not in ("column", "mostly")}
        text = _short(json.dumps(rest, sort_keys=True))
    mostly = kwargs.get("mostly")
    if isinstance(mostly, int | float) and mostly < 1:
        text += f" for {mostly:.0%} of rows"
    return text


def _as_set(values: Sequence[Any]) -> str:
    return "{" + ", ".join(_short(value) for value in values) + "}"


def _short(value: object) -> str:
    """A value as a short string: integral floats without '.0', floats to 4 significant digits."""
    if value is None or _is_missing(value):
        text = "null"
    elif isinstance(value, bool):
        text = str(value)
    elif isinstance(value, numbers.Integral):
        text = str(int(value))
    elif isinstance(value, numbers.Real):
        number = float(value)
        text = str(int(number)) if number.is_integer() else f"{number:.4g}"
    else:
        text = str(value)
    return text if len(text) <= _MAX_VALUE_CHARS else text[: _MAX_VALUE_CHARS - 1] + "…"


def _is_missing(value: object) -> bool:
    # NaN, pandas NA and NaT without importing pandas: NaN != NaN, and NA/NaT name themselves.
    if isinstance(value, float):
        return math.isnan(value)
    return type(value).__name__ in ("NAType", "NaTType")


def _jsonable(value: object) -> JsonValue:
    """Expectation kwargs as plain JSON values (numpy scalars and tuples included)."""
    if value is None or isinstance(value, bool | str):
        return value
    if isinstance(value, numbers.Integral):
        return int(value)
    if isinstance(value, numbers.Real):
        number = float(value)
        return number if math.isfinite(number) else str(number)
    if isinstance(value, Mapping):
        return {str(key): _jsonable(item) for key, item in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        return [_jsonable(item) for item in value]
    return str(value)


def _escape(value: object) -> str:
    return html.escape(str(value), quote=True)


def _html_row(exp: ExpectationOutcome) -> str:
    esc = _escape
    examples = "".join(f"<li>{esc(example)}</li>" for example in exp.unexpected_examples)
    kwargs = esc(json.dumps(exp.expectation_kwargs, sort_keys=True))
    observed = esc(exp.observed)
    cells = [
        "passed" if exp.success else "failed",
        f'<span title="{kwargs}">{esc(exp.expectation_type)}</span>',
        esc(exp.column or "(table)"),
        esc(exp.expected),
        f'<span class="error">{observed}</span>' if exp.error else observed,
        esc(exp.unexpected_count),
        f"<ul>{examples}</ul>" if examples else "",
    ]
    return (
        f'<tr class="{"ok" if exp.success else "fail"}">' + "".join(f"<td>{c}</td>" for c in cells) + "</tr>"
    )


_CSS = """
body { font-family: system-ui, sans-serif; margin: 2em; color: #1b1b1b; }
h1.ok, h2.ok { color: #1a7f37; } h1.fail, h2.fail { color: #b42318; }
table { border-collapse: collapse; width: 100%; margin-bottom: 2em; font-size: 0.9em; }
th, td { border: 1px solid #d0d7de; padding: 0.35em 0.6em; text-align: left; vertical-align: top; }
th { background: #f6f8fa; }
tr.ok { background: #e6f4ea; } tr.fail { background: #fde7e9; }
td ul { margin: 0; padding-left: 1.2em; } .error { font-family: monospace; }
.summary { max-width: 70em; }
"""
