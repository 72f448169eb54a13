"""The promotion gate's work: challenger and champion scored on the same test split; `champion`
moves only when the rule says the challenger is better."""

from __future__ import annotations

import tempfile
from pathlib import Path

import numpy as np
import yaml

from greenr.export.onnx_runtime import OnnxClassifier
from greenr.registry import model_registry
from greenr.registry.promotion import GateDecision, GateRule, decide, judged_on_open_set
from greenr.registry.scoring import Scores, score_probabilities
from greenr.settings import Settings
from greenr.training.data import SplitArrays
from greenr.training.held_out import load_test_split
from greenr.training.open_set import OpenSetSummary
from greenr.training.registration import RegisteredModel
from greenr.training.trained_model import TrainedModel


def load_gate_rule(path: Path) -> GateRule:
    """The gate's rule from configs/promotion.yaml."""
    return GateRule.model_validate(yaml.safe_load(path.read_text()) or {})


def run_gate(
    settings: Settings,
    trained: TrainedModel,
    registered: RegisteredModel,
    test: SplitArrays,
    rule: GateRule,
    open_set: OpenSetSummary | None = None,
) -> GateDecision:
    """Decide, record the decision and both scores on the challenger's version, move `champion` if it won.

    `open_set`: the challenger's open-set scorer summary (None: it has none, not judged on it).
    """
    uri, name = registered.tracking_uri, registered.name
    images = test.images.astype(np.float32)
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        challenger = score_probabilities(trained.onnx_classifier(folder).predict(images), test.labels)
        champion_info = model_registry.get_alias(uri, name, model_registry.CHAMPION)
        champion: Scores | None = None
        if champion_info is not None and champion_info.version != registered.version:
            local = model_registry.download_version(uri, name, champion_info.version, folder / "champion")
            runner = OnnxClassifier(next(local.rglob("*.onnx")))
            # The same photos at the champion's own input size when it was trained at another one.
            size = runner.input_size or test.images.shape[1]
            if size != test.images.shape[1]:
                version = trained.summary.dataset_version
                images = load_test_split(settings, version, size).images.astype(np.float32)
            champion = score_probabilities(runner.predict(images), test.labels)
    refusals = None if open_set is None else open_set.test_refusals()
    decision = decide(challenger, champion, rule, refusals)
    tags = {
        "gate.decision": "promoted" if decision.promote else "rejected",
        "gate.reason": decision.reason,
        "gate.dataset_version": trained.summary.dataset_version,
        "gate.challenger_f1": f"{challenger.f1:.4f}",
        "gate.challenger_log_loss": f"{challenger.log_loss:.4f}",
        "gate.champion_version": champion_info.version if champion_info else "none",
        "gate.champion_f1": f"{champion.f1:.4f}" if champion else "none",
        "gate.champion_log_loss": f"{champion.log_loss:.4f}" if champion else "none",
        "gate.open_set_test_rejection": "none" if refusals is None else f"{refusals.rate:.4f}",
        "gate.open_set_test_refused": "none" if refusals is None else f"{refusals.refused}/{refusals.photos}",
        "gate.open_set_judged": "yes" if judged_on_open_set(refusals, rule) else "no",
        "gate.max_open_set_test_rejection": str(rule.max_open_set_test_rejection),
    }
    model_registry.tag_version(uri, name, registered.version, tags)
    if decision.promote:
        model_registry.move_champion(uri, name, registered.version, how="gate", reason=decision.reason)
    return decision
