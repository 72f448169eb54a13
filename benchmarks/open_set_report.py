"""The README's open-set tables, written from benchmarks/results/open_set.json (never by hand).

    .venv/bin/python -m benchmarks.open_set_report [--results benchmarks/results/open_set.json]

Prints, at the chosen quantile, one row per variant (mean over the splits, min-max in brackets):
what the choice looked at (development pictures, flowers and far-domain, flagged by
cross-validation; in-domain refusal of validation + matched out-of-fold train photos), then what
it did not (test refusals, held-out flags, AUROCs); then, per split, the rule's choice and the
configured variant (configs/training.yaml, which need not be the choice), and the scoring cost. A
unit test holds the README to this output.
"""

from __future__ import annotations

import argparse
import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from greenr.training.config import load_training_config

from .open_set_benchmark import DEFAULT_OUTPUT, HELD_OUT_SOURCES, configured_variant


def _cell(values: Sequence[float]) -> str:
    """Mean over the splits and min-max, in percent."""
    mean, low, high = (100.0 * float(f(values)) for f in (np.mean, np.min, np.max))
    return f"{mean:.1f} % ({low:.1f}-{high:.1f})"


def variant_rows(results: dict[str, Any], quantile: str) -> list[str]:
    """One markdown row per variant at `quantile`; the chosen variant in bold."""
    chosen = results["choice"]["variant"]
    rows = [
        "| variant | dev pictures flagged (CV) | in-domain refused (val + OOF train) | test refused "
        "| held-out flowers flagged | far flagged | synthetic flagged | **all held-out flagged** "
        "| AUROC held-out flowers / far / synthetic |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for name in results["runs"][0]["variants"]:
        per_split = [run["variants"][name] for run in results["runs"]]
        at = [v["quantiles"][quantile] for v in per_split]
        cells = [
            _cell([v["development_cross_validated"]["flagged"][quantile] for v in per_split]),
            _cell([a["in_domain_refusal_rate"] for a in at]),
            _cell([a["test_refusal_rate"] for a in at]),
            *(_cell([a["flagged"][s] for a in at]) for s in HELD_OUT_SOURCES),
            _cell([a["held_out_flagged"] for a in at]),
            " / ".join(f"{np.mean([v['auroc'][s] for v in per_split]):.3f}" for s in HELD_OUT_SOURCES),
        ]
        label = f"**{name}**" if name == chosen else name
        rows.append(f"| {label} | " + " | ".join(cells) + " |")
    return rows


def per_split(results: dict[str, Any], name: str, quantile: str) -> list[str]:
    """Variant `name` at `quantile` on each split, then the mean over the splits."""
    rows = [
        "| split | test refused | held-out flagged | flowers / far / synthetic flagged |",
        "|---|---|---|---|",
    ]
    measured = [
        (
            "ingestion" if run["split_seed"] is None else f"seed {run['split_seed']}",
            run["variants"][name]["quantiles"][quantile],
        )
        for run in results["runs"]
    ]
    for split, at in measured:
        flags = " / ".join(f"{100 * at['flagged'][s]:.1f} %" for s in HELD_OUT_SOURCES)
        refused, flagged = 100 * at["test_refusal_rate"], 100 * at["held_out_flagged"]
        rows.append(f"| {split} | {refused:.1f} % | {flagged:.1f} % | {flags} |")
    ats = [at for _, at in measured]
    flags = " / ".join(f"{100 * np.mean([at['flagged'][s] for at in ats]):.1f} %" for s in HELD_OUT_SOURCES)
    refused = 100 * np.mean([at["test_refusal_rate"] for at in ats])
    flagged = 100 * np.mean([at["held_out_flagged"] for at in ats])
    rows.append(f"| **mean** | **{refused:.1f} %** | **{flagged:.1f} %** | {flags} |")
    return rows


def chosen_per_split(results: dict[str, Any]) -> list[str]:
    """The rule's choice at its quantile on each split."""
    return per_split(results, results["choice"]["variant"], str(results["choice"]["quantile"]))


def configured_line(name: str, quantile: float) -> str:
    """Which measured variant configs/training.yaml's open_set section is."""
    return f"Configured (`configs/training.yaml`): **{name}** at quantile {quantile:g}."


def configured_per_split(results: dict[str, Any]) -> list[str]:
    """configs/training.yaml's open-set configuration on each split, as the results measured it."""
    variant, quantile = configured_variant(load_training_config().open_set)
    return [configured_line(variant.name, quantile), "", *per_split(results, variant.name, str(quantile))]


def cost_line(results: dict[str, Any]) -> str:
    """The scoring cost per photo of the configured-before variant and the choice."""
    cost = {k: v for k, v in results["serving_cost_ms_per_photo"].items() if isinstance(v, dict)}
    return "Scoring one photo alone (median of interleaved passes over the test photos): " + ", ".join(
        f"{name} {figures['median_ms']:.3f} ms (passes {min(figures['passes_ms']):.3f}-"
        f"{max(figures['passes_ms']):.3f})"
        for name, figures in cost.items()
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--results", type=Path, default=DEFAULT_OUTPUT)
    args = parser.parse_args(argv)
    results = json.loads(args.results.read_text())
    quantile = str(results["choice"]["quantile"])
    print(f"Commit {results['git_commit'][:7]}, {results['created'][:10]}")
    print(f"choice: {json.dumps(results['choice'])}\n")
    print("\n".join(variant_rows(results, quantile)))
    print()
    print("\n".join(chosen_per_split(results)))
    print()
    print("\n".join(configured_per_split(results)))
    print()
    print(cost_line(results))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
