"""The project's entry point.

    python run.py --pipeline ingestion [--source DIR] [--config configs/ingestion.yaml] [--seed N]

Configuration comes from the environment (see greenr/settings.py and the README); run
parameters from configs/*.yaml, overridden by flags.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from greenr.errors import USER_ERRORS
from greenr.settings import SettingsError, get_settings
from greenr.zenml_environment import prepare_zenml

PIPELINES = ("ingestion",)


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--pipeline", choices=PIPELINES, required=True, help="which pipeline to run")
    parser.add_argument("--source", type=Path, help="folder with one sub-folder per class (ingestion)")
    parser.add_argument("--config", type=Path, help="YAML run parameters (default: configs/<pipeline>.yaml)")
    parser.add_argument("--seed", type=int, help="override the config's seed")
    return parser.parse_args(argv)


def run_ingestion(args: argparse.Namespace) -> None:
    from greenr.ingestion.config import DEFAULT_CONFIG, load_ingestion_config
    from greenr.ingestion.preflight import check_ingestion_inputs
    from pipelines.ingestion import ingestion_pipeline

    settings = get_settings()
    config = load_ingestion_config(args.config or DEFAULT_CONFIG, {"seed": args.seed})
    source = (args.source or settings.source_dir).resolve()
    # Fail in a second with a clear message rather than after ZenML has started a run.
    check_ingestion_inputs(settings, source)
    _run_reporting_step_errors(ingestion_pipeline, source=str(source), config=config)


def _run_reporting_step_errors(pipeline: Any, **parameters: Any) -> None:
    """Run a pipeline; a failed step becomes a PipelineFailed carrying the step's own message."""
    from greenr.pipeline_failures import failed_step_messages

    try:
        pipeline(**parameters)
    except RuntimeError as error:
        if "failure in step" not in str(error):
            raise
        from zenml.client import Client

        run = Client().get_pipeline(pipeline.name).last_run
        messages = failed_step_messages(run.steps)
        raise PipelineFailed("; ".join(messages) or str(error)) from None


class PipelineFailed(RuntimeError):
    """A pipeline step failed; the message is the step's own."""


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)

    try:
        prepare_zenml(get_settings())
        run_ingestion(args)
    except SettingsError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    except USER_ERRORS as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    except PipelineFailed as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
