"""The README's open-set tables come from the results file: means, ranges, the choice in bold."""

from __future__ import annotations

import json
from typing import Any

from benchmarks.open_set_benchmark import DEFAULT_OUTPUT
from benchmarks.open_set_report import (
    chosen_per_split,
    configured_per_split,
    cost_line,
    variant_rows,
)
from greenr.settings import REPO_ROOT


def _variant(flag: float, refused: float) -> dict[str, Any]:
    sources = {"neither_held_out": flag, "far_held_out": 1.0, "synthetic": 0.5}
    return {
        "auroc": {"neither_held_out": 0.9, "far_held_out": 1.0, "synthetic": 0.8},
        "development_cross_validated": {"flagged": {"0.98": flag}},
        "quantiles": {
            "0.98": {
                "in_domain_refusal_rate": 0.02,
                "test_refusal_rate": refused,
                "flagged": sources,
                "held_out_flagged": flag,
            }
        },
    }


RESULTS: dict[str, Any] = {
    "choice": {"variant": "b", "quantile": 0.98},
    "runs": [
        {"split_seed": None, "variants": {"a": _variant(0.5, 0.0), "b": _variant(0.8, 0.0)}},
        {"split_seed": 1, "variants": {"a": _variant(0.7, 0.0), "b": _variant(1.0, 1 / 60)}},
    ],
    "serving_cost_ms_per_photo": {"split": "ingestion", "b": {"median_ms": 0.25, "passes_ms": [0.2, 0.3]}},
}


def test_each_variant_has_its_mean_and_range_and_the_choice_is_bold() -> None:
    rows = variant_rows(RESULTS, "0.98")
    assert len(rows) == 4
    assert rows[2].startswith("| a | 60.0 % (50.0-70.0) | 2.0 % (2.0-2.0) | 0.0 % (0.0-0.0) |")
    assert rows[3].startswith("| **b** | 90.0 % (80.0-100.0) |")
    assert "| 0.8 % (0.0-1.7) |" in rows[3]
    assert rows[3].endswith("| 0.900 / 1.000 / 0.800 |")


def test_the_choice_per_split_and_the_cost() -> None:
    rows = chosen_per_split(RESULTS)
    assert rows[2] == "| ingestion | 0.0 % | 80.0 % | 80.0 % / 100.0 % / 50.0 % |"
    assert rows[3].startswith("| seed 1 | 1.7 % | 100.0 % |")
    assert rows[4] == "| **mean** | **0.8 %** | **90.0 %** | 90.0 % / 100.0 % / 50.0 % |"
    assert "b 0.250 ms (passes 0.200-0.300)" in cost_line(RESULTS)


def test_the_readme_holds_the_reports_tables_of_the_committed_results() -> None:
    """The README's open-set tables and its "Configured" line are this report's output for the
    committed results and configs/training.yaml, never edited by hand."""
    results = json.loads(DEFAULT_OUTPUT.read_text())
    readme = (REPO_ROOT / "README.md").read_text()
    quantile = str(results["choice"]["quantile"])
    for block in (variant_rows(results, quantile), chosen_per_split(results), configured_per_split(results)):
        assert "\n".join(block) in readme, (
            "README's open-set tables differ from benchmarks/results/open_set.json or "
            "configs/training.yaml: paste python -m benchmarks.open_set_report's output"
        )
    assert cost_line(results) in readme
