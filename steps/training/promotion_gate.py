"""Step: promote the challenger if it beats the champion on the same test split."""

import logging

from zenml import step

from greenr.registry.promotion import GateDecision, GateRule
from greenr.registry.zenml_models import mark_production
from greenr.settings import get_settings
from greenr.training.data import SplitArrays
from greenr.training.expectation import compare_with_benchmark, load_expectation
from greenr.training.gate import run_gate
from greenr.training.open_set import OpenSetSummary
from greenr.training.registration import RegisteredModel
from greenr.training.trained_model import TrainedModel

log = logging.getLogger(__name__)


@step
def promotion_gate_step(
    trained: TrainedModel,
    registered: RegisteredModel,
    test: SplitArrays,
    rule: GateRule,
    open_set: OpenSetSummary | None = None,
) -> GateDecision:
    """Move `champion` only when the rule says the challenger is better; say where to look."""
    decision = run_gate(get_settings(), trained, registered, test, rule, open_set)
    if decision.promote:
        mark_production(registered.name, registered.version)
    verdict = "PROMOTED to champion" if decision.promote else "kept as challenger"
    log.info(
        "model %s version %s %s: %s\n  test split: accuracy %.4f, F1 %.4f, log loss %.4f (%d photos)"
        "\n  %s\n  MLflow run: %s",
        registered.name,
        registered.version,
        verdict,
        decision.reason,
        decision.challenger.accuracy,
        decision.challenger.f1,
        decision.challenger.log_loss,
        decision.challenger.n,
        compare_with_benchmark(decision.challenger.accuracy, load_expectation()),
        registered.run_url,
    )
    return decision
