"""Validation reports: what each expectation found, as a pydantic model, JSON, HTML or an exception.

These models are shared by every validation (images, dataset splits) and are used by code that
never validates (UI, API, steps reading stored reports), so this module imports neither Great
Expectations nor pandas; `runner` fills the models from GE results.
"""

from __future__ import annotations

import html
import json

from pydantic import BaseModel, ConfigDict, JsonValue, model_validator

# Unexpected values kept per expectation: enough to find the bad rows, small enough to read.
MAX_EXAMPLES = 10


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
