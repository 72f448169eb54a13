"""Run expectation suites from `greenr/dataset/suites/` on pandas frames with Great Expectations 1.x.

ZenML's GE integration requires GE < 1.0, so this module calls the GE 1.x API directly with an
ephemeral (in-memory) context, and reduces GE's results to the `report` models. GE and pandas are
imported inside functions only: importing GE costs about two seconds, and the modules that build
frames (image and split validation) are imported by steps long before they validate.
"""

from __future__ import annotations

import json
import math
import numbers
import threading
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pydantic import JsonValue

from greenr.dataset.rules import SUITES_DIR
from greenr.validation.report import MAX_EXAMPLES, ExpectationOutcome, SuiteResult, ValidationReport
from greenr.validation.suites import load_suite

if TYPE_CHECKING:
    import great_expectations as gx
    import pandas as pd
    from great_expectations.core.expectation_validation_result import (
        ExpectationSuiteValidationResult,
        ExpectationValidationResult,
    )
    from great_expectations.data_context.data_context.ephemeral_data_context import EphemeralDataContext

_MAX_VALUE_CHARS = 80
_OBSERVED_EXAMPLES = 3

# GE 1.x keeps "the current project" in a module-level singleton that get_context() replaces, and
# suites not added to a context resolve through it; serialise our use so threads don't mix contexts.
_GE_LOCK = threading.Lock()


@dataclass(frozen=True)
class SuiteRun:
    """One suite to run on one table.

    `id_columns` name each row in the report's examples ("0.9 for label grass"): without them an
    unexpected value would not say which image, class or split it belongs to.
    """

    suite: str
    frame: pd.DataFrame
    id_columns: tuple[str, ...]
    # Values of the suite's `{"$PARAMETER": name}` placeholders, known only at run time (e.g. the
    # model versions that exist).
    parameters: Mapping[str, Any] | None = None


def run_suites(runs: Sequence[SuiteRun], *, suites_dir: Path = SUITES_DIR) -> ValidationReport:
    """Run each suite on its frame and report every expectation, suites in the order given."""
    # Load (and so check) every suite file before taking the lock: a broken file fails fast.
    suites = [(load_suite(run.suite, suites_dir=suites_dir), run) for run in runs]
    with _GE_LOCK:
        context = _ephemeral_context()
        source = context.data_sources.add_pandas(name="greenr")
        results = []
        for suite, run in suites:
            asset = source.add_dataframe_asset(name=suite.name)
            batch = asset.add_batch_definition_whole_dataframe(name=suite.name).get_batch(
                batch_parameters={"dataframe": run.frame}
            )
            outcome = batch.validate(
                suite,
                result_format={
                    "result_format": "SUMMARY",
                    "partial_unexpected_count": MAX_EXAMPLES,
                    "unexpected_index_column_names": list(run.id_columns),
                },
                expectation_parameters=dict(run.parameters) if run.parameters is not None else None,
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
        if type_.endswith("_to_equal_set"):
            relation = "exactly "
        elif "_not_be_in_set" in type_:
            relation = "not in "
        else:
            relation = "in "
        text = relation + _as_set(value_set)
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
        skip = ("column", "mostly", "row_condition", "condition_parser")
        rest = {key: value for key, value in kwargs.items() if key not in skip}
        text = _short(json.dumps(rest, sort_keys=True))
    mostly = kwargs.get("mostly")
    if isinstance(mostly, int | float) and mostly < 1:
        text += f" for {mostly:.0%} of rows"
    condition = kwargs.get("row_condition")
    if condition:
        # Several expectations may share a type and column and differ only by the rows they
        # apply to (one share band per split); without the condition their outcomes read alike.
        text += f" where {_condition_text(condition)}"
    return text


def _condition_text(condition: JsonValue) -> str:
    """A GE 1.x row condition in words: `split == train` rather than its JSON form."""
    if isinstance(condition, str):  # legacy string conditions ("split == 'train'")
        return condition
    if isinstance(condition, Mapping):
        kind = condition.get("type")
        column = condition.get("column")
        name = column.get("name") if isinstance(column, Mapping) else column
        if kind == "comparison":
            return f"{name} {condition.get('operator')} {_short(condition.get('parameter'))}"
        if kind == "nullity":
            return f"{name} is {'null' if condition.get('is_null') else 'not null'}"
        if kind == "pass_through":
            return str(condition.get("pass_through_filter"))
    return _short(json.dumps(condition, sort_keys=True))


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
