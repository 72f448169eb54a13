"""Training: dataset -> split validation -> test split -> train + export -> evaluate -> register ->
open-set scorer -> model card + feature reference -> gate."""

from zenml import pipeline
from zenml.integrations.mlflow.flavors.mlflow_experiment_tracker_flavor import MLFlowExperimentTrackerSettings

from greenr.registry.promotion import GateRule
from greenr.training.config import TrainingConfig
from greenr.training.run_tracking import EXPERIMENT
from steps.training.evaluate_model import evaluate_model_step
from steps.training.feature_reference import feature_reference_step
from steps.training.load_test_split import load_test_split_step
from steps.training.model_card import model_card_step
from steps.training.open_set import open_set_step
from steps.training.promotion_gate import promotion_gate_step
from steps.training.register_model import register_model_step
from steps.training.resolve_dataset import resolve_dataset_step
from steps.training.train_model import train_model_step
from steps.training.validate_splits import validate_splits_step


@pipeline(enable_cache=False)
def training_pipeline(
    config: TrainingConfig,
    rule: GateRule,
    dataset_version: str | None = None,
    experiment_tracker: str | None = None,
) -> None:
    """Turn the current dataset version into a registered model; promote it if it wins.

    Run it with a ZenML Model (`training_pipeline.with_options(model=...)`, as run.py does): its
    artifacts then belong to a new version of that model.
    """
    train, evaluate, register = train_model_step, evaluate_model_step, register_model_step
    reference, open_set = feature_reference_step, open_set_step
    if experiment_tracker:
        # The active stack's MLflow tracker opens one run (named after this pipeline run) for
        # the five steps, in our experiment: training logs into it live, as it happens.
        settings = {"experiment_tracker": MLFlowExperimentTrackerSettings(experiment_name=EXPERIMENT)}
        train, evaluate, register, reference, open_set = (
            s.with_options(experiment_tracker=experiment_tracker, settings=settings)
            for s in (train, evaluate, register, reference, open_set)
        )
    version = resolve_dataset_step(dataset_version)
    validate_splits_step(version)
    test = load_test_split_step(version, config, after="validate_splits_step")
    trained = train(version, config, test)
    evaluation = evaluate(trained, test)
    registered = register(trained, evaluation)
    rejection = open_set(trained, registered, test, config)
    model_card_step(version, trained, evaluation, registered, rejection)
    # Before the gate: a version can only become champion with its card and the reference
    # monitoring needs.
    reference(trained, registered)
    promotion_gate_step(
        trained, registered, test, rule, rejection, after=["model_card_step", "feature_reference_step"]
    )
