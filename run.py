"""The project's entry point.

    python run.py --pipeline ingestion [--source DIR|s3://bucket/prefix/|URLS.csv|feedback]
                  [--config configs/ingestion.yaml] [--seed N]
    python run.py --pipeline training [--dataset-version ID] [--config configs/training.yaml]
                  [--seed N] [--set fine_tune.epochs=10 ...]
    python run.py --pipeline deployment
    python run.py --pipeline monitoring [--window 100] [--since ISO-TIME] [--force]
                  [--config configs/monitoring.yaml]
    python run.py --pipeline retraining [--force] [--set fine_tune.epochs=10 ...]

`retraining` is the loop's chain: when the latest monitoring run decided to retrain (or with
--force) it runs ingestion of the feedback store (--source feedback), training and deployment, one
pipeline run each, and prints the dataset version, the gate's decision and the served version.

Configuration comes from the environment (see greenr/settings.py and the README); run
parameters from configs/*.yaml, overridden by flags. A flag the chosen pipeline does not take is
an error (exit status 2), never silently ignored. The monitoring pipeline prints a short summary
and, as its last line, the JSON decision `{"retrain": bool, "reasons": [...]}` the Airflow DAG reads.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from greenr.config_files import ConfigFileError
from greenr.errors import USER_ERRORS
from greenr.json_logging import add_json_log_file
from greenr.observability.push import push_pipeline_run
from greenr.pipeline_failures import PipelineFailed, run_reporting_failures
from greenr.registry.tracking_server import check_tracking_server
from greenr.settings import REPO_ROOT, Settings, SettingsError, get_settings
from greenr.zenml_environment import prepare_zenml

PIPELINES = ("ingestion", "training", "deployment", "monitoring", "retraining")
# The flags each pipeline takes, in the order --help lists them.
FLAGS_OF: dict[str, tuple[str, ...]] = {
    "ingestion": ("--source", "--config", "--seed"),
    "training": ("--config", "--seed", "--dataset-version", "--set"),
    "deployment": (),
    "monitoring": ("--config", "--window", "--since", "--force"),
    "retraining": ("--force", "--set"),
}


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--pipeline", choices=PIPELINES, required=True, help="which pipeline to run")
    parser.add_argument(
        "--source",
        help="folder with one sub-folder per class, s3://bucket/prefix/ laid out the same, "
        "a .csv of 'url,label' lines, or 'feedback' (the photos users labelled; train and "
        "validation splits only) (ingestion)",
    )
    parser.add_argument("--config", type=Path, help="YAML run parameters (default: configs/<pipeline>.yaml)")
    parser.add_argument("--seed", type=int, help="override the config's seed")
    parser.add_argument("--dataset-version", help="dataset version id to train on (default: the latest)")
    parser.add_argument(
        "--set",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="override a config value (training, retraining)",
    )
    parser.add_argument(
        "--window", type=int, help="predictions per window (monitoring; default: the config's)"
    )
    parser.add_argument(
        "--since",
        help="ISO 8601 time: monitor the predictions after it (monitoring; default: since the last run)",
    )
    parser.add_argument(
        "--force",
        action="store_true",
        default=None,
        help="retrain whatever the policy says (monitoring: the decision it records; retraining: "
        "run the chain without the latest monitoring run's decision to retrain)",
    )
    args = parser.parse_args(argv)
    problem = inapplicable_flags_message(args)
    if problem is not None:
        parser.exit(2, f"{parser.prog}: error: {problem}\n")
    return args


def given_flags(args: argparse.Namespace) -> list[str]:
    """The optional flags the command line set (whatever their value, `--seed 0` included)."""
    values = {
        "--source": args.source,
        "--config": args.config,
        "--seed": args.seed,
        "--dataset-version": args.dataset_version,
        "--set": args.set or None,
        "--window": args.window,
        "--since": args.since,
        "--force": args.force,
    }
    return [flag for flag, value in values.items() if value is not None]


def inapplicable_flags_message(args: argparse.Namespace) -> str | None:
    """One line naming the flags the chosen pipeline does not take, None when all apply."""
    takes = FLAGS_OF[args.pipeline]
    ignored = [flag for flag in given_flags(args) if flag not in takes]
    if not ignored:
        return None
    verb = "does" if len(ignored) == 1 else "do"
    accepted = f"it takes {', '.join(takes)}" if takes else "it takes no other flag"
    return f"{', '.join(ignored)} {verb} not apply to the {args.pipeline} pipeline ({accepted})"


def run_ingestion(args: argparse.Namespace) -> None:
    from greenr.ingestion.config import DEFAULT_CONFIG, load_ingestion_config

    settings = get_settings()
    # Parameters first: a mistyped one is an error in a second, before ZenML is even imported.
    config = load_ingestion_config(args.config or DEFAULT_CONFIG, {"seed": args.seed})

    from greenr.ingestion.preflight import check_ingestion_inputs
    from pipelines.ingestion import ingestion_pipeline

    source = resolve_source(args.source, settings.source_dir)
    # Fail in a second with a clear message rather than after ZenML has started a run.
    check_ingestion_inputs(settings, source)
    run_reporting_failures(
        ingestion_pipeline.with_options(settings=_cluster_settings(settings)),
        source=str(source),
        config=config,
    )


def resolve_source(given: str | None, default: Path) -> str:
    """The --source value as the pipeline takes it: local paths made absolute, URIs and `feedback` kept."""
    from greenr.ingestion.sources import source_kind

    if given is not None and (given.startswith("s3://") or source_kind(given) == "feedback"):
        return given
    return str(Path(given).resolve() if given is not None else default.resolve())


def run_training(args: argparse.Namespace) -> None:
    from greenr.training.config import DEFAULT_CONFIG, load_training_config, parse_overrides

    settings = get_settings()
    # Parameters first: a mistyped one is an error in a second, before ZenML is even imported.
    overrides = parse_overrides(args.set)
    if args.seed is not None:
        overrides["seed"] = args.seed
    config = load_training_config(args.config or DEFAULT_CONFIG, overrides)

    check_tracking_server(settings.tracking_uri)

    from greenr.registry.tracking import artifact_location, ensure_experiment
    from greenr.registry.zenml_models import zenml_model
    from greenr.training.gate import load_gate_rule
    from greenr.training.run_tracking import EXPERIMENT
    from pipelines.training import training_pipeline

    rule = load_gate_rule(REPO_ROOT / "configs" / "promotion.yaml")
    tracker = _active_experiment_tracker()
    # Created here, not by MLflow on first use, so a local backend keeps artifacts in GREENR_HOME.
    ensure_experiment(settings.tracking_uri, EXPERIMENT, artifact_location(settings))
    run_reporting_failures(
        training_pipeline.with_options(
            model=zenml_model(settings.model_name), settings=_cluster_settings(settings)
        ),
        config=config,
        rule=rule,
        dataset_version=args.dataset_version,
        experiment_tracker=tracker,
    )


def run_deployment(args: argparse.Namespace) -> None:
    settings = get_settings()
    check_tracking_server(settings.tracking_uri)

    from greenr.deployment.tasks import champion_model_version
    from greenr.registry.zenml_models import zenml_model
    from pipelines.deployment import deployment_pipeline

    # The champion's ZenML Model version, when the training pipeline made it: the deployment run
    # then belongs to that version and takes its `trained_model` artifact as input.
    version = champion_model_version(settings)
    pipeline = deployment_pipeline.with_options(settings=_cluster_settings(settings))
    if version is not None:
        pipeline = pipeline.with_options(model=zenml_model(settings.model_name, version))
    run_reporting_failures(pipeline, from_model_artifact=version is not None)


def run_monitoring(args: argparse.Namespace) -> str:
    """Run the monitoring pipeline; its summary and decision line, to print last."""
    from greenr.monitoring.config import DEFAULT_CONFIG
    from greenr.monitoring.run_options import parse_since, resolve_config

    settings = get_settings()
    # Parameters first: a mistyped one is an error in a second, before ZenML is even imported.
    config = resolve_config(args.config or DEFAULT_CONFIG, args.window)
    since = parse_since(args.since) if args.since is not None else None

    check_tracking_server(settings.tracking_uri)  # the retrain policy reads the registry

    from greenr.monitoring.decision import decision_line
    from greenr.monitoring.report import DriftReport
    from greenr.monitoring.summary import render_summary
    from pipelines.monitoring import monitoring_pipeline

    run = run_reporting_failures(
        monitoring_pipeline.with_options(settings=_cluster_settings(settings)),
        config=config,
        since=since,
        force=bool(args.force),
    )
    report: DriftReport = run.steps["write_report_step"].outputs["drift_report"][0].load()
    collected = run.steps["collect_predictions_step"].output.load()
    report_key: str = run.steps["record_run_step"].output.load()
    summary = render_summary(report, collected, object_store_uri(settings, report_key))
    return f"{summary}\n{decision_line(report.decision)}"


def object_store_uri(settings: Settings, key: str) -> str:
    from greenr.resources import object_store

    return object_store(settings).uri(key)


def run_retraining(args: argparse.Namespace) -> str:
    """Ingest the feedback store, train, deploy; what happened, to print last."""
    from greenr.catalog.repository import latest_dataset_version
    from greenr.ingestion.sources import FEEDBACK_SOURCE
    from greenr.monitoring.retraining import RetrainingOutcome, latest_monitoring_decision, retraining_reason
    from greenr.registry import model_registry
    from greenr.resources import catalog_engine

    settings = get_settings()
    check_tracking_server(settings.tracking_uri)  # before ingesting anything
    engine = catalog_engine(settings)
    reason = retraining_reason(latest_monitoring_decision(engine), bool(args.force))
    uri, name = settings.tracking_uri, settings.model_name
    dataset_before = latest_dataset_version(engine)
    model_before = model_registry.latest_version(uri, name)
    run_ingestion(argparse.Namespace(source=FEEDBACK_SOURCE, config=None, seed=None))
    dataset_after = latest_dataset_version(engine)
    run_training(
        argparse.Namespace(
            config=None,
            seed=None,
            dataset_version=dataset_after.id if dataset_after else None,
            set=args.set,
        )
    )
    challenger = model_registry.latest_version(uri, name)
    if challenger is not None and model_before is not None and challenger.version == model_before.version:
        challenger = None
    if challenger is not None:
        # The retrain policy's cooldown starts here (greenr.monitoring.run_record).
        model_registry.tag_version(uri, name, challenger.version, {model_registry.RETRAINING_TAG: reason})
    run_deployment(args)
    served = model_registry.get_alias(uri, name, model_registry.CHAMPION)
    outcome = RetrainingOutcome(
        reason=reason,
        dataset_before=dataset_before.id if dataset_before else None,
        dataset_after=dataset_after.id if dataset_after else None,
        challenger_version=challenger.version if challenger else None,
        gate_decision=challenger.tags.get("gate.decision") if challenger else None,
        gate_reason=challenger.tags.get("gate.reason") if challenger else None,
        served_version=served.version if served else None,
    )
    return "\n".join(outcome.lines())


def _cluster_settings(settings: Settings) -> dict[str, Any]:
    """The image and pods of a run on the cluster stack; none for a local orchestrator, which
    ignores them anyway: given them, ZenML says so in a usage warning that inspects the whole call
    stack first (about a second of every local run)."""
    from zenml.client import Client
    from zenml.enums import StackComponentType

    from greenr.deployment.cluster_run_settings import cluster_run_settings

    orchestrators = Client().active_stack_model.components.get(StackComponentType.ORCHESTRATOR, [])
    if all(orchestrator.flavor_name == "local" for orchestrator in orchestrators):
        return {}
    return dict(cluster_run_settings(settings.container_registry))


def _active_experiment_tracker() -> str | None:
    """Name of the active stack's experiment tracker, if it has one."""
    from zenml.client import Client
    from zenml.enums import StackComponentType

    components = Client().active_stack_model.components.get(StackComponentType.EXPERIMENT_TRACKER)
    return components[0].name if components else None


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    settings: Settings | None = None
    started = time.monotonic()
    succeeded = False
    failure: tuple[int, str] | None = None  # exit status and the one line that says why
    # What the pipeline prints last (monitoring: its decision line; retraining: its JSON outcome).
    output: str | None = None
    try:
        settings = get_settings()
        if settings.log_dir is not None:
            add_json_log_file(
                "pipelines", settings.log_dir, "INFO", settings.log_max_bytes, settings.log_backups
            )
        prepare_zenml(settings)
        runners: dict[str, Callable[[argparse.Namespace], str | None]] = {
            "ingestion": run_ingestion,
            "training": run_training,
            "deployment": run_deployment,
            "monitoring": run_monitoring,
            "retraining": run_retraining,
        }
        output = runners[args.pipeline](args)
        succeeded = True
    except (SettingsError, ConfigFileError) as error:
        failure = (2, f"error: {error}")
    except USER_ERRORS as error:
        failure = (1, f"error: {error}")
    except PipelineFailed as error:
        failure = (1, f"error: {error}")
    finally:
        # Every run that got its settings is recorded, failures included (alerts and dashboards
        # read the last success, duration and failures); pushing never changes the exit status,
        # and happens before the error line so that the error stays the last line printed.
        if settings is not None:
            push_pipeline_run(
                settings.pushgateway_url,
                args.pipeline,
                time.monotonic() - started,
                succeeded,
                settings.push_timeout_seconds,
            )
    if failure is not None:
        print(failure[1], file=sys.stderr)
        return failure[0]
    if output is not None:
        # After the push's warnings: the Airflow DAG reads the last line of stdout.
        print(output, flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
